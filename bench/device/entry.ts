/**
 * The prepared run for a lent GPU machine (bench/device/README.md): one esbuild bundle that needs
 * only node and dawn.node there. It describes the adapter, checks the kernels against float64
 * references on that adapter (a speed figure from wrong results would be worthless), then runs
 * the GEMM and training benchmarks against TF.js WebGPU on the same device, and the MNIST
 * quality run; 'distill' runs bench/distill-quality.ts, 'ablate' the ablation benchmark, 'cli' the
 * CLI's default run, 'train-cnn' LeNet-5's training against TF.js, 'infer' the inference benchmark
 * on the model files of a report (INFER_MODELS), 'lenet' LeNet-5's quality run.
 * DEVICE_PARTS=check,gemm,train,quality picks parts.
 */
// TF.js's gradients, bundled here instead of built at run time by bench/common.ts.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createDevice } from '../../src/gpu/create-device.js';
import { formatDescription } from '../../src/gpu/describe.js';
import { applicableVariants, gemm } from '../../src/kernels/gemm.js';
import { batchNormChecks, convChecks, gemmChecks, inferenceChecks, lossChecks, randomValues, splitKChecks, stepChecks } from '../../test/kernel-checks.js';
import { markTfGradientsRegistered } from '../common.js';
import { benchGemm } from '../gemm.bench.js';
import { benchTrain } from '../train.bench.js';
import { benchAblate } from '../ablate.bench.js';
import { benchInfer } from '../infer.bench.js';
import { benchTrainCnn } from '../train-cnn.bench.js';

markTfGradientsRegistered();
const parts = (process.env.DEVICE_PARTS ?? 'check,gemm,train,quality').split(',');

/** The shared kernel checks (test/kernel-checks.ts) on this adapter. */
async function check(): Promise<boolean> {
  const device = await createDevice();
  console.log(`adapter: ${formatDescription(device.describe())}`);
  if (device.describe().cpuFallback && process.env.DEVICE_ALLOW_CPU !== '1') {
    console.log('a CPU adapter: this run is for a GPU (DEVICE_ALLOW_CPU=1 to go on anyway)');
    return false;
  }
  const checks = [
    ...(await gemmChecks(device, [
      [67, 45, 33],
      [130, 132, 260],
      [1, 7, 3],
      [257, 100, 784],
    ])),
    ...(await lossChecks(device)),
    ...(await stepChecks(device)),
    ...(await inferenceChecks(device)),
    ...(await convChecks(device)),
    ...(await batchNormChecks(device)),
    ...(await splitKChecks(device)),
  ];
  for (const c of checks) console.log(`${c.error < c.tolerance ? 'ok  ' : 'FAIL'} ${c.name}: relative error ${c.error.toExponential(2)} (tolerance ${c.tolerance})`);
  device.destroy();
  return checks.every((c) => c.error < c.tolerance);
}

/** Every applicable GEMM version on each training shape: which one a GPU should pick. */
async function timeVariants(): Promise<void> {
  const device = await createDevice();
  const widths = [784, 300, 100, 10];
  for (const batch of [64, 128, 1024]) {
    for (let l = 0; l + 1 < widths.length; l++) {
      const [i, o] = [widths[l]!, widths[l + 1]!];
      for (const [M, N, K, transA, transB] of [
        [batch, o, i, false, false],
        [i, o, batch, true, false],
        [batch, i, o, false, true],
      ] as const) {
        const a = device.tensor(randomValues(M * K, 1), transA ? [K, M] : [M, K]);
        const b = device.tensor(randomValues(K * N, 2), transB ? [N, K] : [K, N]);
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
if (parts.includes('train-cnn')) await benchTrainCnn();
if (parts.includes('infer')) await benchInfer();
if (parts.includes('lenet')) await import('../lenet-quality.js');
if (parts.includes('quality')) await import('../mnist-quality.js');
if (parts.includes('variants')) await timeVariants();
if (parts.includes('distill')) await import('../distill-quality.js');
if (parts.includes('ablate')) await benchAblate();
if (parts.includes('cli')) {
  // The CLI's default run, as `npx shrinkray --out DEVICE_REPORT` (its main runs on import).
  // DEVICE_CLI_ARGS runs another command line instead (e.g. "auto --max-drop 0.003 --out /root/out/auto").
  const args = process.env.DEVICE_CLI_ARGS?.split(' ').filter(Boolean) ?? ['--out', process.env.DEVICE_REPORT ?? 'shrinkray-report'];
  process.argv = [process.argv[0]!, 'shrinkray', ...args];
  process.env.SHRINKRAY_NATIVE_LOGS = '1'; // one process: the import runs the command here
  await import('../../src/cli/main.js');
}
