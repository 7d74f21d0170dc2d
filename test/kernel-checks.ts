/**
 * Kernel checks against float64 references that run anywhere (no vitest): in the test suite, in
 * a browser page (test/browser/checks.ts) and on a lent GPU (bench/device/entry.ts). Each returns
 * named relative errors with their tolerance; the caller asserts or reports them.
 */
import type { Device } from '../src/gpu/device.js';
import { applicableVariants, gemm } from '../src/kernels/gemm.js';
import { gemmSplitK } from '../src/kernels/splitk.js';
import { lossForward, newStats } from '../src/kernels/loss.js';
import { Optimizer } from '../src/kernels/optim.js';
import { Backprop } from '../src/nn/backprop.js';
import { MLP } from '../src/nn/mlp.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { filterImportance } from '../src/compress/filter-importance.js';
import { dropout, dropped } from '../src/kernels/dropout.js';
import { Random } from '../src/random.js';
import { Sequential } from '../src/nn/sequential.js';
import { refSequential } from './reference-cnn.js';
import { refForward, refGradients, refLoss, toRef } from './reference-mlp.js';

export interface Check {
  name: string;
  error: number;
  tolerance: number;
}

export function randomValues(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

/** ||a - e|| / ||e||; Infinity for a non-finite value or a length mismatch. */
export function relError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  if (a.length !== e.length) return Infinity;
  let num = 0,
    den = 0;
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity;
    num += (a[i]! - e[i]!) ** 2;
    den += e[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Every applicable GEMM version on shapes that are not tile multiples, all transposes, NaN-poisoned outputs. */
export async function gemmChecks(
  device: Device,
  shapes: [number, number, number][] = [
    [67, 45, 33],
    [130, 132, 260],
    [1, 7, 3],
  ],
): Promise<Check[]> {
  const checks: Check[] = [];
  for (const [M, N, K] of shapes)
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const a = randomValues(M * K, M + K),
        b = randomValues(K * N, N + 1);
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[transA ? k * M + i : i * K + k]! * b[transB ? j * K + k : k * N + j]!;
          ref[i * N + j] = s;
        }
      const ta = device.tensor(a, transA ? [K, M] : [M, K]),
        tb = device.tensor(b, transB ? [N, K] : [K, N]);
      for (const variant of applicableVariants(M, N, K, transA, transB)) {
        const out = device.tensor(new Float32Array(M * N).fill(NaN), [M, N]);
        gemm(ta, tb, { transA, transB, out, variant });
        checks.push({ name: `gemm ${variant} ${M}x${N}x${K}${transA ? ' A^T' : ''}${transB ? ' B^T' : ''}`, error: relError(await out.read(), ref), tolerance: 1e-5 });
        out.dispose();
      }
      ta.dispose();
      tb.dispose();
    }
  return checks;
}

/** Softmax cross-entropy: the summed loss and the gradient (softmax - onehot) / B. */
export async function lossChecks(device: Device): Promise<Check[]> {
  const [B, C] = [37, 11];
  const z = randomValues(B * C, 5).map((v) => 4 * v);
  const labels = Int32Array.from({ length: B }, (_, i) => (i * 7) % C);
  let loss = 0;
  const grad = new Float64Array(B * C);
  for (let r = 0; r < B; r++) {
    const row = Array.from(z.subarray(r * C, (r + 1) * C));
    const m = Math.max(...row);
    const s = row.reduce((t, v) => t + Math.exp(v - m), 0);
    loss += m + Math.log(s) - row[labels[r]!]!;
    row.forEach((v, c) => (grad[r * C + c] = (Math.exp(v - m) / s - (c === labels[r] ? 1 : 0)) / B));
  }
  const stats = newStats(device);
  const g = device.tensor(new Float32Array(B * C).fill(NaN), [B, C]);
  lossForward('softmaxCrossEntropy', { z: device.tensor(z, [B, C]), target: device.tensor(labels), stats, grad: g });
  return [
    { name: 'softmax cross-entropy loss (summed)', error: Math.abs((await stats.read())[0]! - loss) / loss, tolerance: 1e-5 },
    { name: 'softmax cross-entropy gradient', error: relError(await g.read(), grad), tolerance: 1e-5 },
  ];
}

