/**
 * fit / evaluate: the training loop. The dataset is uploaded once; each epoch uploads one
 * shuffled index (seeded), and every mini-batch is gathered, run forward and backward, and
 * stepped on the GPU. Loss and accuracy accumulate on the GPU and are read once per epoch.
 */
import { InvalidArgumentError, ShapeError, TrainingDivergedError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Dataset } from '../data/dataset.js';
import { LOSSES, lossDivisor, lossForward, newStats, STATS, type LossKind } from '../kernels/loss.js';
import { Optimizer, scheduledRate, type OptimizerConfig, type Schedule } from '../kernels/optim.js';
import { Random } from '../random.js';
import { Backprop } from './backprop.js';
import { checkGradual, prunesAt, pruneToSchedule, type GradualPruning } from '../compress/schedule.js';
import { normalizeSpec, type QuantRequest } from './quant-spec.js';
import { FakeQuantTraining } from './qat.js';
import { SharedWeightTraining } from './sharing.js';
import { TeacherLogits, type Distillation } from './teacher.js';
import { BestWeights } from './best-weights.js';
import type { MLP } from './mlp.js';

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

export interface EarlyStopping {
  /** What to watch (default valLoss, lower is better; valAccuracy: higher is better). */
  monitor?: 'valLoss' | 'valAccuracy';
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the weights of the best epoch when training ends (default true). */
  restoreBest?: boolean;
}

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
  /** Gradual magnitude pruning during training (Zhu & Gupta's cubic schedule), by step. */
  pruning?: GradualPruning;
  /**
   * Quantization-aware training: the forward and backward passes use min-max fake-quantized
   * weights, recomputed every step; gradients reach the float weights straight through (STE).
   * When fit ends, the model holds the quantized weights (as after quantizeWeights). Min-max,
   * binary and ternary specs. A model whose layers share weights (k-means) needs no option:
   * fit trains the shared values with the gradients summed per cluster (Han et al. 2016).
   */
  quantization?: QuantRequest;
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

function defaultLoss(data: Dataset): LossKind {
  return data.targets ? 'mse' : 'softmaxCrossEntropy';
}

/** The rows to use: `rows` checked against the data, or all of them. */
function rowsOf(rows: ArrayLike<number> | undefined, total: number): Uint32Array {
  if (!rows) return Uint32Array.from({ length: total }, (_, i) => i);
  const out = Uint32Array.from(rows as ArrayLike<number>);
  if (out.length === 0) throw new InvalidArgumentError('rows is empty: nothing to train or score on.');
  for (let i = 0; i < out.length; i++)
    if (!Number.isInteger((rows as ArrayLike<number>)[i]) || out[i]! >= total) throw new InvalidArgumentError(`rows: ${(rows as ArrayLike<number>)[i]} is not a row of the ${total} rows of data.`);
  return out;
}

/** Checks the model against the data and the options against their ranges, before any GPU work. */
function checkFit(model: MLP, data: Dataset, o: FitOptions, loss: LossKind, rows = data.rows): void {
  if (data.cols !== model.inputs) throw new ShapeError(`The data has ${data.cols} features but the model takes ${model.inputs} inputs.`);
  if (data.labels && data.classes! > model.outputs)
    throw new ShapeError(`The data has ${data.classes} classes but the model has ${model.outputs} outputs.`);
  if (data.targets && data.targetCols !== model.outputs)
    throw new ShapeError(`The data has ${data.targetCols} targets per row but the model has ${model.outputs} outputs.`);
  if (!(LOSSES as readonly string[]).includes(loss)) throw new InvalidArgumentError(`Unknown loss '${loss}' (use ${LOSSES.join(', ')}).`);
  const unlabelledDistillation = !!o.distillation && (o.distillation.alpha ?? 0.5) === 1;
  if (loss === 'softmaxCrossEntropy' && !data.labels && !unlabelledDistillation)
    throw new InvalidArgumentError(data.targets ? 'softmaxCrossEntropy needs labels; use mse or bceLogits for targets.' : 'The data has no labels: give labels, or distil with alpha = 1.');
  const dist = o.distillation;
  if (dist) {
    const { teacher, alpha = 0.5, temperature = 4 } = dist;
    if (teacher.inputs !== model.inputs || teacher.outputs !== model.outputs)
      throw new ShapeError(`The teacher maps ${teacher.inputs} inputs to ${teacher.outputs} outputs, the student ${model.inputs} to ${model.outputs}; they must agree.`);
    if (!(Number.isFinite(temperature) && temperature > 0)) throw new InvalidArgumentError(`distillation temperature must be a positive number, got ${temperature}.`);
    if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`distillation alpha must be in [0, 1], got ${alpha}.`);
    if (loss !== 'softmaxCrossEntropy') throw new InvalidArgumentError('Distillation trains classifiers: use it with softmaxCrossEntropy data (labels, or none with alpha = 1).');
  }
  if (loss !== 'softmaxCrossEntropy' && !data.targets) throw new InvalidArgumentError(`${loss} needs targets; use softmaxCrossEntropy for labels.`);
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new InvalidArgumentError(`epochs must be a positive integer, got ${o.epochs}.`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > rows)
    throw new InvalidArgumentError(`batchSize must be an integer from 1 to the ${rows} rows of data, got ${o.batchSize}.`);
  if (o.validationSplit !== undefined && !(o.validationSplit > 0 && o.validationSplit < 1))
    throw new InvalidArgumentError(`validationSplit must be in (0, 1), got ${o.validationSplit}.`);
  const es = o.earlyStopping;
  if (es) {
    if (!o.validationData && o.validationSplit === undefined) throw new InvalidArgumentError('earlyStopping needs validationData or validationSplit.');
    if (!Number.isInteger(es.patience) || es.patience < 1) throw new InvalidArgumentError(`earlyStopping.patience must be a positive integer, got ${es.patience}.`);
    if (es.monitor && es.monitor !== 'valLoss' && es.monitor !== 'valAccuracy') throw new InvalidArgumentError(`earlyStopping.monitor must be valLoss or valAccuracy, got ${es.monitor}.`);
  }
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0))
    throw new InvalidArgumentError(`learningRate must be a positive finite number, got ${o.learningRate}.`);
  const s = o.schedule;
  if (s?.type === 'step' && !(Number.isInteger(s.every) && s.every >= 1 && s.gamma > 0 && s.gamma <= 1))
    throw new InvalidArgumentError('A step schedule needs every >= 1 (epochs) and gamma in (0, 1].');
  if (s?.type === 'cosine' && !(Number.isInteger(s.total) && s.total >= 1 && (s.min ?? 0) >= 0))
    throw new InvalidArgumentError('A cosine schedule needs total >= 1 (epochs) and min >= 0.');
}

