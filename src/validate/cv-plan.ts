/**
 * Cross-validation described by plain values (architecture, training settings, splitter,
 * compression, in-fold standardization) instead of callbacks, so that its folds can run anywhere:
 * in this process (shrinkray cv) or on queue workers (cv --queue), through the same function per
 * fold, with the same numbers.
 */
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Device } from '../gpu/device.js';
import { prune } from '../compress/prune.js';
import { quantizeWeights } from '../compress/quantize.js';
import { withBatchNormFolded } from '../compress/fold.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { type LayerSpec, Sequential } from '../nn/sequential.js';
import type { FitOptions } from '../nn/train.js';
import { type FoldResult, runFold, standardizeInFold } from './cross-validate.js';
import { kFold, leaveOneOut, type Split, type Splitter, stratifiedKFold } from './split.js';
import type { Runner } from './sweep.js';

export interface CvPlan {
  /** Hidden widths of an MLP, or (with `network`) unused. */
  hidden: number[];
  outputs: number;
  /** A convolutional network instead of an MLP: its input shape and hidden layers (the output layer comes from `outputs`). */
  network?: { input: number[]; layers: LayerSpec[] };
  /** Training settings of every fold (plain values: they travel as JSON). */
  fit: Omit<FitOptions, 'rows' | 'validationData' | 'validationSplit' | 'earlyStopping' | 'hooks' | 'onEpoch' | 'signal'>;
  method: 'stratified' | 'kfold' | 'loo';
  folds: number;
  shuffle: boolean;
  seed: number;
  /** Global magnitude pruning and min-max bits applied to each fold's model before it is scored. */
  sparsity?: number;
  bits?: number;
  /** Standardize the features inside each fold on its training rows (CSV data). */
  standardize: boolean;
}

export function planSplitter(plan: CvPlan): Splitter {
  const { method, folds, shuffle, seed } = plan;
  return method === 'loo' ? leaveOneOut() : method === 'kfold' ? kFold(folds, { shuffle, seed }) : stratifiedKFold(folds, { shuffle, seed });
}

export interface CvContext {
  device: Device;
  host: Dataset;
  /** The data on the GPU once, when no fold standardizes its own copy. */
  shared?: GpuDataset;
  splits: Split[];
  plan: CvPlan;
}

export function cvContext(device: Device, host: Dataset, plan: CvPlan): CvContext {
  return { device, host, plan, splits: planSplitter(plan).split(host.rows, host.labels), ...(plan.standardize ? {} : { shared: new GpuDataset(device, host) }) };
}

/** Fold `fold` of the plan: a fresh model (seed + fold), trained, compressed if asked, scored. */
export async function runPlannedFold(context: CvContext, fold: number): Promise<FoldResult> {
  const { device, host, plan, splits } = context;
  const split = splits[fold]!;
  const gpu = context.shared ?? new GpuDataset(device, standardizeInFold(subset(host, split.train))(host));
  try {
    const model = planModel(device, host.cols, plan, plan.seed + fold);
    const compress =
      plan.sparsity !== undefined || plan.bits !== undefined
        ? async (trained: Model) => {
            // Quantization works on folded weights: a network's batch norms are folded first.
            const m = plan.bits !== undefined ? await withBatchNormFolded(trained) : trained;
            if (plan.sparsity !== undefined) await prune(m, { type: 'global', sparsity: plan.sparsity });
            if (plan.bits !== undefined) await quantizeWeights(m, { bits: plan.bits });
            return m;
          }
        : undefined;
    return await runFold(model, gpu, split, fold, { fit: plan.fit, ...(compress ? { compress } : {}) });
  } finally {
    if (gpu !== context.shared) gpu.dispose();
  }
}

/** A fresh model of the plan's architecture. */
function planModel(device: Device, inputs: number, plan: CvPlan, seed: number): Model {
  if (!plan.network) return MLP.create(device, [inputs, ...plan.hidden, plan.outputs], { seed });
  return Sequential.create(device, { input: plan.network.input, layers: [...plan.network.layers, { type: 'dense', units: plan.outputs, activation: 'identity' }], seed });
}

/** The folds one after another in this process. */
export function inProcessCvRunner(context: CvContext): Runner<{ id: number }, FoldResult> {
  return {
    async run(trials, onResult) {
      const out: FoldResult[] = [];
      for (const t of trials) {
        const r = await runPlannedFold(context, t.id);
        onResult?.(r);
        out.push(r);
      }
      return out;
    },
  };
}
