/**
 * Runs in a real browser page (bundled by test/browser.test.ts): the kernel reference checks
 * (GEMM, losses, an optimizer step) and a short training run, on navigator.gpu. Results go back
 * to the test as plain objects; the test asserts them.
 */
import { createDevice, gemm, applicableVariants, lossForward, newStats, MLP, Backprop, Optimizer, fit, evaluate, Random, type Device } from '../../src/browser.js';
import { refForward, refGradients, toRef } from '../reference-mlp.js';

interface Check {
  name: string;
  error: number;
  tolerance: number;
}

function randomArray(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

function relativeError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  if (a.length !== e.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity;
    num += (a[i]! - e[i]!) ** 2;
    den += e[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

async function gemmChecks(device: Device, checks: Check[]): Promise<void> {
  for (const [M, N, K] of [[67, 45, 33], [130, 132, 260], [1, 7, 3]] as const)
    for (const [transA, transB] of [[false, false], [true, false], [false, true]] as const) {
      const a = randomArray(M * K, M + K), b = randomArray(K * N, N + 1);
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[transA ? k * M + i : i * K + k]! * b[transB ? j * K + k : k * N + j]!;
          ref[i * N + j] = s;
        }
      const ta = device.tensor(a, transA ? [K, M] : [M, K]), tb = device.tensor(b, transB ? [N, K] : [K, N]);
      for (const variant of applicableVariants(M, N, K, transA, transB)) {
        const out = device.tensor(new Float32Array(M * N).fill(NaN), [M, N]); // unwritten -> NaN -> fails
        gemm(ta, tb, { transA, transB, out, variant });
        checks.push({ name: `gemm ${variant} ${M}x${N}x${K}${transA ? ' A^T' : ''}${transB ? ' B^T' : ''}`, error: relativeError(await out.read(), ref), tolerance: 1e-5 });
        out.dispose();
      }
      ta.dispose(), tb.dispose();
    }
}

async function lossChecks(device: Device, checks: Check[]): Promise<void> {
  const [B, C] = [37, 11];
  const z = randomArray(B * C, 5).map((v) => 4 * v);
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
  checks.push({ name: 'softmax cross-entropy loss (summed)', error: Math.abs((await stats.read())[0]! - loss) / loss, tolerance: 1e-5 });
  checks.push({ name: 'softmax cross-entropy gradient', error: relativeError(await g.read(), grad), tolerance: 1e-5 });
}

async function stepChecks(device: Device, checks: Check[]): Promise<void> {
  const model = MLP.create(device, [30, 20, 13, 5], { activation: 'tanh', seed: 9 });
  const rows = 17;
  const x = randomArray(rows * 30, 10);
  const ref = await toRef(model);
  checks.push({ name: 'MLP forward 30-20-13-5', error: relativeError(await model.predict(x), refForward(ref, x, rows)), tolerance: 1e-5 });
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
    checks.push({ name: `SGD step, layer ${i} weights`, error: relativeError(after[i]!.weight, w), tolerance: 1e-4 });
  });
  bp.dispose();
  model.dispose();
}

export async function runChecks(featureLevel?: 'core' | 'compatibility'): Promise<{ adapter: unknown; checks: Check[] }> {
  const device = await createDevice(featureLevel ? { featureLevel } : {});
  const checks: Check[] = [];
  try {
    await gemmChecks(device, checks);
    await lossChecks(device, checks);
    await stepChecks(device, checks);
    return { adapter: device.describe(), checks };
  } finally {
    device.destroy();
  }
}

/** A short training run in the page on a two-spiral-free toy problem: returns the test accuracy. */
export async function trainCheck(): Promise<{ accuracy: number; epochs: number }> {
  const device = await createDevice();
  try {
    const make = (rows: number, seed: number) => {
      const r = new Random(seed);
      const features = Float32Array.from({ length: rows * 8 }, () => r.uniform(-1, 1));
      const labels = Int32Array.from({ length: rows }, (_, i) => Math.min(2, Math.floor(((Math.atan2(features[i * 8 + 1]!, features[i * 8]!) + Math.PI) / (2 * Math.PI)) * 3)));
      return { features, rows, cols: 8, labels, classes: 3 };
    };
    const model = MLP.create(device, [8, 32, 3], { seed: 1 });
    const epochs = 30;
    await fit(model, make(600, 1), { epochs, batchSize: 32, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 });
    const { accuracy } = await evaluate(model, make(300, 2));
    model.dispose();
    return { accuracy, epochs };
  } finally {
    device.destroy();
  }
}

(globalThis as Record<string, unknown>).shrinkrayChecks = { runChecks, trainCheck };
