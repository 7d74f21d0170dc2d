/** Iterative prune-and-retrain (Han et al. 2015: retrain at a tenth of the learning rate). */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { MLP } from '../nn/mlp.js';
import { fit, type FitOptions, type History } from '../nn/train.js';
import { prune, type PruneReport } from './prune.js';

/**
 * Han et al.'s iterative pruning: for each target sparsity in turn, prune (by layer or
 * globally), then retrain with the fit options at a tenth of their learning rate.
 */
export async function iterativePrune(
  model: MLP,
  data: Dataset,
  options: { sparsities: number[]; scope?: 'layer' | 'global'; fit: FitOptions; onRound?: (round: number, report: PruneReport, history: History) => void },
): Promise<PruneReport> {
  if (options.sparsities.length === 0) throw new InvalidArgumentError('iterativePrune needs at least one target sparsity.');
  let report: PruneReport | undefined;
  for (const [round, sparsity] of options.sparsities.entries()) {
    report = await prune(model, options.scope === 'global' ? { type: 'global', sparsity } : { type: 'layer', sparsity });
    const history = await fit(model, data, { ...options.fit, learningRate: options.fit.learningRate / 10 });
    options.onRound?.(round, report, history);
  }
  return report!;
}