/** Trains `model` on `data`; returns the history. Throws TrainingDivergedError if the loss stops being finite. */
export async function fit(model: MLP, data: Dataset | GpuDataset, options: FitOptions): Promise<History> {
  const device = model.device;
  const raw = data instanceof GpuDataset ? data.data : data;
  const loss = options.loss ?? defaultLoss(raw);
  if (options.pruning) checkGradual(options.pruning);
  const quantization = options.quantization ? normalizeSpec(options.quantization) : undefined;
  if (quantization?.method === 'kmeans')
    throw new InvalidArgumentError('k-means weight sharing is trained after clustering: quantizeWeights(model, { method: \'kmeans\', bits }), then fit fine-tunes the shared values.');
  const sharing = SharedWeightTraining.of(model);
  if (sharing && (options.pruning || quantization)) throw new InvalidArgumentError('A model with shared (k-means) weights trains its shared values only; it cannot be pruned or quantized again while training.');
  let order = rowsOf(options.rows, raw.rows);
  let valRows: Uint32Array | undefined;
  if (options.validationSplit !== undefined) {
    const held = Math.ceil(order.length * options.validationSplit);
    if (held < 1 || held >= order.length) throw new InvalidArgumentError(`validationSplit ${options.validationSplit} leaves no rows to train or to validate on.`);
    valRows = order.slice(order.length - held);
    order = order.slice(0, order.length - held);
  }
  checkFit(model, raw, options, loss, order.length);
  const valData = options.validationData instanceof GpuDataset ? options.validationData.data : options.validationData;
  if (valData) checkFit(model, valData, { ...options, batchSize: 1, validationSplit: undefined, earlyStopping: undefined }, loss);
  const gpuData = data instanceof GpuDataset ? data : new GpuDataset(device, data);
  const n = order.length;
  const optimizer = new Optimizer(options.optimizer ?? { type: 'sgd' });
  const random = new Random(options.seed ?? 0);
  const index = device.tensor(order);
  const stats = newStats(device);
  const workspaces = new Map<number, { bp: Backprop; y: Tensor }>();
  const workspace = (rows: number) => {
    let w = workspaces.get(rows);
    if (!w) workspaces.set(rows, (w = { bp: new Backprop(model, rows, loss), y: gpuData.targetTensor(rows) }));
    return w;
  };
  // Shared (k-means) layers keep their best codebooks too; their weights follow from them.
  const params = model.layers.flatMap((l) => [l.weight, l.bias, ...(l.quant?.codebook ? [l.quant.codebook] : [])]);
  const best = options.earlyStopping ? new BestWeights(params) : undefined;
  const qat = quantization ? new FakeQuantTraining(model, quantization) : undefined;
  await sharing?.prepare();
  const teacher = options.distillation ? await TeacherLogits.create(options.distillation, gpuData) : undefined;
  const batches = Math.ceil(n / options.batchSize);
  const history: History = { loss: [], accuracy: [], valLoss: [], valAccuracy: [], seconds: [], aborted: false };
  let step = 0;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      const lr = scheduledRate(options.learningRate, options.schedule ?? { type: 'constant' }, epoch);
      if (options.shuffle ?? true) index.write(random.shuffle(order));
      stats.write(new Float32Array([0, 0, -1, 0]));
      for (let b = 0; b < batches; b++) {
        if (options.signal?.aborted) {
          history.aborted = true;
          await device.sync();
          return history;
        }
        const offset = b * options.batchSize;
        const rows = Math.min(options.batchSize, n - offset);
        const { bp, y } = workspace(rows);
        gpuData.batch(index, offset, bp.x, y);
        qat?.quantize();
        const distill = teacher?.forBatch(index, offset, bp.x);
        bp.gradients(y, stats, { step, labelSmoothing: options.labelSmoothing, distill });
        optimizer.step(qat ? qat.slots(bp.slots()) : sharing ? sharing.slots(bp.slots()) : bp.slots(), lr, stats);
        sharing?.share();
        step++;
        if (options.pruning && prunesAt(options.pruning, step)) {
          qat?.restoreMasters(); // prune the float weights, not their quantized copies
          await pruneToSchedule(model, options.pruning, step);
          qat?.captureMasters();
        }
        if ((b + 1) % SYNC_EVERY === 0 || b + 1 === batches) {
          await device.sync();
          options.onBatch?.(b + 1, batches, epoch);
        }
      }
      const s = await stats.read();
      const badStep = s[STATS.badStep]!;
      if (badStep >= 0) {
        const firstStep = step - batches;
        throw new TrainingDivergedError(
          `The loss stopped being finite at epoch ${epoch + 1}, step ${badStep - firstStep + 1} of ${batches}; ` +
            'the model keeps the weights from the step before. Lower the learning rate or check the data.',
          epoch + 1,
          badStep - firstStep + 1,
        );
      }
      const report: EpochReport = {
        epoch: epoch + 1,
        loss: s[STATS.lossSum]! / lossDivisor(loss, n, model.outputs),
        accuracy: raw.labels || raw.targets ? accuracyOf(loss, s[STATS.correct]!, n, model.outputs) : NaN, // no labels, no accuracy
        seconds: 0,
        learningRate: lr,
      };
      if (options.validationData || valRows) {
        const v = await evaluate(model, options.validationData ?? gpuData, { loss, rows: options.validationData ? undefined : valRows });
        report.valLoss = v.loss;
        report.valAccuracy = v.accuracy;
        history.valLoss.push(v.loss);
        history.valAccuracy.push(v.accuracy);
      }
      report.seconds = (performance.now() - started) / 1000;
      history.loss.push(report.loss);
      history.accuracy.push(report.accuracy);
      history.seconds.push(report.seconds);
      await options.onEpoch?.(report);
      if (best && options.earlyStopping) {
        const es = options.earlyStopping;
        const value = es.monitor === 'valAccuracy' ? -report.valAccuracy! : report.valLoss!;
        if (best.offer(value, epoch + 1, es.minDelta ?? 0)) continue;
        if (epoch + 1 - best.epoch >= es.patience) {
          history.stoppedEarly = true;
          break;
        }
      }
    }
    if (best && options.earlyStopping) {
      history.bestEpoch = best.epoch;
      history.stoppedEarly ??= false;
      if (options.earlyStopping.restoreBest ?? true) best.restore();
      sharing?.share();
      await device.sync();
    }
    return history;
  } finally {
    for (const { bp, y } of workspaces.values()) (bp.dispose(), y.dispose());
    qat?.finish();
    sharing?.dispose();
    teacher?.dispose();
    best?.dispose();
    optimizer.dispose();
    index.dispose();
    stats.dispose();
    if (!(data instanceof GpuDataset)) gpuData.dispose();
  }
}

