/**
 * BENCH_ONLY=queue npm run bench: a sweep of 24 small trials (4 configurations x 6 folds of a
 * 3,000-row problem) in process, then on a local Redis (Debian's redis-server, started here on a
 * free port) with 1 and with 2 CLI workers, fresh seeds each time so no result is reused, each
 * runner warmed by one untimed sweep first. The queue's overhead per trial is (1 worker - in
 * process) / 24: context upload, job dispatch, result return. Worker start-up is not timed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { queueSweepRunner } from '../src/queue/coordinator.js';
import { Random } from '../src/random.js';
import { expandSweep, inProcessSweepRunner, type SweepSpec, sweepFolds } from '../src/validate/sweep.js';
import { benchDevice, fmt } from './common.js';
import { freePort, startRedis } from '../test/local-redis.js';

function problem(rows: number, cols: number, seed: number) {
  const r = new Random(seed);
  const features = Float32Array.from({ length: rows * cols }, () => r.uniform(-1, 1));
  const labels = Int32Array.from({ length: rows }, (_, i) => Math.min(3, Math.floor(((Math.atan2(features[i * cols + 1]!, features[i * cols]!) + Math.PI) / (2 * Math.PI)) * 4)));
  return { features, rows, cols, labels, classes: 4 };
}

export async function benchQueue(): Promise<void> {
  const device = await benchDevice();
  const data = problem(3000, 32, 1);
  const spec = (seed: number): SweepSpec => ({ grid: { layers: [[64], [128, 64]], learningRate: [0.02, 0.05], epochs: [8], batchSize: [64] }, folds: 6, seed });
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-queue-bench-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = await startRedis(port, dir, { durable: false }); // as measured: nothing written to disk
  const workers: ChildProcess[] = [];
  const startWorker = () =>
    new Promise<void>((resolve) => {
      const w = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', url], { env: { ...process.env, SHRINKRAY_NATIVE_LOGS: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
      w.stdout!.once('data', () => resolve());
      workers.push(w);
    });
  try {
    // Each runner first sweeps once untimed (pipelines compiled, contexts loaded), then the timed
    // sweep with a fresh seed, so no finished job is reused.
    const gpu = new GpuDataset(device, data);
    await inProcessSweepRunner({ device, data: gpu, folds: sweepFolds(data, spec(1)), seed: 1 }).run(expandSweep(spec(1)));
    const s0 = spec(2);
    const here = inProcessSweepRunner({ device, data: gpu, folds: sweepFolds(data, s0), seed: 2 });
    const t0 = performance.now();
    await here.run(expandSweep(s0));
    const inProcess = (performance.now() - t0) / 1000;
    gpu.dispose();
    const timed: [string, number][] = [['in process', inProcess]];
    for (const count of [1, 2]) {
      while (workers.length < count) await startWorker();
      await queueSweepRunner(url, data, spec(10 + count)).run(expandSweep(spec(10 + count)));
      const s = spec(20 + count);
      const t = performance.now();
      await queueSweepRunner(url, data, s).run(expandSweep(s));
      timed.push([`${count} worker${count > 1 ? 's' : ''}`, (performance.now() - t) / 1000]);
    }
    const trials = expandSweep(s0).length;
    const local = inProcess;
    console.log(`\nsweep of ${trials} trials (4 configurations x 6 folds, 3,000 rows x 32 features, 8 epochs each)`);
    console.log('| runner | seconds | trials/s | vs in process |');
    console.log('|---|---:|---:|---:|');
    for (const [name, sec] of timed) console.log(`| ${name} | ${fmt(sec)} | ${fmt(trials / sec)} | ${fmt(local / sec)}x |`);
    console.log(`queue overhead per trial (1 worker - in process) / ${trials}: ${fmt(((timed[1]![1] - local) / trials) * 1000, 0)} ms`);
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    redis.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
    device.destroy();
  }
}
