/**
 * Cross-validation on the GPU: the dataset is uploaded once and every fold trains a fresh model
 * on index gathers of it. An optional compression step runs inside each fold after training, so
 * the compressed model is what gets scored. Preprocessing (standardization, or any transform
 * fitted to data) is part of the pipeline, as in a scikit-learn Pipeline: it is fitted on each
 * fold's training rows only and applied to that fold's rows, so no test row leaks into it.
 */
import { subset, type Dataset } from '../data/dataset.js';
import { Standardizer } from '../data/csv.js';
import { GpuDataset, hostData, onGpu } from '../data/gpu-dataset.js';
import type { Model } from '../nn/model.js';
import { fit, type FitOptions } from '../nn/train.js';
import type { Split, Splitter } from './split.js';
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

/** Fits a transform on training rows; returns it, to apply to any rows. */
export type Preprocess = (train: Dataset) => (data: Dataset) => Dataset;

/** Standardization fitted inside each fold (mean and population std of its training rows). */
export const standardizeInFold: Preprocess = (train) => {
  const s = Standardizer.fit(train);
  return (data) => s.transform(data);
};

export interface CrossValidateOptions<M extends Model = Model> {
  /** How rows are split into folds (kFold, stratifiedKFold, groupKFold, leaveOneOut, ...). */
  splitter: Splitter;
  /** Fitted on each fold's training rows (e.g. standardizeInFold); default none. */
  preprocess?: Preprocess;
  fit: Omit<FitOptions, 'rows' | 'validationData' | 'validationSplit' | 'earlyStopping'>;
  /** Runs after training in each fold; returns the model to score (for example a pruned copy). */
  compress?: (model: M, fold: number) => Model | Promise<Model>;
  onFold?: (result: FoldResult) => void;
}

/**
 * Trains createModel(fold) on each split's training rows and scores it on its test rows (as
 * scikit-learn's cross_validate). The data goes to the models' device once, or once per fold when
 * a preprocessing step is fitted per fold.
 */
export async function crossValidate<M extends Model>(createModel: (fold: number) => M, data: Dataset | GpuDataset, options: CrossValidateOptions<M>): Promise<CrossValidation> {
  const host = hostData(data);
  const { splitter } = options;
  const splits = splitter.split(host.rows, host.labels);
  let shared: { gpu: GpuDataset; owned: boolean } | undefined;
  const folds: FoldResult[] = [];
  try {
    for (const [fold, split] of splits.entries()) {
      const model = createModel(fold);
      const device = model.device;
      // Without preprocessing the data is uploaded once; with it, each fold uploads its own transform.
      if (!options.preprocess) shared ??= onGpu(device, data);
      const gpu = shared?.gpu ?? new GpuDataset(device, options.preprocess!(subset(host, split.train))(host));
      try {
        const result = await runFold(model, gpu, split, fold, options);
        folds.push(result);
        options.onFold?.(result);
      } finally {
        if (gpu !== shared?.gpu) gpu.dispose();
      }
    }
  } finally {
    if (shared?.owned) shared.gpu.dispose();
  }
  return summarizeFolds(splitter.name, folds);
}

/** One fold: `model` trained on the split's training rows, compressed if asked, scored on its test rows; the model is disposed. */
export async function runFold<M extends Model>(model: M, gpu: GpuDataset, split: Split, fold: number, options: Pick<CrossValidateOptions<M>, 'fit' | 'compress'>): Promise<FoldResult> {
  const { train, test } = split;
  let scored: Model = model;
  try {
    const t0 = performance.now();
    await fit(model, gpu, { ...options.fit, batchSize: Math.min(options.fit.batchSize, train.length), rows: train });
    if (options.compress) scored = await options.compress(model, fold);
    await model.device.sync();
    const t1 = performance.now();
    const m = await testMetrics(scored, gpu, { rows: test, topK: 1 });
    const scores: Record<string, number> = m.kind === 'classification' ? { accuracy: m.accuracy, f1Macro: m.f1.macro, logLoss: m.logLoss } : { mse: m.mse, mae: m.mae, r2: m.r2 };
    return { fold, trainRows: train.length, testRows: test.length, fitSeconds: (t1 - t0) / 1000, scoreSeconds: (performance.now() - t1) / 1000, scores };
  } finally {
    model.dispose();
    if (scored !== model) scored.dispose();
  }
}

/** The folds with the mean and population standard deviation of each score. */
export function summarizeFolds(splitter: string, folds: FoldResult[]): CrossValidation {
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const key of Object.keys(folds[0]?.scores ?? {})) {
    const v = folds.map((f) => f.scores[key]!);
    mean[key] = v.reduce((a, b) => a + b, 0) / v.length;
    std[key] = Math.sqrt(v.reduce((a, b) => a + (b - mean[key]!) ** 2, 0) / v.length);
  }
  return { splitter, folds, mean, std };
}
