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
import type { MLP } from './mlp.js';

export interface EpochReport {
  epoch: number;
  loss: number;
  /** NaN for regression (mse). */
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
  validationData?: Dataset;
  onEpoch?: (report: EpochReport) => void | Promise<void>;
  /** Called every few batches (for progress bars) with batches done and batches per epoch. */
  onBatch?: (done: number, total: number, epoch: number) => void;
  /** Stops training between two batches; the model is left with the last completed step. */
  signal?: AbortSignal;
}

/** GPU work is submitted and awaited every this many batches, so aborts and progress are prompt. */
const SYNC_EVERY = 16;

function defaultLoss(data: Dataset): LossKind {
  return data.labels ? 'softmaxCrossEntropy' : 'mse';
}

/** Checks the model against the data and the options against their ranges, before any GPU work. */
function checkFit(model: MLP, data: Dataset, o: FitOptions, loss: LossKind): void {
  if (data.cols !== model.inputs) throw new ShapeError(`The data has ${data.cols} features but the model takes ${model.inputs} inputs.`);
  if (data.labels && data.classes! > model.outputs)
    throw new ShapeError(`The data has ${data.classes} classes but the model has ${model.outputs} outputs.`);
  if (data.targets && data.targetCols !== model.outputs)
    throw new ShapeError(`The data has ${data.targetCols} targets per row but the model has ${model.outputs} outputs.`);
  if (!(LOSSES as readonly string[]).includes(loss)) throw new InvalidArgumentError(`Unknown loss '${loss}' (use ${LOSSES.join(', ')}).`);
  if (loss === 'softmaxCrossEntropy' && !data.labels) throw new InvalidArgumentError('softmaxCrossEntropy needs labels; use mse or bceLogits for targets.');
  if (loss !== 'softmaxCrossEntropy' && !data.targets) throw new InvalidArgumentError(`${loss} needs targets; use softmaxCrossEntropy for labels.`);
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new InvalidArgumentError(`epochs must be a positive integer, got ${o.epochs}.`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > data.rows)
    throw new InvalidArgumentError(`batchSize must be an integer from 1 to the ${data.rows} rows of data, got ${o.batchSize}.`);
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0))
    throw new InvalidArgumentError(`learningRate must be a positive finite number, got ${o.learningRate}.`);
  const s = o.schedule;
  if (s?.type === 'step' && !(Number.isInteger(s.every) && s.every >= 1 && s.gamma > 0 && s.gamma <= 1))
    throw new InvalidArgumentError('A step schedule needs every >= 1 (epochs) and gamma in (0, 1].');
  if (s?.type === 'cosine' && !(Number.isInteger(s.total) && s.total >= 1 && (s.min ?? 0) >= 0))
    throw new InvalidArgumentError('A cosine schedule needs total >= 1 (epochs) and min >= 0.');
}

/** Trains `model` on `data`; returns the history. Throws TrainingDivergedError if the loss stops being finite. */
export async function fit(model: MLP, data: Dataset, options: FitOptions): Promise<History> {
  const loss = options.loss ?? defaultLoss(data);
  checkFit(model, data, options, loss);
  if (options.validationData) checkFit(model, options.validationData, { ...options, batchSize: 1 }, loss);
  const device = model.device;
  const gpuData = new GpuDataset(device, data);
  const optimizer = new Optimizer(options.optimizer ?? { type: 'sgd' });
  const random = new Random(options.seed ?? 0);
  const order = Uint32Array.from({ length: data.rows }, (_, i) => i);
  const index = device.tensor(order);
  const stats = newStats(device);
  const workspaces = new Map<number, { bp: Backprop; y: Tensor }>();
  const workspace = (rows: number) => {
    let w = workspaces.get(rows);
    if (!w) workspaces.set(rows, (w = { bp: new Backprop(model, rows, loss), y: gpuData.targetTensor(rows) }));
    return w;
  };
  const batches = Math.ceil(data.rows / options.batchSize);
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
        const rows = Math.min(options.batchSize, data.rows - offset);
        const { bp, y } = workspace(rows);
        gpuData.batch(index, offset, bp.x, y);
        bp.gradients(y, stats, { step, labelSmoothing: options.labelSmoothing });
        optimizer.step(bp.slots(), lr, stats);
        step++;
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
        loss: s[STATS.lossSum]! / lossDivisor(loss, data.rows, model.outputs),
        accuracy: accuracyOf(loss, s[STATS.correct]!, data.rows, model.outputs),
        seconds: 0,
        learningRate: lr,
      };
      if (options.validationData) {
        const v = await evaluate(model, options.validationData, { loss });
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
    }
    return history;
  } finally {
    for (const { bp, y } of workspaces.values()) (bp.dispose(), y.dispose());
    optimizer.dispose();
    index.dispose();
    stats.dispose();
    gpuData.dispose();
  }
}

function accuracyOf(loss: LossKind, correct: number, rows: number, outputs: number): number {
  if (loss === 'mse') return NaN;
  return correct / (loss === 'bceLogits' ? rows * outputs : rows);
}

export interface EvaluateOptions {
  loss?: LossKind;
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
  const device = model.device;
  const batch = Math.min(options.batchSize ?? 1024, raw.rows);
  const index = device.tensor(Uint32Array.from({ length: raw.rows }, (_, i) => i));
  const stats = newStats(device);
  const x = device.empty([batch, raw.cols]);
  const y = gpuData.targetTensor(batch);
  let tailX: Tensor<'f32'> | undefined;
  let tailY: Tensor | undefined;
  try {
    for (let offset = 0; offset < raw.rows; offset += batch) {
      const rows = Math.min(batch, raw.rows - offset);
      const bx = rows === batch ? x : (tailX ??= device.empty([rows, raw.cols]));
      const by = rows === batch ? y : (tailY ??= gpuData.targetTensor(rows));
      gpuData.batch(index, offset, bx, by);
      const z = model.forward(bx);
      lossForward(loss, { z, target: by, stats });
      z.dispose();
    }
    const s = await stats.read();
    return { loss: s[STATS.lossSum]! / lossDivisor(loss, raw.rows, model.outputs), accuracy: accuracyOf(loss, s[STATS.correct]!, raw.rows, model.outputs) };
  } finally {
    for (const t of [index, stats, x, y, tailX, tailY]) t?.dispose();
    if (owned) gpuData.dispose();
  }
}
