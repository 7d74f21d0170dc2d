/** Checks shared by fit and evaluate: the model against the data, the options against their ranges, before any GPU work. */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { LOSSES, type LossKind } from '../kernels/loss.js';
import { checkEarlyStopping } from './early-stopping.js';
import type { Model } from './model.js';
import type { FitOptions } from './train.js';

export function defaultLoss(data: Dataset): LossKind {
  return data.targets ? 'mse' : 'softmaxCrossEntropy';
}

/** The rows to use: `rows` checked against the data, or all of them. */
export function rowsOf(rows: ArrayLike<number> | undefined, total: number): Uint32Array {
  if (!rows) return Uint32Array.from({ length: total }, (_, i) => i);
  const out = Uint32Array.from(rows as ArrayLike<number>);
  if (out.length === 0) throw new InvalidArgumentError('rows is empty: nothing to train or score on.');
  for (let i = 0; i < out.length; i++)
    if (!Number.isInteger((rows as ArrayLike<number>)[i]) || out[i]! >= total) throw new InvalidArgumentError(`rows: ${(rows as ArrayLike<number>)[i]} is not a row of the ${total} rows of data.`);
  return out;
}

/** Checks the model against the data and the options against their ranges, before any GPU work. */
export function checkFit(model: Model, data: Dataset, o: FitOptions, loss: LossKind, rows = data.rows): void {
  if (data.cols !== model.inputs) throw new ShapeError(`The data has ${data.cols} features but the model takes ${model.inputs} inputs.`);
  if (data.labels && data.classes! > model.outputs) throw new ShapeError(`The data has ${data.classes} classes but the model has ${model.outputs} outputs.`);
  if (data.targets && data.targetCols !== model.outputs) throw new ShapeError(`The data has ${data.targetCols} targets per row but the model has ${model.outputs} outputs.`);
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
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > rows) throw new InvalidArgumentError(`batchSize must be an integer from 1 to the ${rows} rows of data, got ${o.batchSize}.`);
  if (o.validationSplit !== undefined && !(o.validationSplit > 0 && o.validationSplit < 1)) throw new InvalidArgumentError(`validationSplit must be in (0, 1), got ${o.validationSplit}.`);
  if (o.earlyStopping) {
    if (!o.validationData && o.validationSplit === undefined) throw new InvalidArgumentError('earlyStopping needs validationData or validationSplit.');
    checkEarlyStopping(o.earlyStopping);
  }
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0)) throw new InvalidArgumentError(`learningRate must be a positive finite number, got ${o.learningRate}.`);
  const s = o.schedule;
  if (s?.type === 'step' && !(Number.isInteger(s.every) && s.every >= 1 && s.gamma > 0 && s.gamma <= 1))
    throw new InvalidArgumentError('A step schedule needs every >= 1 (epochs) and gamma in (0, 1].');
  if (s?.type === 'cosine' && !(Number.isInteger(s.total) && s.total >= 1 && (s.min ?? 0) >= 0)) throw new InvalidArgumentError('A cosine schedule needs total >= 1 (epochs) and min >= 0.');
}

/** A dense batch norm normalizes each batch's rows: a batch of one row has no statistics (PyTorch stops mid-epoch on it; we say so before training). */
export function checkNormBatches(model: Model, batchSize: number, rows: number): void {
  const denseNorm = 'stages' in model && model.stages.some((s) => s.spec.type === 'batchNorm' && s.input.length === 1);
  if (denseNorm && (batchSize === 1 || rows % batchSize === 1))
    throw new InvalidArgumentError(
      `A batch norm after a dense layer needs batches of two rows or more, but batchSize ${batchSize} on ${rows} rows leaves a batch of one row: choose another batch size.`,
    );
}

export function accuracyOf(loss: LossKind, correct: number, rows: number, outputs: number): number {
  if (loss === 'mse') return NaN;
  return correct / (loss === 'bceLogits' ? rows * outputs : rows);
}
