/**
 * The documented distillation run on MNIST (Hinton et al. 2015, scaled to a CPU adapter):
 *   npm run quality:distill     (TEACHER_EPOCHS, STUDENT_EPOCHS, ALPHA, TEMPERATURE, HIDDEN=30,100)
 * The trained teacher is kept in node_modules/.cache/shrinkray-teacher.safetensors and reused.
 * A teacher 784-1200-1200-10 is trained; then a student 784-30-10 is trained alone and, from the
 * same initialization, seed and epochs, distilled (default alpha 0.7, T 4: Hinton et al. found
 * T of 2.5-4 best for about 30 units). Test errors (of 10,000) are printed for all three.
 * The run that meets the criterion (bench/RESULTS.md; about an hour on a CPU adapter,
 * two minutes on a GPU): TEACHER_EPOCHS=30 STUDENT_EPOCHS=20 ALPHA=0.5 TEMPERATURE=2.5 HIDDEN=30.
 */
import { loadMnist } from '../src/data/mnist.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { benchDevice } from './common.js';
import { existsSync, mkdirSync } from 'node:fs';
import { loadModel, saveModel } from '../src/io/files.js';

const teacherEpochs = Number(process.env.TEACHER_EPOCHS ?? 4);
const studentEpochs = Number(process.env.STUDENT_EPOCHS ?? 10);
const alpha = Number(process.env.ALPHA ?? 0.7);
const temperature = Number(process.env.TEMPERATURE ?? 4);
const hiddenSizes = (process.env.HIDDEN ?? '30,100').split(',').map(Number);
const teacherFile = `node_modules/.cache/shrinkray-teacher-${teacherEpochs}.safetensors`;
const device = await benchDevice();
const train = loadMnist('train');
const test = loadMnist('test');
const errors = async (m: MLP) => Math.round((1 - (await evaluate(m, test)).accuracy) * test.rows);
const sgd = { type: 'sgd', momentum: 0.9, nesterov: true } as const;

let t0 = performance.now();
let teacher: MLP;
if (existsSync(teacherFile)) teacher = await loadModel(device, teacherFile);
else {
  teacher = MLP.create(device, [784, 1200, 1200, 10], { seed: 1 });
  await fit(teacher, train, { epochs: teacherEpochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: teacherEpochs }, seed: 1 });
  mkdirSync('node_modules/.cache', { recursive: true });
  await saveModel(teacher, teacherFile);
}
console.log(`teacher 784-1200-1200-10, ${teacherEpochs} epochs: ${await errors(teacher)} test errors (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`distillation: alpha ${alpha}, T ${temperature}`);

for (const hidden of hiddenSizes) {
  const settings = { epochs: studentEpochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: studentEpochs }, seed: 2 } as const;
  t0 = performance.now();
  const alone = MLP.create(device, [784, hidden, 10], { seed: 3 });
  await fit(alone, train, settings);
  const distilled = MLP.create(device, [784, hidden, 10], { seed: 3 });
  await fit(distilled, train, { ...settings, distillation: { teacher, alpha, temperature } });
  console.log(`student 784-${hidden}-10, ${studentEpochs} epochs: alone ${await errors(alone)} test errors, distilled ${await errors(distilled)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  alone.dispose();
  distilled.dispose();
}
teacher.dispose();
device.destroy();
