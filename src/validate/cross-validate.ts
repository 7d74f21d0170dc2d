/**
 * Cross-validation on the GPU: the dataset is uploaded once and every fold trains a fresh model
 * on index gathers of it. An optional compression step runs inside each fold after training, so
 * the compressed model is what gets scored.
 */
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Device } from '../gpu/device.js';
import type { MLP } from '../nn/mlp.js';
import { fit, type FitOptions } from '../nn/train.js';
import type { Splitter } from './split.js';
import { testMetrics } from './metrics.js';

export interface FoldResult {
  fold: number;
  trainRows: number;
  testRows: number;
  fitSeconds: number;
  scoreSeconds: number;
  /** accuracy, f1Macro, logLoss (classification) or mse, mae, r2 (regression). */
  scores: Record<string, number>;
}

export interface CrossValidation {
  splitter: string;
  folds: FoldResult[];
  /** Mean and standard deviation (population, as NumPy's std) of each score over the folds. */
  mean: Record<string, number>;
  std: Record<string, number>;
}

export interface CrossValidateOptions {
  fit: Omit<FitOptions, 'rows' | 'validationData' | 'validationSplit' | 'earlyStopping'>;
  /** Runs after training in each fold; returns the model to score (for example a pruned copy). */
  compress?: (model: MLP, fold: number) => MLP | Promise<MLP>;
  onFold?: (result: FoldResult) => void;
}

/** Trains makeModel(device, fold) on each split's train rows and scores it on its test rows. */
export async function crossValidate(
  device: Device,
  makeModel: (device: Device, fold: number) => MLP,
  data: Dataset,
  splitter: Splitter,
  options: CrossValidateOptions,
): Promise<CrossValidation> {
  const splits = splitter.split(data.rows, data.labels);
  const gpu = new GpuDataset(device, data);
  const folds: FoldResult[] = [];
  try {
    for (const [fold, { train, test }] of splits.entries()) {
      const model = makeModel(device, fold);
      let scored = model;
      try {
        const t0 = performance.now();
        await fit(model, gpu, { ...options.fit, batchSize: Math.min(options.fit.batchSize, train.length), rows: train });
        if (options.compress) scored = await options.compress(model, fold);
        await device.sync();
        const t1 = performance.now();
        const m = await testMetrics(scored, gpu, { rows: test, topK: 1 });
        const scores: Record<string, number> =
          m.kind === 'classification' ? { accuracy: m.accuracy, f1Macro: m.f1.macro, logLoss: m.logLoss } : { mse: m.mse, mae: m.mae, r2: m.r2 };
        const result: FoldResult = { fold, trainRows: train.length, testRows: test.length, fitSeconds: (t1 - t0) / 1000, scoreSeconds: (performance.now() - t1) / 1000, scores };
        folds.push(result);
        options.onFold?.(result);
      } finally {
        model.dispose();
        if (scored !== model) scored.dispose();
      }
    }
  } finally {
    gpu.dispose();
  }
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const key of Object.keys(folds[0]?.scores ?? {})) {
    const v = folds.map((f) => f.scores[key]!);
    mean[key] = v.reduce((a, b) => a + b, 0) / v.length;
    std[key] = Math.sqrt(v.reduce((a, b) => a + (b - mean[key]!) ** 2, 0) / v.length);
  }
  return { splitter: splitter.name, folds, mean, std };
}