function accuracyOf(loss: LossKind, correct: number, rows: number, outputs: number): number {
  if (loss === 'mse') return NaN;
  return correct / (loss === 'bceLogits' ? rows * outputs : rows);
}

export interface EvaluateOptions {
  loss?: LossKind;
  /** Score these rows of the data only; default all rows. */
  rows?: ArrayLike<number>;
  /** Rows per forward pass (default 1024). */
  batchSize?: number;
}

/** Mean loss and accuracy of `model` on `data`, computed on the GPU and read once. */
export async function evaluate(model: MLP, data: Dataset | GpuDataset, options: EvaluateOptions = {}): Promise<{ loss: number; accuracy: number }> {
  const owned = !(data instanceof GpuDataset);
  const gpuData = data instanceof GpuDataset ? data : new GpuDataset(model.device, data);
  const raw = gpuData.data;
  const loss = options.loss ?? defaultLoss(raw);
  checkFit(model, raw, { epochs: 1, batchSize: 1, learningRate: 1 }, loss);
  const n = rowsOf(options.rows, raw.rows).length;
  const stats = newStats(model.device);
  try {
    await model.prepareInference(); // pruned layers run sparse
    await gpuData.forEachBatch(Math.min(options.batchSize ?? 1024, n), (x, y) => {
      const z = model.forward(x);
      lossForward(loss, { z, target: y, stats });
      z.dispose();
    }, options.rows);
    const s = await stats.read();
    return { loss: s[STATS.lossSum]! / lossDivisor(loss, n, model.outputs), accuracy: accuracyOf(loss, s[STATS.correct]!, n, model.outputs) };
  } finally {
    stats.dispose();
    if (owned) gpuData.dispose();
  }
}
