/**
 * External validation: the metrics of a model on a test set, computed on the GPU where the data
 * lives (predictions, confusion matrix, top-k, log loss, regression sums) and finished on the
 * CPU from those few numbers. Definitions follow scikit-learn's.
 */
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../gpu/tensor.js';
import { newStats, lossForward, STATS } from '../kernels/loss.js';
import { classifyBatch, regressionSums } from '../kernels/metrics.js';
import { fill } from '../kernels/elementwise.js';
import type { Model } from '../nn/model.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';

export interface Averages {
  macro: number;
  micro: number;
  weighted: number;
}

export interface ClassificationMetrics {
  kind: 'classification';
  rows: number;
  accuracy: number;
  topK: { k: number; accuracy: number };
  precision: Averages;
  recall: Averages;
  f1: Averages;
  /** confusion[true][predicted] */
  confusion: number[][];
  /** Per class, as scikit-learn's classification_report: precision, recall, F1, support (true rows). */
  perClass: ClassScores[];
  /** With options.positiveLabel: the positive class's scores (scikit-learn's average='binary'). */
  binary?: ClassScores & { positive: number };
  /** Mean -log softmax(z)[label] (natural log). */
  logLoss: number;
  /** The predicted class of every row scored (in the order of `rows`). */
  predictions: Uint32Array;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface RegressionMetrics {
  kind: 'regression';
  rows: number;
  mse: number;
  mae: number;
  /** Coefficient of determination, averaged uniformly over output columns (as scikit-learn). */
  r2: number;
}

/**
 * Precision, recall and F1 from a confusion matrix. Averages run over the classes that occur in
 * the labels or the predictions; a class never predicted has precision 0 (scikit-learn's
 * zero_division = 0); micro averages equal the accuracy for single-label data.
 */
export function scoresFromConfusion(confusion: number[][]): { precision: Averages; recall: Averages; f1: Averages; accuracy: number; perClass: ClassScores[] } {
  const C = confusion.length;
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predicted = Array.from({ length: C }, (_, c) => confusion.reduce((a, row) => a + row[c]!, 0));
  const total = support.reduce((a, b) => a + b, 0);
  const tp = confusion.map((row, c) => row[c]!);
  const present = Array.from({ length: C }, (_, c) => c).filter((c) => support[c]! > 0 || predicted[c]! > 0);
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const p = tp.map((t, c) => div(t, predicted[c]!));
  const r = tp.map((t, c) => div(t, support[c]!));
  const f = p.map((pc, c) => div(2 * pc * r[c]!, pc + r[c]!));
  const accuracy = div(
    tp.reduce((a, b) => a + b, 0),
    total,
  );
  const avg = (v: number[]): Averages => ({
    macro: present.reduce((a, c) => a + v[c]!, 0) / present.length,
    micro: accuracy,
    weighted: div(
      present.reduce((a, c) => a + v[c]! * support[c]!, 0),
      total,
    ),
  });
  const perClass = Array.from({ length: C }, (_, c) => ({ precision: p[c]!, recall: r[c]!, f1: f[c]!, support: support[c]! }));
  return { precision: avg(p), recall: avg(r), f1: avg(f), accuracy, perClass };
}

/** Every metric of `model` on `data`: classification for labelled data, regression for targets. */
export async function testMetrics(
  model: Model,
  data: Dataset | GpuDataset,
  options: { topK?: number; batchSize?: number; rows?: ArrayLike<number>; positiveLabel?: number } = {},
): Promise<ClassificationMetrics | RegressionMetrics> {
  const device = model.device;
  const owned = !(data instanceof GpuDataset);
  const gpu = data instanceof GpuDataset ? data : new GpuDataset(device, data);
  const raw = gpu.data;
  if (raw.cols !== model.inputs) throw new ShapeError(`The data has ${raw.cols} features but the model takes ${model.inputs} inputs.`);
  const C = model.outputs;
  const k = options.topK ?? Math.min(5, C);
  if (!Number.isInteger(k) || k < 1 || k > C) throw new InvalidArgumentError(`topK must be from 1 to the ${C} outputs, got ${k}.`);
  if (raw.labels && raw.classes! > C) throw new ShapeError(`The data has ${raw.classes} classes but the model has ${C} outputs.`);
  const positive = options.positiveLabel;
  if (positive !== undefined && !(Number.isInteger(positive) && positive >= 0 && positive < C)) throw new InvalidArgumentError(`positiveLabel must be a class from 0 to ${C - 1}, got ${positive}.`);
  const order = options.rows ? Uint32Array.from(options.rows) : Uint32Array.from({ length: raw.rows }, (_, i) => i);
  const n = order.length;
  if (n === 0 || order.some((r) => r >= raw.rows)) throw new InvalidArgumentError(`rows must be a non-empty list of rows of the ${raw.rows} rows of data.`);
  const temps: Tensor[] = [];
  const take = <T extends Tensor>(t: T): T => (temps.push(t), t);
  try {
    const acc = raw.labels
      ? {
          pred: take(device.empty([n], 'u32')),
          confusion: take(device.tensor(new Uint32Array(C * C))),
          topk: take(device.tensor(new Uint32Array(4))),
        }
      : undefined;
    const stats = take(newStats(device));
    const sums = raw.targets ? take(fill(device.empty([4 * C]), 0)) : undefined;
    await model.prepareInference(); // pruned layers run sparse
    await gpu.forEachBatch(
      Math.min(options.batchSize ?? 1024, n),
      (x, y, offset) => {
        const z = model.forward(x);
        if (acc) {
          classifyBatch(z, y as Tensor<'i32'>, acc, offset, k);
          lossForward('softmaxCrossEntropy', { z, target: y, stats });
        } else regressionSums(z, y as Tensor<'f32'>, sums!);
        z.dispose();
      },
      order,
    );
    if (!acc) {
      const s = await sums!.read();
      let mse = 0,
        mae = 0,
        r2 = 0;
      for (let c = 0; c < C; c++) {
        const [sq, ab, st, st2] = [s[4 * c]!, s[4 * c + 1]!, s[4 * c + 2]!, s[4 * c + 3]!];
        mse += sq / n / C;
        mae += ab / n / C;
        const ssTot = st2 - (st * st) / n;
        r2 += (ssTot > 0 ? 1 - sq / ssTot : sq === 0 ? 1 : 0) / C; // scikit-learn: constant target -> 1 if perfect, else 0
      }
      return { kind: 'regression', rows: n, mse, mae, r2 };
    }
    const [cm, top, s, predictions] = await Promise.all([acc.confusion.read(), acc.topk.read(), stats.read(), acc.pred.read()]);
    const confusion = Array.from({ length: C }, (_, i) => Array.from(cm.subarray(i * C, (i + 1) * C)));
    const scores = scoresFromConfusion(confusion);
    return {
      kind: 'classification',
      rows: n,
      accuracy: scores.accuracy,
      topK: { k, accuracy: top[0]! / n },
      precision: scores.precision,
      recall: scores.recall,
      f1: scores.f1,
      perClass: scores.perClass,
      ...(positive !== undefined ? { binary: { positive, ...scores.perClass[positive]! } } : {}),
      confusion,
      logLoss: s[STATS.lossSum]! / n,
      predictions,
    };
  } finally {
    for (const t of temps) t.dispose();
    if (owned) gpu.dispose();
  }
}