/** A 30-20-13-5 tanh MLP: the forward pass (1e-5) and one SGD step of weights and biases (1e-4) against float64. */
export async function stepChecks(device: Device): Promise<Check[]> {
  const checks: Check[] = [];
  const model = MLP.create(device, [30, 20, 13, 5], { activation: 'tanh', seed: 9 });
  const rows = 17;
  const x = randomValues(rows * 30, 10);
  const ref = await toRef(model);
  checks.push({ name: 'MLP forward 30-20-13-5', error: relError(await model.predict(x), refForward(ref, x, rows)), tolerance: 1e-5 });
  const labels = Int32Array.from({ length: rows }, (_, i) => i % 5);
  const bp = new Backprop(model, rows, 'softmaxCrossEntropy');
  bp.x.write(x);
  const stats = newStats(device);
  bp.gradients(device.tensor(labels), stats);
  new Optimizer({ type: 'sgd' }).step(bp.slots(), 0.5, stats);
  const grads = refGradients(ref, 'softmaxCrossEntropy', x, rows, labels, 1e-6);
  const after = await model.read();
  ref.forEach((l, i) => {
    const w = Float64Array.from(l.weight, (v, j) => v - 0.5 * grads[i]!.weight[j]!);
    const b = Float64Array.from(l.bias, (v, j) => v - 0.5 * grads[i]!.bias[j]!);
    checks.push({ name: `SGD step, layer ${i} weights`, error: relError(after[i]!.weight, w), tolerance: 1e-4 });
    checks.push({ name: `SGD step, layer ${i} biases`, error: relError(after[i]!.bias, b), tolerance: 1e-4 });
  });
  bp.dispose();
  model.dispose();
  return checks;
}

/**
 * Compressed inference: a pruned model with odd widths (padded dense layers, sparse layers on
 * transposed activations) at 1 and 70 rows, against the float64 forward pass.
 */
export async function inferenceChecks(device: Device): Promise<Check[]> {
  const model = MLP.create(device, [50, 30, 13, 3], { seed: 9, activation: 'tanh' });
  await prune(model, { type: 'layer', sparsity: 0.85 });
  await model.prepareInference();
  const ref = await toRef(model);
  const checks: Check[] = [];
  for (const rows of [1, 70]) {
    const x = randomValues(rows * 50, rows);
    const out = await model.predict(x);
    checks.push({ name: `pruned 50-30-13-3 forward, ${rows} rows`, error: relError(out, refForward(ref, x, rows)), tolerance: 1e-5 });
  }
  model.dispose();
  // Pruned in 4 x 4 blocks: the first two layers run the block kernel (widths padded to whole
  // blocks); quantized to 4 bits after, the blocks hold packed integers.
  for (const { label, seed, bits, xSeed } of [
    { label: 'pruned in blocks', seed: 10, bits: undefined, xSeed: 1 },
    { label: 'pruned in blocks + int4', seed: 12, bits: 4, xSeed: 4 },
  ] as const) {
    const blocks = MLP.create(device, [50, 30, 13, 3], { seed, activation: 'tanh' });
    await prune(blocks, { type: 'layer', sparsity: 0.7, block: [4, 4] });
    if (bits) await quantizeWeights(blocks, { bits });
    await blocks.prepareInference();
    const blockRef = await toRef(blocks);
    const forms = blocks.inferenceForms().slice(0, 2).join(' ');
    for (const rows of [1, 70]) {
      const x = randomValues(rows * 50, rows + xSeed);
      const out = await blocks.predict(x);
      checks.push({ name: `${label} 50-30-13-3 forward (${forms}), ${rows} rows`, error: forms === 'block block' ? relError(out, refForward(blockRef, x, rows)) : Infinity, tolerance: 1e-5 });
    }
    blocks.dispose();
  }
  // Quantized to 8 and 4 bits: every layer runs the packed integer kernel.
  for (const bits of [8, 4]) {
    const packed = MLP.create(device, [50, 30, 13, 3], { seed: 11, activation: 'tanh' });
    await quantizeWeights(packed, { bits });
    await packed.prepareInference();
    const packedRef = await toRef(packed);
    const packedForms = packed.inferenceForms().join(' ');
    for (const rows of [1, 70]) {
      const x = randomValues(rows * 50, rows + 2);
      const out = await packed.predict(x);
      checks.push({
        name: `int${bits} 50-30-13-3 forward (${packedForms}), ${rows} rows`,
        error: packedForms === 'packed packed packed' ? relError(out, refForward(packedRef, x, rows)) : Infinity,
        tolerance: 1e-5,
      });
    }
    packed.dispose();
  }
  return checks;
}

