/**
 * Importance of hidden units and layers, with the seed's definition as the reference criterion:
 * I_i = L(f without i, D) - L(f, D), the increase of the mean cross-entropy on D when unit i's
 * output is removed (set to 0 for every sample).
 *
 * Ablation runs on the GPU, batched: for hidden layer l, the pre-activations of layer l + 1 are
 * computed once, and each variant "without unit i" is a rank-1 update of them (subtract a_i
 * times row i of W_{l+1}), with the variant as a batch dimension; only the layers after l + 1
 * run per variant, on [variants x samples] rows at once. For the last hidden layer the update
 * gives the logits directly and nothing is recomputed. Work goes in chunks of samples and
 * variants that fit the device, never one pass per unit.
 *
 * A score is the effect of removing that unit alone. Units whose removal alone lowers the loss
 * (negative scores) often work together, so removing many low-scored units at once can cost far
 * more than the sum of their scores: remove a few at a time and score again, as simplify() does
 * (bench/RESULTS.md measures the difference).
 *
 * Cheaper criteria for comparison: the L1 or L2 norm of a unit's incoming weights, the
 * first-order Taylor estimate mean |a_i dL/da_i| (Molchanov et al. 2017), and random scores.
 *
 * Whole hidden layers: a layer whose input and output widths are equal is bypassed (its output
 * replaced by its input); any other is merged into the next layer by dropping its activation, so
 * the two become one linear map (W_l W_{l+1}, b_l W_{l+1} + b_{l+1}). Its importance is the loss
 * increase of the model so changed.
 */
import type { Dataset } from '../data/dataset.js';
import { subset, validateDataset } from '../data/dataset.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { gemm } from '../kernels/gemm.js';
import { rank1Ablate, taylorScores, variantLoss } from '../kernels/ablate.js';
import { lossForward, newStats } from '../kernels/loss.js';
import { columnNorms } from '../kernels/prune.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { evaluate } from '../nn/evaluate.js';
import { Random } from '../random.js';
import { hostData, type GpuDataset } from '../data/gpu-dataset.js';

type F32 = Tensor<'f32'>;

export const IMPORTANCE_CRITERIA = ['ablation', 'l1', 'l2', 'taylor', 'random'] as const;
export type ImportanceCriterion = (typeof IMPORTANCE_CRITERIA)[number];

export interface ImportanceOptions {
  /** Default 'ablation'. */
  criterion?: ImportanceCriterion;
  /** Score on a seeded random subset of this many rows (default: every row). */
  samples?: number;
  seed?: number;
  /** Samples per GPU pass (default 1024). */
  chunkRows?: number;
  /** Floats one batch of ablated variants may hold (default 8M, 32 MB). */
  budget?: number;
}

export interface UnitImportance {
  criterion: ImportanceCriterion;
  /** Rows scored. */
  samples: number;
  /** Mean cross-entropy of the unchanged model on them (data-based criteria). */
  baselineLoss: number;
  /** One score per unit of each hidden layer (layer: index into model.layers); higher is more important. */
  layers: { layer: number; scores: Float64Array }[];
}

/** The rows to score: all, or a seeded sample. */
export function scoringRows(data: Dataset, samples: number | undefined, seed: number): Dataset {
  if (samples === undefined || samples >= data.rows) return data;
  if (!Number.isInteger(samples) || samples < 1) throw new InvalidArgumentError(`samples must be a positive integer, got ${samples}.`);
  const order = new Random(seed).shuffle(Uint32Array.from({ length: data.rows }, (_, i) => i));
  return subset(data, order.subarray(0, samples));
}

function checkModel(model: MLP, data: Dataset, needsLabels: boolean): void {
  if (model.layers.length < 2) throw new InvalidArgumentError('The model has no hidden layer: there are no units to score.');
  if (needsLabels) checkScoredData(model, data, 'Ablation and Taylor importance measure');
}

/** Data a loss-based importance can score the model on: valid, labelled, as wide as its inputs, within its outputs' classes. */
export function checkScoredData(model: Model, data: Dataset, criterion: string): void {
  validateDataset(data);
  if (!data.labels) throw new InvalidArgumentError(`${criterion} the cross-entropy: the data needs class labels.`);
  if (data.cols !== model.inputs) throw new ShapeError(`The data has ${data.cols} features but the model takes ${model.inputs} inputs.`);
  if (data.classes! > model.outputs) throw new ShapeError(`The data has ${data.classes} classes but the model has ${model.outputs} outputs.`);
}

