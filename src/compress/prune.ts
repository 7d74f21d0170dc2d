/**
 * Magnitude pruning of an Model's weights with masks, like torch.nn.utils.prune and TF Model
 * Optimization: masks are GPU tensors (1 keeps, 0 prunes), pruned weights are set to exactly 0,
 * and the optimizers multiply updates by the mask, so they stay 0 through retraining. Pruning
 * never revives a weight: a new mask is combined with the old one.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { fill } from '../kernels/elementwise.js';
import { applyMask, columnMask, columnNorms, maskBelow, maskValue, nmMask, selectKey } from '../kernels/prune.js';
import { sum } from '../kernels/reduce.js';
import type { DenseLayer } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { type BlockShape, blockMask, blockScores, keepBest, layerBlocks } from './blocks.js';

type F32 = Tensor<'f32'>;

export type PruneCriterion =
  /** The seed's rule: |w| <= threshold is pruned, in every layer. */
  | { type: 'threshold'; threshold: number }
  /**
   * Each layer loses the given fraction of its weights, smallest |w| first (L1 unstructured);
   * one fraction for every layer, or one per layer (automated compression sets them apart).
   * With `block` ([inputs, units], as TF-MOT's block_size) whole blocks go, weakest mean |w|
   * first, and the fraction counts blocks (compress/blocks.ts); 'global' takes the same option.
   */
  | { type: 'layer'; sparsity: number | readonly number[]; block?: BlockShape | readonly BlockShape[] }
  /** One threshold over all layers together (like global_unstructured). */
  | { type: 'global'; sparsity: number; block?: BlockShape | readonly BlockShape[] }
  /** Whole neurons of the hidden layers, smallest L1 or L2 norm of incoming weights first (like ln_structured). */
  | { type: 'structured'; fraction: number; norm?: 1 | 2 }
  /**
   * N:M semi-structured: in each group of M consecutive inputs of a neuron, the N largest stay.
   * Where a layer's inputs are not a multiple of M, its last group is shorter and keeps its N
   * largest too, so the layer ends below 1 - N/M sparsity (10 inputs at 2:4: 0.4, not 0.5);
   * the returned report gives the sparsity reached, layer by layer.
   */
  | { type: 'nm'; n: number; m: number }
  /** Masks you made: one per layer (inputs x units, values 0 or 1), or undefined to leave a layer alone. */
  | { type: 'custom'; masks: (Float32Array | undefined)[] };

export interface LayerSparsity {
  layer: number;
  weights: number;
  nonzero: number;
  sparsity: number;
}

export interface PruneReport {
  layers: LayerSparsity[];
  weights: number;
  nonzero: number;
  sparsity: number;
  /** Multiply-adds x 2 per input row of the dense model, and of the pruned one (a convolution's weights count at each output position). */
  flopsDense: number;
  flopsKept: number;
}

function checkFraction(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0 && v < 1)) throw new InvalidArgumentError(`${name} must be in [0, 1), got ${v}.`);
}

/** The layer's mask, created (all ones) on first use. */
function maskOf(layer: DenseLayer): F32 {
  return (layer.mask ??= fill(layer.weight.device.empty(layer.weight.shape), 1));
}

/** How many weights to prune so that exactly round((1 - s) n) stay. */
function prunedCount(sparsity: number, n: number): number {
  return n - Math.round((1 - sparsity) * n);
}

/** Applies one criterion to the model's layers; returns the resulting report. */
export async function prune(model: Model, criterion: PruneCriterion): Promise<PruneReport> {
  const layers = model.layers;
  switch (criterion.type) {
    case 'threshold':
      if (!(Number.isFinite(criterion.threshold) && criterion.threshold >= 0)) throw new InvalidArgumentError(`threshold must be a finite number >= 0, got ${criterion.threshold}.`);
      for (const l of layers) maskValue(l.weight, maskOf(l), criterion.threshold);
      break;
    case 'layer': {
      const given = criterion.sparsity;
      if (typeof given !== 'number' && given.length !== layers.length) throw new ShapeError(`layer: ${given.length} sparsities for ${layers.length} layers.`);
      const sparsities = typeof given === 'number' ? layers.map(() => given) : given;
      for (const s of sparsities) checkFraction('sparsity', s);
      if (criterion.block) {
        await pruneBlocks(layers, criterion.block, sparsities);
        break;
      }
      for (const [i, l] of layers.entries()) {
        const k = prunedCount(sparsities[i]!, l.weight.size);
        if (k > 0) maskBelow(l.weight, maskOf(l), 0, await selectKey([{ w: l.weight, base: 0 }], k - 1));
      }
      break;
    }
    case 'global': {
      checkFraction('sparsity', criterion.sparsity);
      if (criterion.block) {
        await pruneBlocks(layers, criterion.block, criterion.sparsity);
        break;
      }
      let offset = 0;
      const parts = layers.map((l) => ({ w: l.weight, base: (offset += l.weight.size) - l.weight.size }));
      const k = prunedCount(criterion.sparsity, offset);
      if (k > 0) {
        const key = await selectKey(parts, k - 1);
        layers.forEach((l, i) => maskBelow(l.weight, maskOf(l), parts[i]!.base, key));
      }
      break;
    }
    case 'structured': {
      checkFraction('fraction', criterion.fraction);
      const norm = criterion.norm ?? 1;
      if (norm !== 1 && norm !== 2) throw new InvalidArgumentError(`norm must be 1 or 2, got ${norm}.`);
      for (const l of layers.slice(0, -1)) await pruneNeurons(l, criterion.fraction, norm);
      break;
    }
    case 'nm': {
      const { n, m } = criterion;
      if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m > 32 || n > m) throw new InvalidArgumentError(`An N:M pattern needs whole numbers 1 <= N <= M <= 32, got ${n}:${m}.`);
      for (const l of layers) nmMask(l.weight, maskOf(l), n, m);
      break;
    }
    case 'custom': {
      if (criterion.masks.length !== layers.length) throw new ShapeError(`custom: ${criterion.masks.length} masks for ${layers.length} layers.`);
      criterion.masks.forEach((m, i) => {
        if (!m) return;
        const l = layers[i]!;
        if (m.length !== l.weight.size) throw new ShapeError(`custom: the mask of layer ${i} has ${m.length} values; its weight is ${l.inputs} x ${l.units}.`);
        if (m.some((v) => v !== 0 && v !== 1)) throw new InvalidArgumentError(`custom: the mask of layer ${i} must hold only 0 and 1.`);
        const t = l.weight.device.tensor(m, l.weight.shape);
        applyMask(l.weight, maskOf(l), t);
        t.dispose();
      });
      break;
    }
    default:
      throw new InvalidArgumentError(`Unknown pruning criterion '${(criterion as { type: string }).type}'.`);
  }
  return pruneReport(model);
}

