/**
 * A worker: takes trials off the queue one at a time (concurrency 1 per device by default), with
 * its own WebGPU device. Contexts are fetched by hash and kept (the last two), so the data set and
 * model cross the network once per worker. BullMQ holds a lock on each active job; a worker that
 * dies stops renewing it, and after lockDuration the job is stalled and handed to another worker.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Device } from '../gpu/device.js';
import { getBlob } from './blobs.js';
import { bullmq, connectionOf, QUEUE_NAME } from './connection.js';
import type { QueueJob } from './coordinator.js';
import { type LoadedContext, loadContext } from './kinds.js';

export interface WorkerOptions {
  /** The worker's name in BullMQ (job.processedBy); default host and process id. */
  name?: string;
  concurrency?: number;
  /** Milliseconds a job's lock lasts without renewal (default 30 000, BullMQ's); stalled jobs are checked every stalledInterval (default the same). */
  lockDuration?: number;
  stalledInterval?: number;
  onJob?: (line: string) => void;
}

export interface RunningWorker {
  close(): Promise<void>;
}

const KEPT_CONTEXTS = 2;

export async function startWorker(url: string, device: Device, options: WorkerOptions = {}): Promise<RunningWorker> {
  const { Worker } = await bullmq();
  const connection = connectionOf(url);
  const contexts = new Map<string, Promise<LoadedContext>>();
  let redis: Redis | undefined;
  const contextOf = (job: QueueJob) => {
    let c = contexts.get(job.context.hash);
    if (!c) {
      c = (async () => {
        const blobs: Record<string, Uint8Array> = {};
        for (const [role, hash] of Object.entries(job.context.blobs)) blobs[role] = await getBlob(redis!, hash);
        return loadContext(job.kind, device, blobs, job.context.json);
      })();
      c.catch(() => contexts.delete(job.context.hash));
      contexts.set(job.context.hash, c);
      // Evict the oldest contexts no trial is using; one in use is disposed when its last trial ends.
      for (const [hash, loaded] of contexts) {
        if (contexts.size <= KEPT_CONTEXTS) break;
        if (hash === job.context.hash) continue;
        contexts.delete(hash);
        if (!inUse.get(hash)) void loaded.then((l) => l.dispose()).catch(() => {});
      }
    }
    return c;
  };
  const inUse = new Map<string, number>();
  const runOn = async (job: QueueJob) => {
    const hash = job.context.hash;
    inUse.set(hash, (inUse.get(hash) ?? 0) + 1);
    const loading = contextOf(job);
    try {
      return await (await loading).run(job.trial);
    } finally {
      const left = inUse.get(hash)! - 1;
      if (left > 0) inUse.set(hash, left);
      else {
        inUse.delete(hash);
        if (contexts.get(hash) !== loading) void loading.then((l) => l.dispose()).catch(() => {}); // evicted while in use
      }
    }
  };
  const worker = new Worker<QueueJob>(
    QUEUE_NAME,
    async (job) => {
      const t0 = performance.now();
      const result = await runOn(job.data);
      options.onJob?.(`${job.data.kind} trial ${job.data.trial.id} (job ${job.id}, attempt ${job.attemptsMade + 1}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      return result;
    },
    {
      connection,
      name: options.name ?? `${hostname()}-${process.pid}`,
      concurrency: options.concurrency ?? 1,
      ...(options.lockDuration ? { lockDuration: options.lockDuration } : {}),
      ...(options.stalledInterval ? { stalledInterval: options.stalledInterval } : {}),
      maxStalledCount: 5, // a worker too busy to renew its lock in time is not a dead one
      autorun: false, // the blob client first
    },
  );
  redis = (await worker.client) as unknown as Redis;
  worker.on('error', () => {}); // connection errors while Redis restarts: ioredis reconnects
  void worker.run();
  return {
    async close() {
      await worker.close();
      for (const c of contexts.values()) void c.then((l) => l.dispose()).catch(() => {});
      contexts.clear();
    },
  };
}
