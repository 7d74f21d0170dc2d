/**
 * Trials on BullMQ workers over Redis (src/queue): Debian's redis-server on a free loopback port
 * in a temporary folder, worker processes of the CLI, and a sweep whose results must equal the
 * in-process ones, with a worker killed (SIGKILL) in the middle of a trial, with Redis restarted
 * during a sweep, with trials that throw, and a bad configuration refused before anything is
 * queued. Automated compression's trials go through the same queue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoCompress, holdOut } from '../src/auto/auto-compress.js';
import { candidateKey } from '../src/auto/candidate.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { connectionOf, QUEUE_NAME } from '../src/queue/connection.js';
import { queueAutoRunner, queueCvRunner, queueSweepRunner } from '../src/queue/coordinator.js';
import { type CvPlan, cvContext, inProcessCvRunner } from '../src/validate/cv-plan.js';
import { expandSweep, inProcessSweepRunner, type SweepSpec, type SweepTrialResult, sweepFolds } from '../src/validate/sweep.js';
import { useDevice } from './helpers.js';
import { freePort, startRedis } from './local-redis.js';
import { toyData } from './toy-data.js';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-queue-'));
let port = 0;
let url = '';
let redis: ChildProcess | undefined;
const workers: ChildProcess[] = [];

/** A CLI worker in one process (SHRINKRAY_NATIVE_LOGS=1: no notice filter, so its pid is the worker's). */
function startWorker(): ChildProcess & { lines: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', url, '--lock-ms', '5000'], {
    env: { ...process.env, SHRINKRAY_NATIVE_LOGS: '1', SHRINKRAY_BACKEND: 'llvmpipe' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { lines: string[] };
  child.lines = [];
  child.stdout!.on('data', (d: Buffer) => child.lines.push(...d.toString().split('\n').filter(Boolean)));
  workers.push(child);
  return child;
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const data = toyData(600, 12, 3, 21);
const spec = (seed: number, epochs = 15): SweepSpec => ({ grid: { layers: [[16], [32, 16]], learningRate: [0.05, 1e30], epochs: [epochs], batchSize: [32] }, folds: 3, seed });
const comparable = (r: SweepTrialResult[]) => r.map((t) => [t.id, t.configurationIndex, t.fold, t.accuracy, t.loss, t.error]);

beforeAll(async () => {
  port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = await startRedis(port, dir);
}, 20_000);

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('trials on BullMQ workers', () => {
  const ctx = useDevice('llvmpipe');
  const local = async (s: SweepSpec) => {
    const gpu = new GpuDataset(ctx.device, data);
    try {
      return await inProcessSweepRunner({ device: ctx.device, data: gpu, folds: sweepFolds(data, s), seed: s.seed! }).run(expandSweep(s));
    } finally {
      gpu.dispose();
    }
  };

  it('a sweep on two workers gives the in-process results, trial by trial, failures included', async () => {
    const a = startWorker();
    const b = startWorker();
    await waitFor('two workers', () => a.lines.length > 0 && b.lines.length > 0);
    const s = spec(5);
    const queued = await queueSweepRunner(url, data, s).run(expandSweep(s));
    expect(comparable(queued)).toEqual(comparable(await local(s)));
    expect(queued.filter((r) => r.error).map((r) => r.configurationIndex)).toEqual([1, 1, 1, 3, 3, 3]); // learning rate 1e30 diverges, recorded
    expect(queued.filter((r) => r.error)[0]!.error).toMatch(/loss stopped being finite/);
    // Both workers took trials.
    expect([a, b].every((w) => w.lines.some((l) => l.startsWith('sweep trial')))).toBe(true);
  }, 120_000);

  it('a worker killed in the middle of a trial: the job goes to the other worker, every trial once, the same results', async () => {
    const s = spec(6, 150); // long trials, so a worker is caught in one
    const queue = new Queue(QUEUE_NAME, { connection: connectionOf(url) });
    const running = queueSweepRunner(url, data, s).run(expandSweep(s));
    const [a] = workers;
    // Wait until worker a holds an active job, then kill it without warning.
    let victim: string | undefined;
    await waitFor('an active job on worker a', async () => {
      const active = await queue.getJobs(['active']);
      victim = active.find((j) => j.processedBy?.endsWith(`-${a!.pid}`))?.id;
      return !!victim;
    });
    a!.kill('SIGKILL');
    const queued = await running;
    expect(comparable(queued)).toEqual(comparable(await local(s)));
    expect(new Set(queued.map((r) => r.id)).size).toBe(queued.length);
    const job = await Job.fromId(queue, victim!);
    expect(job!.processedBy).not.toBe(`${a!.pid}`); // finished by the survivor
    expect(job!.processedBy?.endsWith(`-${workers[1]!.pid}`)).toBe(true);
    await queue.close();
  }, 180_000);

  it('Redis restarting during a sweep: coordinator and worker reconnect and finish with the same results', async () => {
    const s = spec(7, 60);
    const running = queueSweepRunner(url, data, s).run(expandSweep(s));
    await new Promise((r) => setTimeout(r, 1500));
    await new Promise<void>((resolve) => {
      redis!.once('exit', () => resolve());
      redis!.kill('SIGTERM'); // a clean shutdown writes the append-only file
    });
    await new Promise((r) => setTimeout(r, 1000));
    redis = await startRedis(port, dir);
    const queued = await running;
    expect(comparable(queued)).toEqual(comparable(await local(s)));
  }, 180_000);

  it('cross-validation folds on the worker: the in-process scores, standardized and pruned in each fold', async () => {
    const plan: CvPlan = {
      hidden: [16],
      outputs: 3,
      fit: { epochs: 10, batchSize: 32, learningRate: 0.05, seed: 3 },
      method: 'stratified',
      folds: 4,
      shuffle: true,
      seed: 3,
      sparsity: 0.5,
      standardize: true,
    };
    const trials = [0, 1, 2, 3].map((id) => ({ id }));
    const queued = await queueCvRunner(url, data, plan).run(trials);
    const context = cvContext(ctx.device, data, plan);
    const here = await inProcessCvRunner(context).run(trials);
    expect(queued.map((f) => [f.fold, f.trainRows, f.testRows, f.scores])).toEqual(here.map((f) => [f.fold, f.trainRows, f.testRows, f.scores]));
    expect(here[0]!.scores.accuracy).toBeGreaterThan(0.5);
    context.shared?.dispose();
  }, 120_000);

  it('a bad configuration is refused before anything is queued', async () => {
    const queue = new Queue(QUEUE_NAME, { connection: connectionOf(url) });
    const before = await queue.count();
    expect(() => expandSweep({ grid: { layers: [[16]], learningRate: [0.1], epochs: [0], batchSize: [8] }, folds: 3 })).toThrow(/epochs must be a whole number/);
    expect(() => expandSweep({ configurations: [{ layers: [16], learningRate: 0.1, epochs: 1, batchSize: 8 }], folds: 1 })).toThrow(/folds/);
    expect(() => expandSweep({ folds: 3 } as SweepSpec)).toThrow(/either grid .* or configurations/);
    expect(await queue.count()).toBe(before);
    await queue.close();
  });

  it("automated compression's trials on the worker: the same trials and choice as in process", async () => {
    const train = toyData(800, 16, 3, 31);
    const model = MLP.create(ctx.device, [16, 24, 12, 3], { seed: 2 });
    const fitOptions = { epochs: 10, batchSize: 50, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 } as const;
    await fit(model, train, { ...fitOptions, rows: holdOut(train, 0.2, 1).fitRows });
    const options = { maxAccuracyDrop: 0.02, validation: 0.2, fineTune: { ...fitOptions, epochs: 1 }, pruneEpochs: 2, budgetMinutes: 2 };
    const here = await autoCompress(model, train, options);
    const there = await autoCompress(model, train, { ...options, runner: queueAutoRunner(url) });
    // The search ends by itself in about 15 s here; a run cut by its time budget (a loaded machine) would compare different searches.
    expect([here.stopped, there.stopped]).toEqual(['done', 'done']);
    expect(there.trials.map((t) => [candidateKey(t.candidate), t.validationAccuracy, t.bytes])).toEqual(here.trials.map((t) => [candidateKey(t.candidate), t.validationAccuracy, t.bytes]));
    expect(there.file).toEqual(here.file);
    for (const m of [model, here.model, there.model]) m.dispose();
  }, 240_000);
});
