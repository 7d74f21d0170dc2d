/**
 * fit: the training loop. The dataset is uploaded once; each epoch uploads one shuffled index
 * (seeded), and every mini-batch is gathered, run forward and backward, and stepped on the GPU.
 * Loss and accuracy accumulate on the GPU and are read once per epoch. What a feature adds to
 * training (pruning schedules, quantization-aware training, distillation, early stopping, weight
 * sharing) is a hook (hooks.ts) living with the feature.
 */
import { InvalidArgumentError, TrainingDivergedError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Dataset } from '../data/dataset.js';
import { lossDivisor, newStats, STATS, type LossKind } from '../kernels/loss.js';
import { Optimizer, scheduledRate, type OptimizerConfig, type Schedule } from '../kernels/optim.js';
import { Random } from '../random.js';
import { earlyStoppingHook, type EarlyStopping } from './early-stopping.js';
import { evaluate } from './evaluate.js';
import { accuracyOf, checkFit, checkNormBatches, defaultLoss, rowsOf } from './fit-checks.js';
import type { TrainingHook, TrainingRun } from './hooks.js';
import { weightSharingHook } from './sharing.js';
import { distillationHook, type Distillation } from './teacher.js';
import type { Model } from './model.js';

export interface EpochReport {
  epoch: number;
  loss: number;
  /** NaN for regression (mse) and for unlabelled data. */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  learningRate: number;
}

export interface History {
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  seconds: number[];
  /** True when the signal stopped training before the last epoch. */
  aborted: boolean;
  /** With early stopping: the epoch (1-based) whose weights the model ends with, and whether training stopped early. */
  bestEpoch?: number;
  stoppedEarly?: boolean;
}

export type { EarlyStopping };

export interface FitOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Default SGD without momentum. */
  optimizer?: OptimizerConfig;
  /** Learning rate by epoch; default constant. */
  schedule?: Schedule;
  /** Default softmaxCrossEntropy for labelled data, mse for targets. */
  loss?: LossKind;
  labelSmoothing?: number;
  /** Seeds the shuffling (default 0). Initialization has its own seed (MLP.create). */
  seed?: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Train on these rows of the data only (cross-validation folds); default all rows. */
  rows?: ArrayLike<number>;
  /** Held-out data scored after every epoch... */
  validationData?: Dataset | GpuDataset;
  /** ...or a fraction (0, 1) of the training rows held out for it: the last rows, before shuffling (as Keras). */
  validationSplit?: number;
  /** Stop when the validation metric stops improving (needs validationData or validationSplit). */
  earlyStopping?: EarlyStopping;
  /**
   * Training hooks, run in this order after fit's own: gradualPruning(...) and
   * quantizationAware(...) from compress, or your own (hooks.ts). A model whose layers share
   * weights (k-means) needs none: fit trains the shared values with the gradients summed per
   * cluster (Han et al. 2016).
   */
  hooks?: TrainingHook[];
  /**
   * Knowledge distillation from a teacher with the same inputs and outputs (Hinton et al. 2015):
   * the loss is alpha T^2 KL(teacher || student at temperature T) + (1 - alpha) cross-entropy.
   * alpha = 1 needs no labels (an unlabelled transfer set). The teacher's logits are computed
   * once for all rows and gathered per batch (cacheTeacher, default true), or per batch.
   */
  distillation?: Distillation;
  onEpoch?: (report: EpochReport) => void | Promise<void>;
  /** Called every few batches (for progress bars) with batches done and batches per epoch. */
  onBatch?: (done: number, total: number, epoch: number) => void;
  /** Stops training between two batches; the model is left with the last completed step. */
  signal?: AbortSignal;
}

/** GPU work is submitted and awaited every this many batches, so aborts and progress are prompt. */
const SYNC_EVERY = 16;

/** Options that became hooks: a clear error instead of being ignored. */
const MOVED: Record<string, string> = {
  pruning: "hooks: [gradualPruning({ ... })] (import gradualPruning from 'shrinkray')",
  quantization: "hooks: [quantizationAware({ bits, ... })] (import quantizationAware from 'shrinkray')",
};

/** fit's own hooks for its options, then the caller's. */
function hooksOf(model: Model, options: FitOptions): TrainingHook[] {
  for (const [name, instead] of Object.entries(MOVED)) if (name in options) throw new InvalidArgumentError(`fit's '${name}' option is now a training hook: ${instead}.`);
  return [
    ...(options.distillation ? [distillationHook(options.distillation)] : []),
    ...(options.earlyStopping ? [earlyStoppingHook(options.earlyStopping)] : []),
    ...[weightSharingHook(model)].filter((h) => h !== undefined),
    ...(options.hooks ?? []),
  ];
}