/** Calls fn on each chunk of rows with the chunk's inputs and labels on the GPU. */
export async function forChunks(model: Model, data: Dataset, chunkRows: number, fn: (x: F32, labels: Tensor<'i32'>, n: number) => void): Promise<void> {
  const device = model.device;
  for (let start = 0; start < data.rows; start += chunkRows) {
    const n = Math.min(chunkRows, data.rows - start);
    const x = device.tensor(data.features.subarray(start * data.cols, (start + n) * data.cols), [n, data.cols]);
    const labels = device.tensor(data.labels!.subarray(start, start + n));
    fn(x, labels, n);
    await device.sync(); // bounds the work queued at once
    x.dispose();
    labels.dispose();
  }
}

async function ablationScores(model: MLP, data: Dataset, chunkRows: number, budget: number): Promise<{ baseline: number; layers: Float64Array[] }> {
  const device = model.device;
  const L = model.layers.length;
  const baseSum = device.tensor(new Float32Array(1));
  const sums = model.layers.slice(0, L - 1).map((l) => device.tensor(new Float32Array(l.units)));
  await forChunks(model, data, chunkRows, (x, labels, n) => {
    const acts = model.layers.map((l) => device.empty([n, l.units]));
    model.forward(x, acts);
    variantLoss(acts[L - 1]!, labels, baseSum, 0);
    for (let l = 0; l < L - 1; l++) {
      const next = model.layers[l + 1]!;
      const U = model.layers[l]!.units;
      const z = gemm(acts[l]!, next.weight, { bias: next.bias });
      const widest = Math.max(...model.layers.slice(l + 1).map((k) => k.units));
      const perPass = Math.max(1, Math.min(U, Math.floor(budget / (n * widest))));
      for (let v0 = 0; v0 < U; v0 += perPass) {
        const count = Math.min(perPass, U - v0);
        const units = device.tensor(Uint32Array.from({ length: count }, (_, i) => v0 + i));
        let h = rank1Ablate(z, acts[l]!, next.weight, units, next.activation);
        for (let k = l + 2; k < L; k++) {
          const layer = model.layers[k]!;
          const out = gemm(h, layer.weight, { bias: layer.bias, activation: layer.activation });
          h.dispose();
          h = out;
        }
        variantLoss(h, labels, sums[l]!, v0, acts[L - 1]);
        h.dispose();
        units.dispose();
      }
      z.dispose();
    }
    for (const a of acts) a.dispose();
  });
  const baseline = (await baseSum.read())[0]! / data.rows;
  const layers = await Promise.all(sums.map(async (s) => Float64Array.from(await s.read(), (v) => v / data.rows)));
  baseSum.dispose();
  for (const s of sums) s.dispose();
  return { baseline, layers };
}

async function taylor(model: MLP, data: Dataset, chunkRows: number): Promise<{ baseline: number; layers: Float64Array[] }> {
  const device = model.device;
  const L = model.layers.length;
  const scores = model.layers.slice(0, L - 1).map((l) => device.tensor(new Float32Array(l.units)));
  const stats = newStats(device);
  await forChunks(model, data, chunkRows, (x, labels, n) => {
    const acts = model.layers.map((l) => device.empty([n, l.units]));
    model.forward(x, acts);
    // Per-sample gradients (scale 1): dL_r/dz of the logits, then back through the layers.
    let dz = device.empty([n, model.outputs]);
    lossForward('softmaxCrossEntropy', { z: acts[L - 1]!, target: labels, stats, grad: dz, gradScale: 1 });
    for (let l = L - 2; l >= 0; l--) {
      const w = model.layers[l + 1]!.weight;
      const g = gemm(dz, w, { transB: true }); // dL/da_l
      taylorScores(acts[l]!, g, scores[l]!);
      g.dispose();
      const below = gemm(dz, w, { transB: true, derivativeOf: { activation: model.layers[l]!.activation, output: acts[l]! } });
      dz.dispose();
      dz = below;
    }
    dz.dispose();
    for (const a of acts) a.dispose();
  });
  const baseline = (await stats.read())[0]! / data.rows;
  const layers = await Promise.all(scores.map(async (s) => Float64Array.from(await s.read(), (v) => v / data.rows)));
  stats.dispose();
  for (const s of scores) s.dispose();
  return { baseline, layers };
}