/**
 * Convolutional networks: a small Sequential model (convolution with padding, max pooling, a
 * convolution with stride, average pooling, dense layers) forward and its gradients against the
 * float64 reference and its finite differences.
 */
export async function convChecks(device: Device): Promise<Check[]> {
  const model = Sequential.create(device, {
    input: [7, 6, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
      { type: 'maxPool2d', kernel: 2 },
      { type: 'conv2d', filters: 5, kernel: 2, stride: [1, 2], activation: 'tanh' },
      { type: 'avgPool2d', kernel: [2, 1], stride: 1 },
      { type: 'dense', units: 4 },
    ],
    seed: 4,
  });
  const rows = 3;
  const x = randomValues(rows * model.inputs, 21);
  const labels = Int32Array.from([0, 3, 1]);
  const params = await Promise.all(model.layers.map(async (l) => ({ weight: Float64Array.from(await l.weight.read()), bias: Float64Array.from(await l.bias.read()) })));
  const checks: Check[] = [{ name: 'conv network forward 7x6x2', error: relError(await model.predict(x), refSequential(model.stages, params, x, rows)), tolerance: 1e-5 }];
  const bp = model.backprop(rows, 'softmaxCrossEntropy');
  bp.x.write(x);
  bp.gradients(device.tensor(labels), newStats(device));
  const loss = () => refLoss('softmaxCrossEntropy', refSequential(model.stages, params, x, rows), rows, 4, labels);
  for (const [i, p] of params.entries()) {
    const fd = Float64Array.from(p.weight, (_, j) => {
      const keep = p.weight[j]!;
      p.weight[j] = keep + 1e-5;
      const up = loss();
      p.weight[j] = keep - 1e-5;
      const down = loss();
      p.weight[j] = keep;
      return (up - down) / 2e-5;
    });
    checks.push({ name: `conv network gradient, weights ${i}`, error: relError(await bp.weightGrads[i]!.read(), fd), tolerance: 1e-3 });
  }
  bp.dispose();
  // Filter ablation: the loss with one channel of a convolution at zero, less the loss, for every
  // filter of both convolutions (relu and tanh): in chunks of 2 rows, and with a budget of 80 floats
  // (chunks of 1 row, the first convolution's 3 variants in passes of 2).
  const data = { rows, cols: model.inputs, features: x, labels, classes: 4 };
  const base = loss();
  for (const options of [{ chunkRows: 2 }, { budget: 80 }]) {
    const importance = await filterImportance(model, data, options);
    for (const { stage, scores } of importance.stages) {
      const ref = Float64Array.from(scores, (_, channel) => refLoss('softmaxCrossEntropy', refSequential(model.stages, params, x, rows, { stage, channel }), rows, 4, labels) - base);
      checks.push({ name: `conv filter ablation importance, stage ${stage}, ${JSON.stringify(options)}`, error: relError(scores, ref), tolerance: 1e-4 });
    }
  }
  // Dropout: the step's mask and scaled values as the host computes them (an odd size, rate 0.3).
  const values = randomValues(1001, 23);
  const dropIn = device.tensor(values, [7, 11, 13]);
  const { y, keep } = dropout(dropIn, 0.3, 4242);
  const factors = Array.from(values, (_, i) => (dropped(i, 4242, 0.3) ? 0 : 1 / 0.7));
  checks.push({
    name: 'dropout forward 7x11x13',
    error:
      relError(
        await y.read(),
        Array.from(values, (v, i) => v * factors[i]!),
      ) + relError(await keep.read(), factors),
    tolerance: 1e-6,
  });
  for (const t of [dropIn, y, keep]) t.dispose();
  model.dispose();
  return checks;
}

/**
 * Batch norm in a network (BatchNorm2d after a convolution, BatchNorm1d after a dense layer) with
 * random parameters and running averages: inference against float64, and a training step's
 * gradients (weights, gamma, beta: the batch's statistics) against finite differences.
 */