/** Trains `model` on `data`; returns the history. Throws TrainingDivergedError if the loss stops being finite. */
export async function fit(model: Model, data: Dataset | GpuDataset, options: FitOptions): Promise<History> {
  const device = model.device;
  const raw = data instanceof GpuDataset ? data.data : data;
  const loss = options.loss ?? defaultLoss(raw);
  let order = rowsOf(options.rows, raw.rows);
  let valRows: Uint32Array | undefined;
  if (options.validationSplit !== undefined) {
    const held = Math.ceil(order.length * options.validationSplit);
    if (held < 1 || held >= order.length) throw new InvalidArgumentError(`validationSplit ${options.validationSplit} leaves no rows to train or to validate on.`);
    valRows = order.slice(order.length - held);
    order = order.slice(0, order.length - held);
  }
  checkFit(model, raw, options, loss, order.length);
  checkNormBatches(model, options.batchSize, order.length);
  const valData = options.validationData instanceof GpuDataset ? options.validationData.data : options.validationData;
  if (valData) checkFit(model, valData, { ...options, batchSize: 1, validationSplit: undefined, earlyStopping: undefined }, loss);
  const hooks = hooksOf(model, options);
  const distiller = hooks.find((h) => h.distill);
  const gpuData = data instanceof GpuDataset ? data : new GpuDataset(device, data);
  const n = order.length;
  const optimizer = new Optimizer(options.optimizer ?? { type: 'sgd' });
  const random = new Random(options.seed ?? 0);
  const index = device.tensor(order);
  const stats = newStats(device);
  const workspaces = new Map<number, { bp: ReturnType<Model['backprop']>; y: Tensor }>();
  const workspace = (rows: number) => {
    let w = workspaces.get(rows);
    if (!w) workspaces.set(rows, (w = { bp: model.backprop(rows, loss), y: gpuData.targetTensor(rows) }));
    return w;
  };
  const batches = Math.ceil(n / options.batchSize);
  const history: History = { loss: [], accuracy: [], valLoss: [], valAccuracy: [], seconds: [], aborted: false };
  const run: TrainingRun = { model, data: gpuData, step: 0, epoch: 0, batchesPerEpoch: batches, history };
  try {
    for (const h of hooks) await h.begin?.(run);
    epochs: for (; run.epoch < options.epochs; run.epoch++) {
      const started = performance.now();
      const lr = scheduledRate(options.learningRate, options.schedule ?? { type: 'constant' }, run.epoch);
      if (options.shuffle ?? true) index.write(random.shuffle(order));
      stats.write(new Float32Array([0, 0, -1, 0]));
      for (let b = 0; b < batches; b++) {
        if (options.signal?.aborted) {
          history.aborted = true;
          break epochs;
        }
        const offset = b * options.batchSize;
        const rows = Math.min(options.batchSize, n - offset);
        const { bp, y } = workspace(rows);
        gpuData.batch(index, offset, bp.x, y);
        for (const h of hooks) h.batch?.(bp.x, run);
        for (const h of hooks) h.beforeForward?.(run);
        bp.gradients(y, stats, { step: run.step, seed: options.seed ?? 0, labelSmoothing: options.labelSmoothing, distill: distiller?.distill?.(index, offset, bp.x) });
        optimizer.step(
          hooks.reduce((slots, h) => h.slots?.(slots) ?? slots, bp.slots()),
          lr,
          stats,
        );
        for (const h of hooks) h.afterUpdate?.(run);
        run.step++;
        for (const h of hooks) await h.afterStep?.(run);
        if ((b + 1) % SYNC_EVERY === 0 || b + 1 === batches) {
          await device.sync();
          options.onBatch?.(b + 1, batches, run.epoch);
        }
      }
      const report = await epochReport(run, stats, loss, n, lr, raw.labels !== undefined || raw.targets !== undefined);
      if (options.validationData || valRows) {
        const v = await evaluate(model, options.validationData ?? gpuData, { loss, rows: options.validationData ? undefined : valRows });
        [report.valLoss, report.valAccuracy] = [v.loss, v.accuracy];
        history.valLoss.push(v.loss);
        history.valAccuracy.push(v.accuracy);
      }
      report.seconds = (performance.now() - started) / 1000;
      history.loss.push(report.loss);
      history.accuracy.push(report.accuracy);
      history.seconds.push(report.seconds);
      await options.onEpoch?.(report);
      let stop = false;
      for (const h of hooks) stop = (await h.epochEnd?.(run, report)) === true || stop;
      if (stop) break;
    }
    for (const h of hooks) await h.end?.(run);
    await device.sync();
    return history;
  } finally {
    for (const { bp, y } of workspaces.values()) bp.dispose(), y.dispose();
    for (const h of hooks) h.dispose?.();
    optimizer.dispose();
    index.dispose();
    stats.dispose();
    if (!(data instanceof GpuDataset)) gpuData.dispose();
  }
}

/** The epoch's loss and accuracy, read from the GPU once; a step whose loss was not finite is a TrainingDivergedError. */
async function epochReport(run: TrainingRun, stats: Tensor<'f32'>, loss: LossKind, n: number, learningRate: number, scored: boolean): Promise<EpochReport> {
  const s = await stats.read();
  const badStep = s[STATS.badStep]!;
  if (badStep >= 0) {
    const step = badStep - (run.step - run.batchesPerEpoch) + 1;
    throw new TrainingDivergedError(
      `The loss stopped being finite at epoch ${run.epoch + 1}, step ${step} of ${run.batchesPerEpoch}; ` +
        'the model keeps the weights from the step before. Lower the learning rate or check the data.',
      run.epoch + 1,
      step,
    );
  }
  const outputs = run.model.outputs;
  // No labels, no accuracy.
  return { epoch: run.epoch + 1, loss: s[STATS.lossSum]! / lossDivisor(loss, n, outputs), accuracy: scored ? accuracyOf(loss, s[STATS.correct]!, n, outputs) : NaN, seconds: 0, learningRate };
}
