/** shrinkray worker: takes trials (sweeps, automated compression) off a Redis queue until stopped. */
import { startWorker } from '../../queue/worker.js';
import { numberOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { QUEUE_OPTION, queueOf } from '../queue.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run trials from a Redis queue (sweep, auto --queue) on this machine until stopped',
  usage: 'shrinkray worker --queue redis://HOST:PORT [--concurrency 1]',
  description:
    "Opens its own WebGPU device and takes one trial at a time (--concurrency more). Data sets and models\narrive through Redis by content hash, once per worker. A worker killed mid-trial loses only that trial's\nwork: after --lock-ms without a heartbeat the job goes to another worker. Ctrl-C or SIGTERM finish the\ncurrent trial and stop.",
  options: {
    ...QUEUE_OPTION,
    concurrency: { type: 'string', arg: 'N', default: '1', help: 'trials at once on this device' },
    'lock-ms': { type: 'string', arg: 'MS', default: '30000', help: "how long a job stays with a silent worker before it is handed on (BullMQ's lock)" },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const queue = queueOf(values);
    if (!queue) throw new UsageError('worker needs --queue redis://HOST:PORT (or SHRINKRAY_QUEUE)');
    const concurrency = numberOf(values, 'concurrency', { integer: true, min: 1, max: 64 });
    const lockDuration = numberOf(values, 'lock-ms', { integer: true, min: 500, max: 3_600_000 });
    const device = await ctx.device();
    const worker = await startWorker(queue, device, { concurrency, lockDuration, stalledInterval: lockDuration, onJob: (line) => out.log(line) });
    out.log(`worker: waiting for trials on ${queue} (${device.describe().adapter})`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await worker.close();
    out.log('worker: stopped');
  },
};
