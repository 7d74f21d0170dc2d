/**
 * What a study tells its user while it runs: lines, and progress bars over long tasks. The CLI's
 * Output draws bars on a terminal and plain lines elsewhere; SILENT says nothing.
 */
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Model } from '../nn/model.js';
import { fit, type FitOptions } from '../nn/train.js';
import type { TrainingRun } from './report.js';

export interface Progress {
  /** Sets the work done so far (and the fields shown after the bar). */
  update(done: number, fields?: Record<string, string>): void;
  /** Ends the bar; the summary is printed as a line. */
  done(summary?: string): void;
}

export interface StudyLog {
  /** A line for people. */
  log(line: string): void;
  /** A progress bar over `total` units of `task`. */
  progress(task: string, total: number, unit: string): Progress;
  /** Whether bars are drawn (else a line per epoch shows that a long run moves). */
  readonly interactive: boolean;
}

export const SILENT: StudyLog = { log() {}, progress: () => ({ update() {}, done() {} }), interactive: false };

/** fit with a progress bar over all its batches; returns the run's curves for the report. */
export async function trainWithProgress(out: StudyLog, run: string, model: Model, data: Dataset | GpuDataset, options: FitOptions, test?: Dataset | GpuDataset): Promise<TrainingRun> {
  const rows = data instanceof GpuDataset ? data.data.rows : data.rows;
  const batches = Math.ceil((options.rows?.length ?? rows) / options.batchSize);
  const bar = out.progress(run, options.epochs * batches, 'batches');
  let lastLoss = '';
  const curves: TrainingRun = { run, epochs: [] };
  const history = await fit(model, data, {
    ...options,
    ...(test ? { validationData: test } : {}),
    onBatch: (done, _total, epoch) => bar.update((epoch - 1) * batches + done, { epoch: `${epoch}/${options.epochs}`, ...(lastLoss ? { loss: lastLoss } : {}) }),
    onEpoch: async (e) => {
      lastLoss = e.loss.toFixed(4);
      curves.epochs.push({ epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, seconds: e.seconds, ...(e.valAccuracy !== undefined ? { valAccuracy: e.valAccuracy } : {}) });
      // Without a bar, a line per epoch shows that a long run moves.
      if (!out.interactive)
        out.log(
          `${run}: epoch ${e.epoch}/${options.epochs} loss ${e.loss.toFixed(4)}${e.valAccuracy !== undefined ? ` test accuracy ${(e.valAccuracy * 100).toFixed(2)} %` : ''} (${e.seconds.toFixed(1)} s)`,
        );
      await options.onEpoch?.(e);
    },
  });
  const last = curves.epochs[curves.epochs.length - 1];
  bar.done(
    last
      ? `loss ${last.loss.toFixed(4)}${Number.isNaN(last.accuracy) ? '' : `, training accuracy ${(last.accuracy * 100).toFixed(2)} %`}${last.valAccuracy !== undefined ? `, test accuracy ${(last.valAccuracy * 100).toFixed(2)} %` : ''}`
      : undefined,
  );
  if (history.aborted) out.log(`${run}: stopped early`);
  return curves;
}
