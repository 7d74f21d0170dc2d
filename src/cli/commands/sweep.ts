/** shrinkray sweep CONFIG.json: training configurations x folds, in process or on queue workers. */
import { readFileSync } from 'node:fs';
import { queueSweepRunner } from '../../queue/coordinator.js';
import { GpuDataset } from '../../data/gpu-dataset.js';
import { expandSweep, inProcessSweepRunner, type SweepSpec, type SweepTrialResult, summarize, sweepFolds } from '../../validate/sweep.js';
import { UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadCvRows } from '../data.js';
import { QUEUE_OPTION, queueOf } from '../queue.js';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'cross-validate a grid or list of training configurations, here or on queue workers',
  usage: 'shrinkray sweep CONFIG.json [--data ...] [--queue redis://HOST:PORT]',
  description:
    'CONFIG.json: {"grid": {"layers": [[64], [128, 64]], "learningRate": [0.05, 0.1], "epochs": [5], "batchSize": [64]},\n"folds": 3, "seed": 1} or {"configurations": [{"layers": [64], "learningRate": 0.05, "epochs": 5, "batchSize": 64}], "folds": 3}.\nEach configuration is trained on each fold of a stratified k-fold split (shuffled with the seed) and scored on\nthe rest; CSV features are standardized inside each fold. With --queue the trials go to `shrinkray worker`s;\nthe results are the same as here, in trial order.',
  positionals: 1,
  options: { ...DATA_OPTIONS, ...QUEUE_OPTION },
  async run(ctx) {
    const { values, out, positionals } = ctx;
    if (!positionals[0]) throw new UsageError('sweep needs a CONFIG.json (shrinkray sweep --help shows its form)');
    let spec: SweepSpec;
    try {
      spec = JSON.parse(readFileSync(positionals[0]!, 'utf8'));
    } catch (e) {
      throw new UsageError(`${positionals[0]}: not a readable JSON sweep (${(e as Error).message})`);
    }
    const trials = expandSweep(spec); // every configuration checked before anything is queued
    const queue = queueOf(values);
    const data = loadCvRows(values);
    const all = data.rows;
    if (!all.labels) throw new UsageError('sweep scores accuracy: it needs classification data');
    const bar = out.progress(`sweep, ${trials.length} trials`, trials.length, 'trials');
    let finished = 0;
    const t0 = performance.now();
    const onResult = () => bar.update(++finished);
    let results: SweepTrialResult[];
    if (queue) {
      let lastCounts = '';
      const runner = queueSweepRunner(queue, all, spec, {
        standardize: data.csv,
        onCounts: (c) => {
          const line = `queue: ${c.waiting} waiting, ${c.active} active, ${c.completed} done, ${c.failed} failed`;
          if (!out.interactive && line !== lastCounts) out.log((lastCounts = line));
        },
      });
      results = await runner.run(trials, onResult);
    } else {
      const device = await ctx.device();
      const gpu = new GpuDataset(device, all);
      try {
        results = await inProcessSweepRunner({ device, data: gpu, folds: sweepFolds(all, spec), seed: spec.seed ?? 1, standardize: data.csv }).run(trials, onResult);
      } finally {
        gpu.dispose();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    bar.done(`${trials.length} trials in ${seconds.toFixed(1)} s`);
    const summary = summarize(trials, results);
    for (const [i, s] of summary.entries())
      out.log(
        `${String(i).padStart(3)}  ${JSON.stringify(s.configuration)}  accuracy ${(s.meanAccuracy * 100).toFixed(2)} % ± ${(s.stdAccuracy * 100).toFixed(2)} (${s.folds} folds${s.failed ? `, ${s.failed} failed` : ''})`,
      );
    for (const r of results) if (r.error) out.warn(`trial ${r.id} (configuration ${r.configurationIndex}, fold ${r.fold}) failed: ${r.error}`);
    out.result({ trials: results, summary, seconds, queue: queue ?? null });
  },
};
