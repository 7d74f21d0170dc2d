/** Early stopping (Keras's EarlyStopping): stop when a validation metric stops improving, keep the best weights. */
import { InvalidArgumentError } from '../errors.js';
import { BestWeights } from './best-weights.js';
import type { TrainingHook, TrainingRun } from './hooks.js';
import type { EpochReport } from './train.js';

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

export function checkEarlyStopping(es: EarlyStopping): void {
  if (!Number.isInteger(es.patience) || es.patience < 1) throw new InvalidArgumentError(`earlyStopping.patience must be a positive integer, got ${es.patience}.`);
  if (es.monitor && es.monitor !== 'valLoss' && es.monitor !== 'valAccuracy') throw new InvalidArgumentError(`earlyStopping.monitor must be valLoss or valAccuracy, got ${es.monitor}.`);
}

/** The hook: keeps a copy of the best epoch's parameters on the GPU (shared values too) and records bestEpoch/stoppedEarly. */
export function earlyStoppingHook(es: EarlyStopping): TrainingHook {
  checkEarlyStopping(es);
  let best: BestWeights | undefined;
  return {
    name: 'earlyStopping',
    begin({ model }: TrainingRun) {
      // Shared (k-means) layers keep their best codebooks; their weights follow from them.
      // Batch norms keep their best parameters and running averages.
      const norms = 'norms' in model ? model.norms.flatMap((n) => [n.gamma, n.beta, n.running]) : [];
      best = new BestWeights([...model.layers.flatMap((l) => [l.weight, l.bias, ...(l.quant?.codebook ? [l.quant.codebook] : [])]), ...norms]);
    },
    epochEnd({ epoch, history }: TrainingRun, report: EpochReport) {
      const value = es.monitor === 'valAccuracy' ? -report.valAccuracy! : report.valLoss!;
      if (best!.offer(value, epoch + 1, es.minDelta ?? 0)) return false;
      if (epoch + 1 - best!.epoch < es.patience) return false;
      history.stoppedEarly = true;
      return true;
    },
    end({ history }: TrainingRun) {
      history.bestEpoch = best!.epoch;
      history.stoppedEarly ??= false;
      if (es.restoreBest ?? true) best!.restore();
    },
    dispose: () => best?.dispose(),
  };
}