/**
 * Block pruning to a sparsity counted in blocks: one per layer, each layer's blocks ranked alone,
 * or one number, the blocks of every layer ranked together. Scores are read from the weights as
 * they are (pruned ones are 0), and the new masks combine with the old ones.
 */
async function pruneBlocks(layers: readonly DenseLayer[], block: BlockShape | readonly BlockShape[], sparsity: number | readonly number[]): Promise<void> {
  const blocks = layerBlocks(block, layers.length);
  const scores = await Promise.all(layers.map(async (l, i) => blockScores(await l.weight.read(), l.inputs, l.units, blocks[i]!)));
  const keepOf = (s: number, count: number) => count - prunedCount(s, count);
  const kept =
    typeof sparsity === 'number'
      ? keepBest(
          scores,
          keepOf(
            sparsity,
            scores.reduce((n, s) => n + s.length, 0),
          ),
        )
      : scores.map((s, i) => keepBest([s], keepOf(sparsity[i]!, s.length))[0]!);
  layers.forEach((l, i) => {
    const t = l.weight.device.tensor(blockMask(kept[i]!, l.inputs, l.units, blocks[i]!), l.weight.shape);
    applyMask(l.weight, maskOf(l), t);
    t.dispose();
  });
}

/** Structured: zero the incoming weights and the bias of the `fraction` weakest neurons. */
async function pruneNeurons(layer: DenseLayer, fraction: number, norm: 1 | 2): Promise<void> {
  const count = Math.round(fraction * layer.units);
  if (count === 0) return;
  if (count >= layer.units) throw new InvalidArgumentError(`Structured pruning would remove all ${layer.units} neurons of a layer.`);
  const norms = columnNorms(layer.weight, norm);
  const values = await norms.read();
  norms.dispose();
  const order = Array.from(values, (v, j) => [v, j] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const keep = new Float32Array(layer.units).fill(1);
  for (const [, j] of order.slice(0, count)) keep[j] = 0;
  const device = layer.weight.device;
  const keepT = device.tensor(keep);
  columnMask(layer.weight, maskOf(layer), keepT);
  layer.biasMask ??= fill(device.empty([layer.units]), 1);
  columnMask(layer.bias.reshape([1, layer.units]), layer.biasMask.reshape([1, layer.units]), keepT);
  keepT.dispose();
}

/** Per-layer and total sparsity, nonzero counts and FLOPs of the model's masks (one readback). */
export async function pruneReport(model: Model): Promise<PruneReport> {
  const counts = await Promise.all(
    model.layers.map(async (l) => {
      if (!l.mask) return l.weight.size;
      const s = sum(l.mask);
      const v = (await s.read())[0]!;
      s.dispose();
      return Math.round(v);
    }),
  );
  const layers = model.layers.map((l, i) => ({ layer: i, weights: l.weight.size, nonzero: counts[i]!, sparsity: 1 - counts[i]! / l.weight.size }));
  const weights = layers.reduce((s, l) => s + l.weights, 0);
  const nonzero = layers.reduce((s, l) => s + l.nonzero, 0);
  const flops = (count: (l: LayerSparsity) => number) => 2 * layers.reduce((s, l, i) => s + count(l) * model.positions[i]!, 0);
  return { layers, weights, nonzero, sparsity: 1 - nonzero / weights, flopsDense: flops((l) => l.weights), flopsKept: flops((l) => l.nonzero) };
}
