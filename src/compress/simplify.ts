/**
 * Structural simplification: hidden units of an MLP, or filters (output channels) of a
 * convolutional network's convolutions, removed physically (smaller weight matrices, not masks),
 * so saved models and inference really shrink. simplify() iterates: score the units or filters,
 * remove the k least important across all layers, fine-tune, check the validation accuracy; it
 * stops at a target parameter count, before the accuracy falls below a floor, or after a number
 * of rounds, and returns the last model that met the floor.
 */
import type { Dataset } from '../data/dataset.js';
import { InvalidArgumentError } from '../errors.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/sequential.js';
import { fit, type FitOptions } from '../nn/train.js';
import { evaluate } from '../nn/evaluate.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { filterImportance } from './filter-importance.js';
import { removeFilters } from './filters.js';
import { unitImportance, type ImportanceCriterion } from './importance.js';

/** A new model without the given units of hidden layer `layer` (masks kept for the rest). */
export async function removeUnits(model: MLP, layer: number, units: readonly number[]): Promise<MLP> {
  const L = model.layers.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= L - 1) throw new InvalidArgumentError(`layer must be a hidden layer, 0 to ${L - 2}, got ${layer}.`);
  const cur = model.layers[layer]!;
  const drop = new Set(units);
  for (const u of drop) if (!Number.isInteger(u) || u < 0 || u >= cur.units) throw new InvalidArgumentError(`unit ${u} is not a unit of layer ${layer} (0 to ${cur.units - 1}).`);
  if (drop.size >= cur.units) throw new InvalidArgumentError(`Removing all ${cur.units} units of layer ${layer} would disconnect the network; keep at least one (or remove the layer).`);
  for (const l of [cur, model.layers[layer + 1]!]) if (l.quant) throw new InvalidArgumentError('Units of quantized layers cannot be removed: simplify first, then quantize.');
  const keep = Array.from({ length: cur.units }, (_, u) => u).filter((u) => !drop.has(u));
  const read = async (t: typeof cur.mask) => (t ? await t.read() : undefined);
  const layers = [];
  for (const [i, l] of model.layers.entries()) {
    let weight = await l.weight.read();
    let bias = await l.bias.read();
    let mask = await read(l.mask);
    let inputs = l.inputs;
    let outputs = l.units;
    if (i === layer) {
      // Keep the columns of the kept units.
      const cols = (a: Float32Array) => Float32Array.from({ length: inputs * keep.length }, (_, k) => a[Math.floor(k / keep.length) * outputs + keep[k % keep.length]!]!);
      weight = cols(weight);
      mask = mask && cols(mask);
      bias = Float32Array.from(keep, (u) => bias[u]!);
      outputs = keep.length;
    }
    if (i === layer + 1) {
      // Keep the rows of the kept inputs.
      const rows = (a: Float32Array) => Float32Array.from({ length: keep.length * outputs }, (_, k) => a[keep[Math.floor(k / outputs)]! * outputs + (k % outputs)]!);
      weight = rows(weight);
      mask = mask && rows(mask);
      inputs = keep.length;
    }
    layers.push({ inputs, units: outputs, activation: l.activation, weight, bias, mask });
  }
  const smaller = MLP.fromWeights(model.device, layers);
  layers.forEach((l, i) => {
    if (l.mask) smaller.layers[i]!.mask = model.device.tensor(l.mask, [l.inputs, l.units]);
  });
  return smaller;
}

export interface ModelFigures {
  widths: number[];
  parameters: number;
  /** Multiply-adds x 2 per input row. */
  flops: number;
  accuracy: number;
  loss: number;
  /** Milliseconds to score the validation data (after one untimed pass). */
  inferenceMs: number;
}

export interface SimplifyRound {
  round: number;
  /** layer: index into model.layers (a network's convolution by its weights); unit: the unit or filter. */
  removed: { layer: number; unit: number; importance: number }[];
  widths: number[];
  parameters: number;
  accuracy: number;
}

