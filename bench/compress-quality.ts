/**
 * The documented compression run on MNIST (LeNet-300-100), for bench/RESULTS.md:
 *   npm run quality:compress
 * 1. dense training (EPOCHS, default 20); 2. int8 post-training quantization of the dense model
 * (weights per channel, and integer inference with calibrated uint8 activations); 3. gradual
 * global pruning to KEEP (default 0.07) of the weights with fine-tuning (Han et al.); 4. the
 * pruned model min-max quantized to 6, 5 and 4 bits; 5. Deep Compression: the pruned model's
 * weights shared by k-means (SHARE_BITS, default 4), the shared values fine-tuned, and every
 * stream Huffman coded; 6. ternary and binary weights trained with QAT on the pruned model;
 * 7. a membership-inference audit of the main variants.
 * Every size is the byte length of the model file written to OUT (default a temporary folder).
 * DENSE=FILE reuses (or first writes) the dense model there, to try compression settings quickly.
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist } from '../src/data/mnist.js';
import type { Dataset } from '../src/data/dataset.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { pruneReport } from '../src/compress/prune.js';
import { calibrateActivations, QuantizedMLP, quantizeWeights } from '../src/compress/quantize.js';
import { compressedSize } from '../src/compress/size.js';
import { loadModel, saveModel } from '../src/io/files.js';
import { benchDevice } from './common.js';
import { compareLeakage } from '../src/validate/privacy.js';
import { gradualPruning } from '../src/compress/schedule.js';
import { quantizationAware } from '../src/compress/qat.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const epochs = env('EPOCHS', 20);
const keep = env('KEEP', 0.07);
const pruneEpochs = env('PRUNE_EPOCHS', 16);
const shareBits = env('SHARE_BITS', 4);
const shareEpochs = env('SHARE_EPOCHS', 3);
const out = process.env.OUT ?? mkdtempSync(join(tmpdir(), 'shrinkray-compress-'));
const device = await benchDevice();
const train = loadMnist('train');
const test = loadMnist('test');
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const error = async (m: MLP) => 1 - (await evaluate(m, test)).accuracy;
const rows: { name: string; error: number; bytes: number }[] = [];

/** Saves the model, checks that compressedSize predicted the file's length, and records its row. */
async function record(name: string, model: MLP, err?: number): Promise<number> {
  const file = join(out, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.safetensors`);
  const predicted = (await compressedSize(model)).totalBytes;
  await saveModel(model, file);
  const bytes = statSync(file).size;
  if (bytes !== predicted) throw new Error(`${name}: compressedSize said ${predicted} bytes, the file has ${bytes}`);
  const e = err ?? (await error(model));
  rows.push({ name, error: e, bytes });
  console.log(`${name}: test error ${pct(e)}, ${bytes.toLocaleString('en-US')} bytes (${file})`);
  return e;
}

async function integerError(q: QuantizedMLP, data: Dataset): Promise<number> {
  let wrong = 0;
  for (let start = 0; start < data.rows; start += 1000) {
    const n = Math.min(1000, data.rows - start);
    const x = device.tensor(data.features.slice(start * data.cols, (start + n) * data.cols), [n, data.cols]);
    const z = q.forward(x);
    const outs = await z.read();
    for (let r = 0; r < n; r++) {
      const row = Array.from(outs.subarray(r * 10, r * 10 + 10));
      if (row.indexOf(Math.max(...row)) !== data.labels![start + r]) wrong++;
    }
    x.dispose();
    z.dispose();
  }
  return wrong / data.rows;
}

const sgd = { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-5 } as const;
let t0 = performance.now();
let dense: MLP;
if (process.env.DENSE && existsSync(process.env.DENSE)) dense = await loadModel(device, process.env.DENSE);
else {
  dense = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
  await fit(dense, train, { epochs, batchSize: 64, learningRate: 0.05, optimizer: sgd, schedule: { type: 'cosine', total: epochs }, seed: 1 });
  if (process.env.DENSE) await saveModel(dense, process.env.DENSE);
  console.log(`dense: ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const denseError = await record('dense', dense);

const int8 = dense.clone();
await quantizeWeights(int8, { bits: 8, restrictRange: true });
await record('int8', int8);
const q8 = await QuantizedMLP.from(int8, await calibrateActivations(int8, train, { batches: 8, batchSize: 256 }));
const int8Integer = await integerError(q8, test);
console.log(`int8 integer inference (uint8 activations): test error ${pct(int8Integer)}; accuracy lost ${((int8Integer - denseError) * 100).toFixed(2)} points`);
q8.dispose();

// Gradual pruning over the first half of the epochs, then fine-tuning at the final sparsity.
const pruned = dense.clone();
const steps = Math.ceil(train.rows / 64);
t0 = performance.now();
await fit(pruned, train, {
  epochs: pruneEpochs,
  batchSize: 64,
  learningRate: 0.01,
  optimizer: sgd,
  schedule: { type: 'cosine', total: pruneEpochs },
  seed: 2,
  hooks: [gradualPruning({ scope: 'global', finalSparsity: 1 - keep, beginStep: 0, endStep: Math.ceil(pruneEpochs / 2) * steps, frequency: 100 })],
});
const report = await pruneReport(pruned);
console.log(
  `pruned: ${pct(1 - report.sparsity)} of weights kept (${report.layers.map((l) => pct(1 - l.sparsity)).join(' / ')}), ${report.nonzero} of ${report.weights}, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
await record(`pruned ${pct(1 - report.sparsity)} kept`, pruned);
const variants: Record<string, MLP> = { dense, int8, pruned };
for (const bits of [6, 5, 4]) {
  const m = pruned.clone();
  await quantizeWeights(m, { bits });
  await record(`pruned + ${bits}-bit min-max`, m);
  m.dispose();
}

// Deep Compression: k-means weight sharing, the shared values fine-tuned, Huffman coding.
const shared = pruned.clone();
await quantizeWeights(shared, { method: 'kmeans', bits: shareBits });
const beforeTuning = await error(shared);
t0 = performance.now();
await fit(shared, train, { epochs: shareEpochs, batchSize: 64, learningRate: 0.0005, optimizer: { type: 'adam' }, schedule: { type: 'cosine', total: shareEpochs }, seed: 3 });
console.log(`k-means ${shareBits}-bit: test error ${pct(beforeTuning)} before fine-tuning the shared values, ${shareEpochs} epochs in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const sharedError = await record(`deep compression (pruned + k-means ${shareBits}-bit + Huffman)`, shared);
const size = await compressedSize(shared);
console.log(`  bytes by part: ${JSON.stringify(size.parts)}; ${(rows[0]!.bytes / size.totalBytes).toFixed(1)}x smaller than the dense file; layers ${JSON.stringify(size.layers)}`);
variants['deep compression'] = shared;
// The same with biases in half precision, scored as loaded back from its file.
const halfFile = join(out, 'deep-compression-f16.safetensors');
await saveModel(shared, halfFile, {}, { float16: true });
const half = await loadModel(device, halfFile);
rows.push({ name: 'deep compression, f16 biases (scored from the file)', error: await error(half), bytes: statSync(halfFile).size });
console.log(
  `deep compression with f16 biases: ${statSync(halfFile).size.toLocaleString('en-US')} bytes, test error ${pct(rows[rows.length - 1]!.error)} (dense error ${pct(denseError)}, shared ${pct(sharedError)})`,
);
half.dispose();

for (const method of ['ternary', 'binary'] as const) {
  const m = pruned.clone();
  await fit(m, train, { epochs: 2, batchSize: 64, learningRate: 0.005, optimizer: sgd, seed: 4, hooks: [quantizationAware({ method })] });
  await record(`pruned + ${method} (QAT 2 epochs)`, m);
  m.dispose();
}

console.log('\n| model | test error | file bytes | smaller than the dense file |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${pct(r.error)} | ${r.bytes.toLocaleString('en-US')} | ${(rows[0]!.bytes / r.bytes).toFixed(1)}x |`);
if (!process.env.SKIP_AUDIT) {
  const audits = await compareLeakage(variants, train, test, { samples: 10_000, seed: 1 });
  for (const [name, a] of Object.entries(audits))
    console.log(
      `privacy ${name}: gap ${(a.generalizationGap * 100).toFixed(2)} points; ${a.attacks.map((x) => `${x.attack} AUC ${x.auc.toFixed(4)} adv ${x.advantage.toFixed(4)} TPR@1%FPR ${x.tprAt1PctFpr.toFixed(4)}`).join('; ')}`,
    );
}
for (const m of Object.values(variants)) m.dispose();
device.destroy();
