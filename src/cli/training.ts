/** Training from the command line: the shared options, and fit with a progress bar per run. */
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { MLP } from '../nn/mlp.js';
import { fit, type FitOptions } from '../nn/train.js';
import { choiceOf, numberOf, type Options, type Values } from './args.js';
import type { Output } from './output.js';
import type { TrainingRun } from './report.js';

export const TRAIN_OPTIONS: Options = {
  epochs: { type: 'string', arg: 'N', help: 'training epochs' },
  'batch-size': { type: 'string', arg: 'N', default: '64', help: 'mini-batch size' },
  lr: { type: 'string', arg: 'RATE', help: 'learning rate' },
  optimizer: { type: 'string', arg: 'NAME', default: 'sgd', help: 'sgd (Nesterov momentum 0.9), adam or adamw' },
  'weight-decay': { type: 'string', arg: 'L2', default: '0.00005', help: 'weight decay' },
};

/** Fit options from the command line; `defaults` fill epochs and lr when they are not given. */
export function fitOptionsOf(values: Values, defaults: { epochs: number; lr: number }): FitOptions {
  const epochs = values.epochs === undefined ? defaults.epochs : numberOf(values, 'epochs', { integer: true, min: 1, max: 100_000 });
  const learningRate = values.lr === undefined ? defaults.lr : numberOf(values, 'lr', { min: 0, exclusiveMin: true, max: 10 });
  const batchSize = numberOf(values, 'batch-size', { integer: true, min: 1, max: 65_536 });
  const weightDecay = numberOf(values, 'weight-decay', { min: 0, max: 1 });
  const type = choiceOf(values, 'optimizer', ['sgd', 'adam', 'adamw'] as const);
  const optimizer = type === 'sgd' ? ({ type, momentum: 0.9, nesterov: true, weightDecay } as const) : ({ type, weightDecay } as const);
  const seed = numberOf(values, 'seed', { integer: true, min: 0 });
  return { epochs, batchSize, learningRate, optimizer, schedule: { type: 'cosine', total: epochs }, seed };
}

/** fit with a progress bar over all its batches; returns the run's curves for the report. */
export async function trainWithProgress(out: Output, run: string, model: MLP, data: Dataset | GpuDataset, options: FitOptions, test?: Dataset | GpuDataset): Promise<TrainingRun> {
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
        out.log(`${run}: epoch ${e.epoch}/${options.epochs} loss ${e.loss.toFixed(4)}${e.valAccuracy !== undefined ? ` test accuracy ${(e.valAccuracy * 100).toFixed(2)} %` : ''} (${e.seconds.toFixed(1)} s)`);
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
