/**
 * shrinkray bench: a quick look at this machine's speed. GEMM throughput of the chosen kernel
 * against the naive one (one thread per output) on the shapes of training LeNet-300-100, and
 * training and inference throughput on MNIST. The full benchmarks against TF.js are `npm run bench`.
 */
import { autoVariant, gemm } from '../../kernels/gemm.js';
import { loadMnist } from '../../data/mnist.js';
import { MLP } from '../../nn/mlp.js';
import { fit } from '../../nn/train.js';
import { Random } from '../../random.js';
import { numberOf } from '../args.js';
import type { Command } from '../command.js';
import { formatDescription } from '../../gpu/describe.js';

export const bench: Command = {
  name: 'bench',
  summary: 'GEMM, training and inference throughput on this machine',
  usage: 'shrinkray bench [--steps N]',
  options: { steps: { type: 'string', arg: 'N', default: '100', help: 'training steps timed (batch 128)' } },
  async run(ctx) {
    const { values, out } = ctx;
    const steps = numberOf(values, 'steps', { integer: true, min: 1, max: 100_000 });
    const device = await ctx.device();
    out.log(`device: ${formatDescription(device.describe())}`);
    const random = new Random(1);
    const gemms: Record<string, unknown>[] = [];
    for (const [name, M, N, K, transA, transB] of [
      ['forward  128x300x784', 128, 300, 784, false, false],
      ['grad W   784x300x128', 784, 300, 128, true, false],
      ['grad X   128x784x300', 128, 784, 300, false, true],
      ['square 512', 512, 512, 512, false, false],
    ] as const) {
      const a = device.tensor(
        Float32Array.from({ length: M * K }, () => random.uniform(-1, 1)),
        transA ? [K, M] : [M, K],
      );
      const b = device.tensor(
        Float32Array.from({ length: K * N }, () => random.uniform(-1, 1)),
        transB ? [N, K] : [K, N],
      );
      const c = device.empty([M, N]);
      const time = async (variant: 'auto' | 'naive') => {
        const reps = Math.max(2, Math.round(2e8 / (2 * M * N * K)));
        gemm(a, b, { transA, transB, out: c, variant });
        await device.sync();
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) gemm(a, b, { transA, transB, out: c, variant });
        await device.sync();
        return (2 * M * N * K * reps) / ((performance.now() - t0) / 1000) / 1e9;
      };
      const ours = await time('auto');
      const naive = await time('naive');
      const version = autoVariant(M, N, K, transA, transB, !device.cpuFallback);
      out.log(`GEMM ${name.padEnd(22)} ${version?.padEnd(10)} ${ours.toFixed(2).padStart(8)} GFLOP/s, naive ${naive.toFixed(2).padStart(7)} (${(ours / naive).toFixed(1)}x)`);
      gemms.push({ shape: name, version, gflops: ours, naiveGflops: naive });
      a.dispose(), b.dispose(), c.dispose();
    }
    const train = loadMnist('train', { limit: Math.min(60_000, steps * 128 + 1280) });
    const model = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
    const rows = Uint32Array.from({ length: steps * 128 }, (_, i) => i % train.rows);
    await fit(model, train, { epochs: 1, batchSize: 128, learningRate: 0.05, rows: rows.subarray(0, 1280) });
    const t0 = performance.now();
    await fit(model, train, { epochs: 1, batchSize: 128, learningRate: 0.05, rows });
    const trainRate = rows.length / ((performance.now() - t0) / 1000);
    const test = loadMnist('test');
    await model.predict(test.features);
    const t1 = performance.now();
    await model.predict(test.features);
    const inferRate = test.rows / ((performance.now() - t1) / 1000);
    out.log(`training LeNet-300-100, batch 128: ${trainRate.toFixed(0)} samples/s; inference: ${inferRate.toFixed(0)} images/s`);
    out.result({ device: device.describe(), gemm: gemms, trainingSamplesPerSecond: trainRate, inferenceImagesPerSecond: inferRate });
    model.dispose();
  },
};