/** Scores every unit of every hidden layer by the chosen criterion. */
export async function unitImportance(model: MLP, given: Dataset | GpuDataset, options: ImportanceOptions = {}): Promise<UnitImportance> {
  const data = hostData(given);
  const criterion = options.criterion ?? 'ablation';
  if (!(IMPORTANCE_CRITERIA as readonly string[]).includes(criterion)) throw new InvalidArgumentError(`Unknown importance criterion '${criterion}' (use ${IMPORTANCE_CRITERIA.join(', ')}).`);
  const chunkRows = options.chunkRows ?? 1024;
  const budget = options.budget ?? 8 * 1024 * 1024;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InvalidArgumentError(`chunkRows must be a positive integer, got ${chunkRows}.`);
  const seed = options.seed ?? 0;
  const hidden = model.layers.slice(0, -1).map((_, layer) => layer);
  const dataBased = criterion === 'ablation' || criterion === 'taylor';
  checkModel(model, data, dataBased);
  const rows = dataBased ? scoringRows(data, options.samples, seed) : data;
  if (criterion === 'ablation' || criterion === 'taylor') {
    const { baseline, layers } = criterion === 'ablation' ? await ablationScores(model, rows, chunkRows, budget) : await taylor(model, rows, chunkRows);
    return { criterion, samples: rows.rows, baselineLoss: baseline, layers: layers.map((scores, layer) => ({ layer, scores })) };
  }
  if (criterion === 'random') {
    const r = new Random(seed);
    return { criterion, samples: 0, baselineLoss: NaN, layers: hidden.map((layer) => ({ layer, scores: Float64Array.from({ length: model.layers[layer]!.units }, () => r.next()) })) };
  }
  const power = criterion === 'l1' ? 1 : 2;
  const layers = [];
  for (const layer of hidden) {
    const norms = columnNorms(model.layers[layer]!.weight, power);
    const v = await norms.read();
    norms.dispose();
    layers.push({ layer, scores: Float64Array.from(v, (s) => (power === 2 ? Math.sqrt(s) : s)) });
  }
  return { criterion, samples: 0, baselineLoss: NaN, layers };
}

export interface LayerRemoval {
  /** Index into model.layers of the hidden layer removed. */
  layer: number;
  method: 'bypass' | 'merge';
  /** Loss increase when it is removed. */
  importance: number;
  parametersAfter: number;
}

/** A new float model without hidden layer `layer`: bypassed when square, else merged into the next. */
export async function removeLayer(model: MLP, layer: number): Promise<MLP> {
  const L = model.layers.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= L - 1) throw new InvalidArgumentError(`layer must be a hidden layer, 0 to ${L - 2}, got ${layer}.`);
  const weights = await model.read();
  const spec = (i: number) => ({ inputs: model.layers[i]!.inputs, units: model.layers[i]!.units, activation: model.layers[i]!.activation, weight: weights[i]!.weight, bias: weights[i]!.bias });
  const cur = model.layers[layer]!;
  const layers = [];
  for (let i = 0; i < L; i++) {
    if (i === layer) continue;
    if (i === layer + 1 && cur.inputs !== cur.units) {
      // Merge: x W_l W_{l+1} + (b_l W_{l+1} + b_{l+1}), computed on the GPU.
      const next = model.layers[i]!;
      const w = gemm(cur.weight, next.weight);
      const b = gemm(cur.bias.reshape([1, cur.units]), next.weight, { bias: next.bias });
      layers.push({ inputs: cur.inputs, units: next.units, activation: next.activation, weight: await w.read(), bias: await b.read() });
      w.dispose();
      b.dispose();
    } else layers.push(spec(i));
  }
  return MLP.fromWeights(model.device, layers);
}

/** The loss increase of removing each hidden layer (see the module comment for how). */
export async function layerImportance(model: MLP, given: Dataset | GpuDataset, options: Pick<ImportanceOptions, 'samples' | 'seed'> = {}): Promise<LayerRemoval[]> {
  const data = hostData(given);
  checkModel(model, data, true);
  const rows = scoringRows(data, options.samples, options.seed ?? 0);
  const base = (await evaluate(model, rows)).loss;
  const out: LayerRemoval[] = [];
  for (let layer = 0; layer < model.layers.length - 1; layer++) {
    const smaller = await removeLayer(model, layer);
    const l = model.layers[layer]!;
    out.push({ layer, method: l.inputs === l.units ? 'bypass' : 'merge', importance: (await evaluate(smaller, rows)).loss - base, parametersAfter: smaller.parameterCount() });
    smaller.dispose();
  }
  return out;
}
