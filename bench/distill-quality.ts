/**
 * The documented distillation run on MNIST (Hinton et al. 2015, scaled to a CPU adapter):
 *   npm run quality:distill     (TEACHER_EPOCHS, STUDENT_EPOCHS to change the epochs)
 * A teacher 784-1200-1200-10 is trained; then a student 784-30-10 is trained alone and, from the
 * same initialization, seed and epochs, distilled (alpha 0.7, T 4: Hinton et al. found T of
 * 2.5-4 best for about 30 units). Test errors (of 10,000) are printed for all three.
 */
import { loadMnist } from '../src/data/mnist.js';
import { MLP } from '../src/nn/mlp.js';
import { evaluate, fit } from '../src/nn/train.js';
import { benchDevice } from './common.js';

const teacherEpochs = Number(process.env.TEACHER_EPOCHS ?? 4);
const studentEpochs = Number(process.env.STUDENT_EPOCHS ?? 10);
const device = await benchDevice();
const train = loadMnist('train');
const test = loadMnist('test');
const errors = async (m: MLP) => Math.round((1 - (await evaluate(m, test)).accuracy) * test.rows);
const sgd = { type: 'sgd', momentum: 0.9, nesterov: true } as const;

let t0 = performance.now();
const teacher = MLP.create(device, [784, 1200, 1200, 10], { seed: 1 });
await fit(teacher, train, { epochs: teacherEpochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: teacherEpochs }, seed: 1 });
console.log(`teacher 784-1200-1200-10, ${teacherEpochs} epochs: ${await errors(teacher)} test errors (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

for (const hidden of [30, 100]) {
  const settings = { epochs: studentEpochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: studentEpochs }, seed: 2 } as const;
  t0 = performance.now();
  const alone = MLP.create(device, [784, hidden, 10], { seed: 3 });
  await fit(alone, train, settings);
  const distilled = MLP.create(device, [784, hidden, 10], { seed: 3 });
  await fit(distilled, train, { ...settings, distillation: { teacher, alpha: 0.7, temperature: 4 } });
  console.log(`student 784-${hidden}-10, ${studentEpochs} epochs: alone ${await errors(alone)} test errors, distilled ${await errors(distilled)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  alone.dispose();
  distilled.dispose();
}
teacher.dispose();
device.destroy();
