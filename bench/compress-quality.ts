/**
 * The documented compression run on MNIST (LeNet-300-100), for bench/RESULTS.md:
 *   npm run quality:compress         (EPOCHS=n for the dense training, default 12)
 * 1. dense training; 2. int8 post-training quantization of the dense model (weights per channel,
 * and integer inference with calibrated uint8 activations); 3. gradual global pruning to 8 % of
 * the weights with fine-tuning at a tenth of the learning rate (Han et al.); 4. the pruned model
 * quantized to 6, 5 and 4 bits, sizes counted with relative indices or a bitmap.
 */
import { loadMnist } from '../src/data/mnist.js';
import type { Dataset } from '../src/data/dataset.js';
import { MLP } from '../src/nn/mlp.js';
import { evaluate, fit } from '../src/nn/train.js';
import { pruneReport } from '../src/compress/prune.js';
import { calibrateActivations, QuantizedMLP, quantizeWeights } from '../src/compress/quantize.js';
import { compressedSize } from '../src/compress/size.js';
import { benchDevice } from './common.js';
import { compareLeakage } from '../src/validate/privacy.js';

const epochs = Number(process.env.EPOCHS ?? 12);
const device = await benchDevice();
const train = loadMnist('train');
const test = loadMnist('test');
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const error = async (m: MLP) => 1 - (await evaluate(m, test)).accuracy;

async function integerError(q: QuantizedMLP, data: Dataset): Promise<number> {
  let wrong = 0;
  for (let start = 0; start < data.rows; start += 1000) {
    const rows = Math.min(1000, data.rows - start);
    const x = device.tensor(data.features.slice(start * data.cols, (start + rows) * data.cols), [rows, data.cols]);
    const z = q.forward(x);
    const out = await z.read();
    for (let r = 0; r < rows; r++) {
      const row = Array.from(out.subarray(r * 10, r * 10 + 10));
      if (row.indexOf(Math.max(...row)) !== data.labels![start + r]) wrong++;
    }
    x.dispose();
    z.dispose();
  }
  return wrong / data.rows;
}

const sgd = { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-5 } as const;
const dense = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
let t0 = performance.now();
await fit(dense, train, { epochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: epochs }, seed: 1 });
const denseError = await error(dense);
console.log(`dense: ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s, test error ${pct(denseError)}, ${(await compressedSize(dense)).denseBytes} bytes`);

const int8 = dense.clone();
quantizeWeights(int8, { bits: 8, restrictRange: true });
const int8Error = await error(int8);
const q8 = await QuantizedMLP.from(int8, await calibrateActivations(int8, train, { batches: 8, batchSize: 256 }));
const int8Integer = await integerError(q8, test);
console.log(`int8 PTQ of the dense model: test error ${pct(int8Error)} (weights only), ${pct(int8Integer)} (integer inference, uint8 activations); accuracy lost ${((int8Integer - denseError) * 100).toFixed(2)} points; ${(await compressedSize(int8, { bits: 8 })).ratio.toFixed(1)}x smaller`);
q8.dispose();

const pruned = dense.clone();
const steps = Math.ceil(train.rows / 64);
t0 = performance.now();
await fit(pruned, train, {
  epochs: 8, batchSize: 64, learningRate: 0.005, optimizer: sgd, seed: 2,
  pruning: { scope: 'global', finalSparsity: 0.92, beginStep: 0, endStep: 5 * steps, frequency: 100 },
});
const prunedError = await error(pruned);
const report = await pruneReport(pruned);
console.log(`pruned: ${pct(1 - report.sparsity)} of weights kept (${report.layers.map((l) => pct(1 - l.sparsity)).join(' / ')}), ${report.nonzero} of ${report.weights}, test error ${pct(prunedError)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const variants: Record<string, MLP> = { dense, int8, pruned };
for (const bits of [6, 5, 4]) {
  const m = pruned.clone();
  quantizeWeights(m, { bits });
  const size = await compressedSize(m, { bits, indexBits: 5 });
  console.log(
    `pruned + ${bits}-bit: test error ${pct(await error(m))}, ${size.totalBytes} bytes (values ${size.valueBytes}, ${size.index} index ${Math.min(size.relativeIndexBytes, size.bitmapBytes)} [relative ${size.relativeIndexBytes} with ${size.fillers} fillers, bitmap ${size.bitmapBytes}], scales ${size.scaleBytes}, biases ${size.biasBytes}): ${size.ratio.toFixed(1)}x smaller`,
  );
  if (bits === 6) variants['pruned + 6-bit'] = m;
  else m.dispose();
}
const audits = await compareLeakage(variants, train, test, { samples: 10_000, seed: 1 });
for (const [name, a] of Object.entries(audits))
  console.log(`privacy ${name}: gap ${((a.generalizationGap) * 100).toFixed(2)} points; ${a.attacks.map((x) => `${x.attack} AUC ${x.auc.toFixed(4)} adv ${x.advantage.toFixed(4)} TPR@1%FPR ${x.tprAt1PctFpr.toFixed(4)}`).join('; ')}`);
for (const m of Object.values(variants)) m.dispose();
device.destroy();
