/**
 * Did compression cost accuracy? Two models on the same labelled test set: how often they agree,
 * the accuracy difference with a seeded percentile-bootstrap confidence interval, and McNemar's
 * exact test on the samples exactly one of them gets right.
 */
import { InvalidArgumentError } from '../errors.js';
import { Random } from '../random.js';
import type { Dataset } from '../data/dataset.js';
import { type GpuDataset, hostData, onGpu } from '../data/gpu-dataset.js';
import type { Model } from '../nn/model.js';
import { testMetrics, type ClassificationMetrics } from './metrics.js';

export interface Comparison {
  rows: number;
  accuracyA: number;
  accuracyB: number;
  /** accuracyB - accuracyA */
  difference: number;
  /** Percentile bootstrap interval of the difference. */
  interval: [number, number];
  /** Percentile bootstrap intervals of each model's accuracy, from the same resamples. */
  intervalA: [number, number];
  intervalB: [number, number];
  confidence: number;
  /** Fraction of rows where both predict the same class. */
  agreement: number;
  /** Rows only A gets right, rows only B gets right. */
  onlyA: number;
  onlyB: number;
  /** McNemar's exact (binomial) two-sided p-value; 1 when the models never disagree on correctness. */
  pValue: number;
}

/** log of n choose k, by summing logs (exact enough for the counts of test sets). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** Two-sided exact McNemar p-value: 2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * p);
}

/** The rows only model A gets right (onlyA) and only model B (onlyB): McNemar's discordant pairs. */
export function discordantPairs(labels: ArrayLike<number>, predA: ArrayLike<number>, predB: ArrayLike<number>): { onlyA: number; onlyB: number } {
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < labels.length; i++) {
    const [a, b] = [predA[i] === labels[i], predB[i] === labels[i]];
    if (a && !b) onlyA++;
    else if (b && !a) onlyB++;
  }
  return { onlyA, onlyB };
}

/** Compares predictions with labels (pure; compareModels runs it on GPU predictions). */
export function comparePredictions(
  labels: ArrayLike<number>,
  predA: ArrayLike<number>,
  predB: ArrayLike<number>,
  options: { bootstrap?: number; confidence?: number; seed?: number } = {},
): Comparison {
  const n = labels.length;
  if (n === 0 || predA.length !== n || predB.length !== n) throw new InvalidArgumentError(`compare: need one prediction per label from each model (${n}, ${predA.length}, ${predB.length}).`);
  const confidence = options.confidence ?? 0.95;
  const rounds = options.bootstrap ?? 2000;
  if (!(confidence > 0 && confidence < 1)) throw new InvalidArgumentError(`confidence must be in (0, 1), got ${confidence}.`);
  if (!Number.isInteger(rounds) || rounds < 100) throw new InvalidArgumentError(`bootstrap must be at least 100 rounds, got ${rounds}.`);
  // Per row: +1 when only B is right, -1 when only A is, 0 otherwise; and whether each is right.
  const delta = new Int8Array(n);
  const correct = new Uint8Array(n * 2);
  let rightA = 0,
    rightB = 0,
    agree = 0;
  for (let i = 0; i < n; i++) {
    const a = predA[i] === labels[i],
      b = predB[i] === labels[i];
    rightA += +a;
    rightB += +b;
    correct[2 * i] = +a;
    correct[2 * i + 1] = +b;
    agree += +(predA[i] === predB[i]);
    delta[i] = +b - +a;
  }
  const { onlyA, onlyB } = discordantPairs(labels, predA, predB);
  const random = new Random(options.seed ?? 0);
  const [diffs, accA, accB] = [new Float64Array(rounds), new Float64Array(rounds), new Float64Array(rounds)];
  for (let r = 0; r < rounds; r++) {
    let [s, sa, sb] = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const k = random.int(n);
      s += delta[k]!;
      sa += correct[2 * k]!;
      sb += correct[2 * k + 1]!;
    }
    [diffs[r], accA[r], accB[r]] = [s / n, sa / n, sb / n];
  }
  const tail = (1 - confidence) / 2;
  const interval = (values: Float64Array): [number, number] => {
    values.sort();
    const q = (p: number) => values[Math.min(rounds - 1, Math.max(0, Math.round(p * (rounds - 1))))]!;
    return [q(tail), q(1 - tail)];
  };
  return {
    rows: n,
    accuracyA: rightA / n,
    accuracyB: rightB / n,
    difference: (rightB - rightA) / n,
    interval: interval(diffs),
    intervalA: interval(accA),
    intervalB: interval(accB),
    confidence,
    agreement: agree / n,
    onlyA,
    onlyB,
    pValue: mcnemarExact(onlyA, onlyB),
  };
}

/** Model A (say, dense) against model B (say, compressed) on the same labelled test data. */
export async function compareModels(a: Model, b: Model, data: Dataset | GpuDataset, options: { bootstrap?: number; confidence?: number; seed?: number } = {}): Promise<Comparison> {
  const labels = hostData(data).labels;
  if (!labels) throw new InvalidArgumentError('compareModels needs labelled (classification) data.');
  const { gpu, owned } = onGpu(a.device, data); // on the GPU once for both models
  try {
    const ma = (await testMetrics(a, gpu)) as ClassificationMetrics;
    const mb = (await testMetrics(b, gpu)) as ClassificationMetrics;
    return comparePredictions(labels, ma.predictions, mb.predictions, options);
  } finally {
    if (owned) gpu.dispose();
  }
}