export interface SimplifyOptions {
  /** Units removed per round (k). */
  unitsPerRound: number;
  /** Stop once the model has at most this many parameters. */
  targetParameters?: number;
  /** Stop before the validation accuracy would fall below this (0-1); the last model above it is kept. */
  minAccuracy?: number;
  /** At most this many rounds. */
  maxRounds?: number;
  /** Default 'ablation' ('taylor' is for MLPs only). */
  criterion?: ImportanceCriterion;
  /** Rows of the training data the importance is scored on (default 2000). */
  scoreSamples?: number;
  /** Fine-tuning after each round; epochs 0 skips it. */
  fineTune: FitOptions;
  seed?: number;
  onRound?: (round: SimplifyRound) => void | Promise<void>;
}

export interface SimplifyResult<M extends Model = MLP> {
  /** A new model; the input model is left as it was. */
  model: M;
  before: ModelFigures;
  after: ModelFigures;
  rounds: SimplifyRound[];
  stoppedBy: 'target' | 'accuracy' | 'rounds' | 'units';
}

export async function figures(model: Model, data: Dataset | GpuDataset): Promise<ModelFigures> {
  const scores = await evaluate(model, data);
  const t0 = performance.now();
  await evaluate(model, data);
  return {
    widths: model.widths,
    parameters: model.parameterCount(),
    flops: 2 * model.layers.reduce((f, l, i) => f + l.inputs * l.units * model.positions[i]!, 0),
    accuracy: scores.accuracy,
    loss: scores.loss,
    inferenceMs: performance.now() - t0,
  };
}

/** What simplify removes from a kind of model: how it scores, removes and counts. */
interface Removable<M extends Model> {
  /** A score for each unit or filter that could go (layer: index into model.layers). */
  score(model: M, data: Dataset, options: { criterion: ImportanceCriterion; samples: number; seed: number }): Promise<SimplifyRound['removed']>;
  remove(model: M, removed: SimplifyRound['removed']): Promise<M>;
  /** Parameters after the layers have `left` units each. */
  parameters(model: M, left: number[]): number;
}

const MLP_UNITS: Removable<MLP> = {
  async score(model, data, options) {
    const importance = await unitImportance(model, data, options);
    return importance.layers.flatMap(({ layer, scores }) => Array.from(scores, (importance, unit) => ({ layer, unit, importance })));
  },
  async remove(model, removed) {
    // Layer by layer, from the last, so earlier layers' unit indices stay valid.
    let next = model;
    for (let l = model.layers.length - 2; l >= 0; l--) {
      const units = removed.filter((r) => r.layer === l).map((r) => r.unit);
      if (!units.length) continue;
      const smaller = await removeUnits(next, l, units);
      if (next !== model) next.dispose();
      next = smaller;
    }
    return next;
  },
  parameters: (model, left) => left.reduce((n, w, i) => n + (i === 0 ? model.inputs : left[i - 1]!) * w + w, 0),
};

const NETWORK_FILTERS: Removable<Sequential> = {
  async score(model, data, options) {
    if (options.criterion === 'taylor') throw new InvalidArgumentError("The 'taylor' criterion scores dense units only; score a network's filters by ablation, l1, l2 or random.");
    const importance = await filterImportance(model, data, { ...options, criterion: options.criterion });
    return importance.stages.flatMap(({ stage, scores }) => Array.from(scores, (importance, unit) => ({ layer: model.stages[stage]!.param!, unit, importance })));
  },
  async remove(model, removed) {
    // Filters come out one convolution at a time; stages and the other filters' indices stay.
    let next = model;
    for (const [stage, s] of model.stages.entries()) {
      const filters = removed.filter((r) => r.layer === s.param && s.spec.type === 'conv2d').map((r) => r.unit);
      if (!filters.length) continue;
      const smaller = await removeFilters(next, stage, filters);
      if (next !== model) next.dispose();
      next = smaller;
    }
    return next;
  },
  parameters(model, left) {
    const specs = model.stages.map((s) => (s.spec.type === 'conv2d' ? { ...s.spec, filters: left[s.param!]! } : s.spec));
    return Sequential.specsOf(model.inputShape, specs).reduce((n, l) => n + l.inputs * l.units + l.units, 0);
  },
};

/**
 * Train and validation data may be given already on the GPU (GpuDataset); otherwise each is
 * uploaded once here for all rounds.
 */
