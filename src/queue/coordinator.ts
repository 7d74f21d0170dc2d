/**
 * The coordinator's side of a queue: a Runner that stores a context's blobs once, adds one BullMQ
 * job per trial (job id = context hash and trial id, so a trial is queued once however often it is
 * asked for, and a finished one is not run again), waits for each to complete, and returns the
 * results in trial order, whatever order the workers finished them in. A job that failed for
 * good (after its retries) rejects the run unless the kind records failures itself.
 */
import type { Redis } from 'ioredis';
import type { TrialContext, TrialRunner } from '../auto/trial.js';
import type { Dataset } from '../data/dataset.js';
import type { Runner, SweepSpec, SweepTrial, SweepTrialResult } from '../validate/sweep.js';
import { putBlob } from './blobs.js';
import { bullmq, connectionOf, QUEUE_NAME } from './connection.js';
import type { FoldResult } from '../validate/cross-validate.js';
import type { CvPlan } from '../validate/cv-plan.js';
import { type ContextRef, contextHash, decodeAutoResult, encodeAutoTrial, type KindName, type PackedContext, packAuto, packCv, packSweep } from './kinds.js';

export interface QueueCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
}

export interface QueueRunnerOptions {
  /** Called about once a second while trials are out, with the queue's job counts (every run's jobs on it). */
  onCounts?: (counts: QueueCounts) => void;
  /** Attempts per trial (default 3): a worker that dies mid-trial costs one. */
  attempts?: number;
}

export interface QueueJob {
  kind: KindName;
  context: ContextRef;
  trial: { id: number };
}

async function runOnQueue<T extends { id: number }, R>(
  url: string,
  kind: KindName,
  pack: () => Promise<PackedContext> | PackedContext,
  trials: T[],
  decode: (json: unknown) => R,
  options: QueueRunnerOptions,
  onResult?: (r: R) => void,
): Promise<R[]> {
  const { Queue, QueueEvents, Job } = await bullmq();
  if (trials.length === 0) return [];
  const connection = connectionOf(url);
  const queue = new Queue<QueueJob>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  try {
    const redis = (await queue.client) as unknown as Redis;
    const packed = await pack();
    const blobs: Record<string, string> = {};
    for (const [role, bytes] of Object.entries(packed.blobs)) blobs[role] = await putBlob(redis, bytes);
    const context: ContextRef = { hash: contextHash(kind, blobs, packed.json), blobs, json: packed.json };
    const jobId = (id: number) => `${context.hash.slice(0, 32)}-${id}`;
    await events.waitUntilReady();
    await queue.addBulk(
      trials.map((trial) => ({
        name: kind,
        data: { kind, context, trial },
        opts: { jobId: jobId(trial.id), attempts: options.attempts ?? 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } },
      })),
    );
    const pending = new Map(trials.map((t) => [jobId(t.id), t.id]));
    const results = new Map<number, R>();
    return await new Promise<R[]>((resolve, reject) => {
      let settled = false;
      // Events bring results at once; a poll every second catches any an outage swallowed.
      const check = async (id: string) => {
        if (!pending.has(id)) return;
        const job = await Job.fromId(queue, id);
        if (!job || !pending.has(id)) return;
        const state = await job.getState();
        if (state === 'completed') finish(id, job.returnvalue);
        // BullMQ moves a job to 'failed' only when it will not run again (attempts spent, or stalled too often).
        else if (state === 'failed') fail(new Error(`trial ${pending.get(id)} failed: ${job.failedReason}`));
      };
      let lastEvent = Date.now();
      const finish = (id: string, value: unknown) => {
        lastEvent = Date.now();
        const trial = pending.get(id);
        if (trial === undefined || settled) return;
        pending.delete(id);
        const r = decode(typeof value === 'string' ? JSON.parse(value) : value);
        results.set(trial, r);
        onResult?.(r);
        if (pending.size === 0) done();
      };
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        reject(e);
      };
      const done = () => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        resolve(trials.map((t) => results.get(t.id)!));
      };
      events.on('completed', ({ jobId: id, returnvalue }) => finish(id, returnvalue));
      events.on('failed', ({ jobId: id }) => void check(id).catch(() => {}));
      const timer = setInterval(() => {
        // Polled only when events have been quiet for a while (an outage may have swallowed some).
        const quiet = Date.now() - lastEvent > 2000;
        void Promise.all(quiet ? [...pending.keys()].map((id) => check(id)) : [])
          .then(async () => {
            if (!options.onCounts || settled) return;
            const c = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed');
            options.onCounts({ waiting: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 });
          })
          .catch(() => {}); // Redis away for a moment: the next tick tries again
      }, 1000);
      for (const id of pending.keys()) void check(id).catch(() => {});
    });
  } finally {
    await events.close();
    await queue.close();
  }
}

/** Sweep trials on the queue at `url`. */
export function queueSweepRunner(url: string, data: Dataset, spec: SweepSpec, options: QueueRunnerOptions & { standardize?: boolean } = {}): Runner<SweepTrial, SweepTrialResult> {
  return {
    run: (trials, onResult) =>
      runOnQueue(
        url,
        'sweep',
        () => packSweep(data, spec, !!options.standardize),
        trials,
        (j) => j as SweepTrialResult,
        options,
        onResult,
      ),
  };
}

/** autoCompress's trials on the queue at `url`: pass as autoCompress's `runner` option. */
export function queueAutoRunner(url: string, options: QueueRunnerOptions = {}): (context: TrialContext) => TrialRunner {
  return (context) => {
    let packed: PackedContext | undefined;
    return { run: async (trials) => runOnQueue(url, 'auto', async () => (packed ??= await packAuto(context)), trials.map(encodeAutoTrial), decodeAutoResult, options) };
  };
}

/** Cross-validation folds on the queue at `url` (trial id = fold). */
export function queueCvRunner(url: string, data: Dataset, plan: CvPlan, options: QueueRunnerOptions = {}): Runner<{ id: number }, FoldResult> {
  return {
    run: (folds, onResult) =>
      runOnQueue(
        url,
        'cv',
        () => packCv(data, plan),
        folds,
        (j) => j as FoldResult,
        options,
        onResult,
      ),
  };
}
