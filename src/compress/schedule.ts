/** The gradual pruning schedule of Zhu & Gupta 2017 (TF-MOT's PolynomialDecay), applied by a training hook. */
import { InvalidArgumentError } from '../errors.js';
import type { TrainingHook } from '../nn/hooks.js';
import type { Model } from '../nn/model.js';
import { type BlockShape, checkBlocks } from './blocks.js';
import { prune, type PruneReport } from './prune.js';

export interface GradualPruning {
  /** 'layer': each layer to the scheduled sparsity; 'global': one threshold over all layers. */
  scope?: 'layer' | 'global';
  /** One initial sparsity, or (scope 'layer', with one final sparsity per layer) one per layer: a model pruned before goes on from where it is. */
  initialSparsity?: number | readonly number[];
  /** One final sparsity, or (scope 'layer') one per layer, each reached on the same schedule. */
  finalSparsity: number | readonly number[];
  /** Training steps (batches) at which pruning starts and reaches finalSparsity. */
  beginStep?: number;
  endStep: number;
  /** Prune every this many steps (default 100, as TF-MOT). */
  frequency?: number;
  /** Prune whole blocks of [inputs, units] (TF-MOT's block_size; compress/blocks.ts). */
  block?: BlockShape | readonly BlockShape[];
}

/**
 * Zhu & Gupta: s_t = s_f + (s_i - s_f) (1 - (t - t0) / (t_end - t0))^3 for t0 <= t <= t_end,
 * s_i before t0 and s_f after.
 */
export function scheduledSparsity(g: Omit<GradualPruning, 'initialSparsity' | 'finalSparsity'> & { initialSparsity?: number; finalSparsity: number }, step: number): number {
  const t0 = g.beginStep ?? 0;
  const si = g.initialSparsity ?? 0;
  if (step < t0) return si;
  const progress = Math.min(1, (step - t0) / (g.endStep - t0));
  return g.finalSparsity + (si - g.finalSparsity) * (1 - progress) ** 3;
}

/** Each final sparsity's scheduled value at `step`; layers whose final sparsity is below the initial one stay at their final one. */
function scheduledSparsities(g: GradualPruning, step: number): number | number[] {
  const f = g.finalSparsity;
  const si = g.initialSparsity ?? 0;
  if (typeof f === 'number') return scheduledSparsity({ ...g, initialSparsity: si as number, finalSparsity: f }, step);
  return f.map((s, i) => {
    const start = typeof si === 'number' ? si : si[i]!;
    return Math.min(s, scheduledSparsity({ ...g, initialSparsity: start, finalSparsity: Math.max(s, start) }, step));
  });
}

export function checkGradual(g: GradualPruning): void {
  const t0 = g.beginStep ?? 0;
  const freq = g.frequency ?? 100;
  const finals = typeof g.finalSparsity === 'number' ? [g.finalSparsity] : g.finalSparsity;
  if (typeof g.finalSparsity !== 'number' && g.scope === 'global') throw new InvalidArgumentError('Gradual pruning with one final sparsity per layer needs scope "layer".');
  const initial = g.initialSparsity ?? 0;
  if (typeof initial !== 'number' && (typeof g.finalSparsity === 'number' || initial.length !== finals.length))
    throw new InvalidArgumentError(
      `Gradual pruning with one initial sparsity per layer needs as many final ones (scope "layer"), got ${initial.length} and ${typeof g.finalSparsity === 'number' ? 'one' : finals.length}.`,
    );
  finals.forEach((f, i) => {
    const si = typeof initial === 'number' ? initial : initial[i]!;
    // A per-layer final sparsity may be below a shared initial one (that layer stays at its final); a layer's own initial one may not.
    if (!(si >= 0 && si < 1 && f >= (typeof g.finalSparsity === 'number' || typeof initial !== 'number' ? si : 0) && f < 1))
      throw new InvalidArgumentError(`Gradual pruning needs 0 <= initialSparsity <= finalSparsity < 1, got ${si} and ${f}.`);
  });
  if (!(Number.isInteger(t0) && Number.isInteger(g.endStep) && t0 >= 0 && g.endStep > t0))
    throw new InvalidArgumentError(`Gradual pruning needs whole steps 0 <= beginStep < endStep, got ${t0} and ${g.endStep}.`);
  if (!(Number.isInteger(freq) && freq >= 1)) throw new InvalidArgumentError(`Gradual pruning frequency must be a positive integer, got ${freq}.`);
  if (g.block) checkBlocks(g.block);
}

/** Whether the schedule prunes after training step `step` (0-based count of finished steps). */
export function prunesAt(g: GradualPruning, step: number): boolean {
  const t0 = g.beginStep ?? 0;
  const freq = g.frequency ?? 100;
  return step >= t0 && step <= g.endStep && ((step - t0) % freq === 0 || step === g.endStep);
}

export async function pruneToSchedule(model: Model, g: GradualPruning, step: number): Promise<PruneReport> {
  const sparsity = scheduledSparsities(g, step);
  const block = g.block;
  return prune(model, g.scope === 'global' && typeof sparsity === 'number' ? { type: 'global', sparsity, block } : { type: 'layer', sparsity, block });
}

/**
 * The hook (TF-MOT's UpdatePruningStep): prunes to the scheduled sparsity after the steps the
 * schedule names. Under quantization-aware training it prunes the float weights.
 */
export function gradualPruning(g: GradualPruning): TrainingHook {
  checkGradual(g);
  return {
    name: 'gradualPruning',
    begin({ model }) {
      if (model.layers.some((l) => l.quant?.codebook)) throw new InvalidArgumentError('A model with shared (k-means) weights trains its shared values only; it cannot be pruned while training.');
    },
    async afterStep({ model, step }) {
      if (prunesAt(g, step)) await pruneToSchedule(model, g, step);
    },
  };
}