export async function simplify<M extends Model>(model: M, train: Dataset | GpuDataset, validation: Dataset | GpuDataset, options: SimplifyOptions): Promise<SimplifyResult<M>> {
  const { unitsPerRound: k, targetParameters, minAccuracy, maxRounds } = options;
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`unitsPerRound must be a positive integer, got ${k}.`);
  if (targetParameters === undefined && minAccuracy === undefined && maxRounds === undefined)
    throw new InvalidArgumentError('simplify needs a stopping rule: targetParameters, minAccuracy or maxRounds.');
  if (targetParameters !== undefined && !(targetParameters > 0 && targetParameters < model.parameterCount()))
    throw new InvalidArgumentError(`targetParameters must be below the model's ${model.parameterCount()} parameters (and above 0), got ${targetParameters}.`);
  if (minAccuracy !== undefined && !(minAccuracy >= 0 && minAccuracy <= 1)) throw new InvalidArgumentError(`minAccuracy must be in [0, 1], got ${minAccuracy}.`);
  if (maxRounds !== undefined && !(Number.isInteger(maxRounds) && maxRounds >= 1)) throw new InvalidArgumentError(`maxRounds must be a positive integer, got ${maxRounds}.`);
  if (model instanceof MLP && model.layers.length < 2) throw new InvalidArgumentError('The model has no hidden layer to simplify.');
  if (model instanceof Sequential && !model.stages.some((s) => s.spec.type === 'conv2d')) throw new InvalidArgumentError('The network has no convolution: simplify removes its filters.');
  const trainGpu = train instanceof GpuDataset ? train : new GpuDataset(model.device, train);
  const validationGpu = validation instanceof GpuDataset ? validation : new GpuDataset(model.device, validation);
  try {
    const removable = (model instanceof MLP ? MLP_UNITS : NETWORK_FILTERS) as unknown as Removable<M>;
    return await simplifyRounds(model, removable, trainGpu, validationGpu, options);
  } finally {
    if (trainGpu !== train) trainGpu.dispose();
    if (validationGpu !== validation) validationGpu.dispose();
  }
}

async function simplifyRounds<M extends Model>(model: M, removable: Removable<M>, train: GpuDataset, validation: GpuDataset, options: SimplifyOptions): Promise<SimplifyResult<M>> {
  const { unitsPerRound: k, targetParameters, minAccuracy, maxRounds } = options;
  const before = await figures(model, validation);
  const done: SimplifyRound[] = [];
  let current = model;
  let stoppedBy: SimplifyResult['stoppedBy'] = 'rounds';
  const seed = options.seed ?? 0;
  for (let round = 1; maxRounds === undefined || round <= maxRounds; round++) {
    if (targetParameters !== undefined && current.parameterCount() <= targetParameters) {
      stoppedBy = 'target';
      break;
    }
    const scored = await removable.score(current, train.data, { criterion: options.criterion ?? 'ablation', samples: options.scoreSamples ?? 2000, seed: seed + round });
    const ranked = scored.sort((a, b) => a.importance - b.importance);
    const left = current.layers.map((l) => l.units);
    const removed: SimplifyRound['removed'] = [];
    for (const c of ranked) {
      if (removed.length === k || (targetParameters !== undefined && removable.parameters(current, left) <= targetParameters)) break;
      if (left[c.layer]! <= 1) continue; // never empty a layer
      left[c.layer]!--;
      removed.push(c);
    }
    if (removed.length === 0) {
      stoppedBy = 'units';
      break;
    }
    const next = await removable.remove(current, removed);
    if (options.fineTune.epochs > 0) await fit(next, train, { ...options.fineTune, seed: (options.fineTune.seed ?? seed) + round });
    const accuracy = (await evaluate(next, validation)).accuracy;
    if (minAccuracy !== undefined && accuracy < minAccuracy) {
      next.dispose();
      stoppedBy = 'accuracy';
      break;
    }
    if (current !== model) current.dispose();
    current = next;
    const r = { round, removed, widths: current.widths, parameters: current.parameterCount(), accuracy };
    done.push(r);
    await options.onRound?.(r);
  }
  if (stoppedBy === 'rounds' && targetParameters !== undefined && current.parameterCount() <= targetParameters) stoppedBy = 'target';
  // The result is always a new model, even when nothing could be removed.
  const result = (current === model ? model.clone() : current) as M;
  return { model: result, before, after: await figures(result, validation), rounds: done, stoppedBy };
}