export async function batchNormChecks(device: Device): Promise<Check[]> {
  const model = Sequential.create(device, {
    input: [6, 5, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
      { type: 'batchNorm' },
      { type: 'maxPool2d', kernel: 2 },
      { type: 'dense', units: 5 },
      { type: 'batchNorm', activation: 'tanh' },
      { type: 'dense', units: 3 },
    ],
    seed: 8,
  });
  const norms = model.norms.map((n, i) => {
    const c = n.gamma.size;
    const [gamma, beta, mean, variance] = [randomValues(c, 80 + i).map((v) => 1.25 + 0.75 * v), randomValues(c, 90 + i), randomValues(c, 100 + i), randomValues(c, 110 + i).map((v) => 1.1 + 0.9 * v)];
    n.gamma.write(gamma!);
    n.beta.write(beta!);
    n.running.write(Float32Array.from([...mean!, ...variance!]));
    return { gamma: Float64Array.from(gamma!), beta: Float64Array.from(beta!), mean: Float64Array.from(mean!), variance: Float64Array.from(variance!) };
  });
  const rows = 4;
  const x = randomValues(rows * model.inputs, 31);
  const labels = Int32Array.from([2, 0, 1, 2]);
  const params = await Promise.all(model.layers.map(async (l) => ({ weight: Float64Array.from(await l.weight.read()), bias: Float64Array.from(await l.bias.read()) })));
  const checks: Check[] = [
    {
      name: 'batch norm network inference 6x5x2',
      error: relError(await model.predict(x), refSequential(model.stages, params, x, rows, undefined, undefined, { params: norms, training: false })),
      tolerance: 1e-5,
    },
  ];
  const bp = model.backprop(rows, 'softmaxCrossEntropy');
  bp.x.write(x);
  bp.gradients(device.tensor(labels), newStats(device));
  const loss = () => refLoss('softmaxCrossEntropy', refSequential(model.stages, params, x, rows, undefined, undefined, { params: norms, training: true }), rows, 3, labels);
  const fd = (a: Float64Array) =>
    Float64Array.from(a, (_, j) => {
      const keep = a[j]!;
      a[j] = keep + 1e-5;
      const up = loss();
      a[j] = keep - 1e-5;
      const down = loss();
      a[j] = keep;
      return (up - down) / 2e-5;
    });
  for (const [i, p] of params.entries()) checks.push({ name: `batch norm network gradient, weights ${i}`, error: relError(await bp.weightGrads[i]!.read(), fd(p.weight)), tolerance: 1e-3 });
  for (const [i, n] of norms.entries()) {
    checks.push({ name: `batch norm ${i} gradient, gamma`, error: relError(await bp.normGrads[i]!.gamma.read(), fd(n.gamma)), tolerance: 1e-3 });
    checks.push({ name: `batch norm ${i} gradient, beta`, error: relError(await bp.normGrads[i]!.beta.read(), fd(n.beta)), tolerance: 1e-3 });
  }
  bp.dispose();
  model.dispose();
  return checks;
}

/** Float64 A^T B [M, N] for A [K, M], B [K, N], and B's column sums [N]. */
export function refAtB(a: Float32Array, b: Float32Array, M: number, N: number, K: number): { ref: Float64Array; refSums: Float64Array } {
  const ref = new Float64Array(M * N);
  const refSums = new Float64Array(N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) {
      refSums[n]! += b[k * N + n]!;
      for (let m = 0; m < M; m++) ref[m * N + n]! += a[k * M + m]! * b[k * N + n]!;
    }
  return { ref, refSums };
}

/** Split-K A^T B (what gemm runs on GPUs for a convolution's weight gradient), with column sums, against float64. */
export async function splitKChecks(device: Device): Promise<Check[]> {
  const checks: Check[] = [];
  for (const [M, N, K] of [
    [28, 20, 36_864],
    [7, 5, 1000],
  ] as const) {
    const a = randomValues(K * M, M),
      b = randomValues(K * N, N);
    const { ref, refSums } = refAtB(a, b, M, N, K);
    const ta = device.tensor(a, [K, M]),
      tb = device.tensor(b, [K, N]);
    const sums = device.tensor(new Float32Array(N).fill(NaN));
    const c = gemmSplitK(ta, tb, { out: device.tensor(new Float32Array(M * N).fill(NaN), [M, N]), columnSums: sums });
    checks.push({ name: `split-K A^T B ${M}x${N}x${K}`, error: relError(await c.read(), ref), tolerance: 1e-5 });
    checks.push({ name: `split-K column sums ${N}x${K}`, error: relError(await sums.read(), refSums), tolerance: 1e-5 });
    for (const t of [ta, tb, sums, c]) t.dispose();
  }
  return checks;
}
