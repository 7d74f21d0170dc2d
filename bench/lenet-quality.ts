/**
 * LeNet-5 on MNIST (#19's quality run): Caffe's variant that Han et al. prune (conv 20@5x5,
 * max-pool 2, conv 50@5x5, max-pool 2, dense 500, dense 10; 431,080 parameters), trained on the
 * 60,000 training images and scored on the 10,000 test images after every epoch; then pruned
 * gradually (global magnitude) to KEEP of its weights with fine-tuning, and the pruned model
 * quantized to int8 per filter.
 *   npm run quality:lenet      (EPOCHS, PRUNE_EPOCHS, KEEP to change them)
 * Targets: <= 0.9 % test error dense (Han: 0.80 %), <= 8 % of the weights kept at <= 0.9 % (Han: 0.77 %).
 */
import { pruneReport } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { gradualPruning } from '../src/compress/schedule.js';
import { loadMnist } from '../src/data/mnist.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { evaluate } from '../src/nn/evaluate.js';
import { Sequential } from '../src/nn/sequential.js';
import { fit } from '../src/nn/train.js';
import { benchDevice } from './common.js';
import { parseLayers } from '../src/nn/architecture.js';

const epochs = Number(process.env.EPOCHS ?? 12);
const pruneEpochs = Number(process.env.PRUNE_EPOCHS ?? 4);
const keep = Number(process.env.KEEP ?? 0.08);
const device = await benchDevice();
const train = new GpuDataset(device, loadMnist('train'));
const test = new GpuDataset(device, loadMnist('test'));
const model = Sequential.create(device, {
  input: [28, 28, 1],
  layers: parseLayers('lenet5,10'),
  seed: 1,
});
const settings = {
  epochs,
  batchSize: 64,
  learningRate: 0.05,
  optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { type: 'cosine', total: epochs },
  seed: 1,
} as const;
console.log(`${model.describe()}, ${model.parameterCount().toLocaleString('en-US')} parameters; settings: ${JSON.stringify(settings)}`);
const pct = (accuracy: number) => `${((1 - accuracy) * 100).toFixed(2)} %`;
const log = (e: { epoch: number; loss: number; valAccuracy?: number; seconds: number }) =>
  console.log(`epoch ${String(e.epoch).padStart(2)}  loss ${e.loss.toFixed(4)}  test error ${pct(e.valAccuracy!)}  ${e.seconds.toFixed(1)} s`);
let started = performance.now();
await fit(model, train, { ...settings, validationData: test, onEpoch: log });
const dense = (await evaluate(model, test)).accuracy;
console.log(`dense: test error ${pct(dense)} after ${epochs} epochs, ${((performance.now() - started) / 1000).toFixed(0)} s (target <= 0.90 %)`);

started = performance.now();
const pruned = model.clone();
const steps = Math.ceil(train.rows / 64) * pruneEpochs;
await fit(pruned, train, {
  epochs: pruneEpochs,
  batchSize: 64,
  learningRate: 0.01,
  optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { type: 'cosine', total: pruneEpochs },
  seed: 2,
  validationData: test,
  onEpoch: log,
  hooks: [gradualPruning({ scope: 'global', finalSparsity: 1 - keep, endStep: Math.floor(steps * 0.6), frequency: 100 })],
});
const report = await pruneReport(pruned);
const prunedAccuracy = (await evaluate(pruned, test)).accuracy;
console.log(
  `pruned: ${((1 - report.sparsity) * 100).toFixed(2)} % of the weights kept (${report.layers.map((l) => `${((1 - l.sparsity) * 100).toFixed(1)} %`).join(' / ')}), test error ${pct(prunedAccuracy)}, ${((performance.now() - started) / 1000).toFixed(0)} s (target <= 8 % kept at <= 0.90 %)`,
);
await quantizeWeights(pruned, { bits: 8 });
console.log(`pruned + int8 per filter: test error ${pct((await evaluate(pruned, test)).accuracy)}`);
for (const m of [model, pruned]) m.dispose();
device.destroy();
