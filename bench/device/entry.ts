/**
 * The prepared run for a lent GPU machine (bench/device/README.md): one esbuild bundle that needs
 * only node and dawn.node there. It describes the adapter, checks the kernels against float64
 * references on that adapter (a speed figure from wrong results would be worthless), then runs
 * the GEMM and training benchmarks against TF.js WebGPU on the same device, and the MNIST
 * quality run; 'distill' runs bench/distill-quality.ts. DEVICE_PARTS=check,gemm,train,quality picks parts.
 */
// TF.js's gradients, bundled here instead of built at run time by bench/common.ts.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createDevice } from '../../src/gpu/device.js';
import { formatDescription } from '../../src/gpu/describe.js';
import { applicableVariants, gemm } from '../../src/kernels/gemm.js';
import { MLP } from '../../src/nn/mlp.js';
import { Backprop } from '../../src/nn/backprop.js';
import { newStats } from '../../src/kernels/loss.js';
import { Optimizer } from '../../src/kernels/optim.js';
import { Random } from '../../src/random.js';
import { refForward, refGradients, toRef } from '../../test/reference-mlp.js';
import { markTfGradientsRegistered } from '../common.js';
import { benchGemm } from '../gemm.bench.js';
import { benchTrain } from '../train.bench.js';

markTfGradientsRegistered();
const parts = (process.env.DEVICE_PARTS ?? 'check,gemm,train,quality').split(',');

function randomArray(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

function relativeError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < e.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity;
    num += (a[i]! - e[i]!) ** 2;
    den += e[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Every GEMM version on shapes that are not multiples of the tiles, and one training step. */
async function check(): Promise<boolean> {
  const device = await createDevice();
  console.log(`adapter: ${formatDescription(device.describe())}`);
  if (device.describe().cpuFallback && process.env.DEVICE_ALLOW_CPU !== '1') {
    console.log('a CPU adapter: this run is for a GPU (DEVICE_ALLOW_CPU=1 to go on anyway)');
    return false;
  }
  let ok = true;
  const report = (name: string, err: number, tol: number) => {
    const pass = err < tol;
    ok &&= pass;
    console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}: relative error ${err.toExponential(2)} (tolerance ${tol})`);
  };
  for (const [M, N, K] of [[67, 45, 33], [130, 132, 260], [1, 7, 3], [257, 100, 784]] as const) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true]] as const) {
      const a = randomArray(M * K, M + N), b = randomArray(K * N, K + 1);
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[transA ? k * M + i : i * K + k]! * b[transB ? j * K + k : k * N + j]!;
          ref[i * N + j] = s;
        }
      const ta = device.tensor(a, transA ? [K, M] : [M, K]);
      const tb = device.tensor(b, transB ? [N, K] : [K, N]);
      for (const variant of applicableVariants(M, N, K, transA, transB)) {
        const out = device.tensor(new Float32Array(M * N).fill(NaN), [M, N]);
        gemm(ta, tb, { transA, transB, out, variant });
        report(`gemm ${variant} ${M}x${N}x${K}${transA ? ' A^T' : ''}${transB ? ' B^T' : ''}`, relativeError(await out.read(), ref), 1e-5);
        out.dispose();
      }
      ta.dispose(), tb.dispose();
    }
  }
  const model = MLP.create(device, [30, 20, 13, 5], { activation: 'tanh', seed: 9 });
  const rows = 17;
  const x = randomArray(rows * 30, 10);
  const ref = await toRef(model);
  report('MLP forward 30-20-13-5', relativeError(await model.predict(x), refForward(ref, x, rows)), 1e-5);
  const labels = Int32Array.from({ length: rows }, (_, i) => i % 5);
  const bp = new Backprop(model, rows, 'softmaxCrossEntropy');
  bp.x.write(x);
  const stats = newStats(device);
  bp.gradients(device.tensor(labels), stats);
  new Optimizer({ type: 'sgd' }).step(bp.slots(), 0.5, stats);
  const grads = refGradients(ref, 'softmaxCrossEntropy', x, rows, labels, 1e-6);
  const after = await model.read();
  ref.forEach((l, i) => {
    report(`SGD step layer ${i} weights`, relativeError(after[i]!.weight, Float64Array.from(l.weight, (v, j) => v - 0.5 * grads[i]!.weight[j]!)), 1e-4);
  });
  bp.dispose();
  model.dispose();
  device.destroy();
  return ok;
}

/** Every applicable GEMM version on each training shape: which one a GPU should pick. */
async function timeVariants(): Promise<void> {
  const device = await createDevice();
  const widths = [784, 300, 100, 10];
  for (const batch of [64, 128, 1024]) {
    for (let l = 0; l + 1 < widths.length; l++) {
      const [i, o] = [widths[l]!, widths[l + 1]!];
      for (const [M, N, K, transA, transB] of [[batch, o, i, false, false], [i, o, batch, true, false], [batch, i, o, false, true]] as const) {
        const a = device.tensor(randomArray(M * K, 1), transA ? [K, M] : [M, K]);
        const b = device.tensor(randomArray(K * N, 2), transB ? [N, K] : [K, N]);
        const out = device.empty([M, N]);
        const line: string[] = [];
        for (const variant of applicableVariants(M, N, K, transA, transB)) {
          const run = async (reps: number) => {
            for (let r = 0; r < reps; r++) gemm(a, b, { transA, transB, out, variant });
            await device.sync();
          };
          await run(5);
          let best = Infinity;
          for (let round = 0; round < 3; round++) {
            const t0 = performance.now();
            await run(200);
            best = Math.min(best, (performance.now() - t0) / 200);
          }
          line.push(`${variant} ${((2 * M * N * K) / best / 1e6).toFixed(0)}`);
        }
        console.log(`variants ${M}x${N}x${K}${transA ? ' A^T' : ''}${transB ? ' B^T' : ''}: ${line.join(', ')} GFLOP/s`);
        a.dispose(), b.dispose(), out.dispose();
      }
    }
  }
  device.destroy();
}

if (parts.includes('check') && !(await check())) {
  console.log('kernel checks failed: no figures from this adapter');
  process.exit(1);
}
if (parts.includes('gemm')) await benchGemm();
if (parts.includes('train')) await benchTrain();
if (parts.includes('quality')) await import('../mnist-quality.js');
if (parts.includes('variants')) await timeVariants();
if (parts.includes('distill')) await import('../distill-quality.js');
