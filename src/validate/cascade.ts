/**
 * A compressed/dense cascade (the seed: use the compressed model together with the original):
 * the small model answers every row, and the rows whose top softmax probability is below a
 * threshold go to the large model, whose answer replaces the small one's. The threshold trades
 * accuracy for speed; choose it on validation rows (cascadeCurve, chooseThreshold), never on the
 * test set, then measure the chosen cascade on the test set once.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../nn/model.js';

/** Thresholds a curve tries by default: the small model alone, then ever more rows deferred. */
export const CASCADE_THRESHOLDS = [0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999];

export interface CascadeAnswer {
  classes: Int32Array;
  /** The rows the large model answered. */
  deferred: Uint32Array;
}

function top(p: Float32Array, rows: number, classes: number): { classes: Int32Array; confidence: Float32Array } {
  const out = new Int32Array(rows),
    confidence = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[r * classes + c]! > p[r * classes + best]!) best = c;
    out[r] = best;
    confidence[r] = p[r * classes + best]!;
  }
  return { classes: out, confidence };
}

function check(small: Model, large: Model, threshold: number): void {
  if (small.inputs !== large.inputs || small.outputs !== large.outputs)
    throw new ShapeError(`The cascade's models must agree: ${small.inputs} -> ${small.outputs} against ${large.inputs} -> ${large.outputs}.`);
  if (!(threshold >= 0 && threshold <= 1)) throw new InvalidArgumentError(`The cascade threshold is a probability in [0, 1], got ${threshold}.`);
}

/** The cascade's classes for rows x [rows * inputs], and which rows went to the large model. */
export async function cascadePredict(small: Model, large: Model, x: Float32Array, options: { threshold: number }): Promise<CascadeAnswer> {
  const { threshold } = options;
  check(small, large, threshold);
  const rows = x.length / small.inputs;
  const k = small.outputs;
  const first = top(await small.predict(x, { probabilities: true }), rows, k);
  const deferred = Uint32Array.from(Array.from(first.confidence.keys()).filter((r) => first.confidence[r]! < threshold));
  if (deferred.length) {
    const sub = new Float32Array(deferred.length * small.inputs);
    deferred.forEach((r, i) => sub.set(x.subarray(r * small.inputs, (r + 1) * small.inputs), i * small.inputs));
    const second = top(await large.predict(sub, { probabilities: true }), deferred.length, k);
    deferred.forEach((r, i) => (first.classes[r] = second.classes[i]!));
  }
  return { classes: first.classes, deferred };
}

export interface CascadePoint {
  threshold: number;
  accuracy: number;
  /** Fraction of rows the large model answered. */
  deferred: number;
  /** Measured: cascadePredict on `batch` rows at this threshold, best of `rounds`. */
  rowsPerSecond: number;
}

export interface CascadeCurve {
  points: CascadePoint[];
  small: { accuracy: number; rowsPerSecond: number };
  large: { accuracy: number; rowsPerSecond: number };
}

/**
 * Accuracy, deferred fraction and speed of the cascade at each threshold on labelled rows. The
 * accuracy and deferral come from each model's predictions on all rows (what the cascade
 * combines); the speed is the cascade itself, timed on the first `batch` rows.
 */
export async function cascadeCurve(small: Model, large: Model, data: Dataset, options: { thresholds?: readonly number[]; batch?: number; rounds?: number } = {}): Promise<CascadeCurve> {
  const thresholds = options.thresholds ?? CASCADE_THRESHOLDS;
  if (!data.labels) throw new InvalidArgumentError('cascadeCurve needs labelled rows.');
  if (thresholds.length === 0) throw new InvalidArgumentError('cascadeCurve needs at least one threshold.');
  for (const t of thresholds) check(small, large, t);
  const k = small.outputs;
  const s = top(await small.predict(data.features, { probabilities: true }), data.rows, k);
  const l = top(await large.predict(data.features, { probabilities: true }), data.rows, k);
  const accuracyOf = (pred: (r: number) => number) => {
    let right = 0;
    for (let r = 0; r < data.rows; r++) if (pred(r) === data.labels![r]) right++;
    return right / data.rows;
  };
  const batch = Math.min(options.batch ?? 1024, data.rows);
  const rounds = options.rounds ?? 3;
  const x = data.features.subarray(0, batch * data.cols);
  const speed = async (run: () => Promise<unknown>) => {
    let best = Infinity;
    for (let r = 0; r <= rounds; r++) {
      const t0 = performance.now();
      await run();
      if (r > 0) best = Math.min(best, performance.now() - t0); // round 0 warms up
    }
    return (batch / best) * 1000;
  };
  const points: CascadePoint[] = [];
  for (const threshold of thresholds) {
    const deferred = (r: number) => s.confidence[r]! < threshold;
    points.push({
      threshold,
      accuracy: accuracyOf((r) => (deferred(r) ? l.classes[r]! : s.classes[r]!)),
      deferred: Array.from(s.confidence).filter((c) => c < threshold).length / data.rows,
      rowsPerSecond: await speed(() => cascadePredict(small, large, x, { threshold })),
    });
  }
  return {
    points,
    small: { accuracy: accuracyOf((r) => s.classes[r]!), rowsPerSecond: await speed(() => small.predict(x)) },
    large: { accuracy: accuracyOf((r) => l.classes[r]!), rowsPerSecond: await speed(() => large.predict(x)) },
  };
}

/**
 * The fastest point of a validation curve whose accuracy is within maxDrop of the large
 * model's; the large model alone (threshold 1) when none is.
 */
export function chooseThreshold(curve: CascadeCurve, options: { maxDrop: number }): CascadePoint {
  const { maxDrop } = options;
  if (!(maxDrop >= 0 && maxDrop < 1)) throw new InvalidArgumentError(`maxDrop must be in [0, 1), got ${maxDrop}.`);
  const ok = curve.points.filter((p) => p.accuracy >= curve.large.accuracy - maxDrop);
  if (!ok.length) return { threshold: 1, accuracy: curve.large.accuracy, deferred: 1, rowsPerSecond: curve.large.rowsPerSecond };
  return ok.reduce((a, b) => (b.deferred < a.deferred || (b.deferred === a.deferred && b.rowsPerSecond > a.rowsPerSecond) ? b : a));
}

/** cascade(small, large, { threshold }).predict(x): cascadePredict with the models and threshold bound. */
export function cascade(small: Model, large: Model, options: { threshold: number }): { threshold: number; predict(x: Float32Array): Promise<CascadeAnswer> } {
  check(small, large, options.threshold);
  return { threshold: options.threshold, predict: (x) => cascadePredict(small, large, x, options) };
}

/** A cascade chosen on validation rows and measured once on test rows: what a report records. */
export interface CascadeStudy {
  threshold: number;
  validation: CascadeCurve & { rows: number };
  test: { rows: number; small: CascadeCurve['small']; large: CascadeCurve['large']; cascade: { accuracy: number; deferred: number; rowsPerSecond: number } };
}

/** The validation curve, the threshold within maxDrop of the large model there, and the test figures at it. */
export async function studyCascade(small: Model, large: Model, validation: Dataset, test: Dataset, options: { maxDrop: number; thresholds?: readonly number[] }): Promise<CascadeStudy> {
  const curve = await cascadeCurve(small, large, validation, options);
  const { threshold } = chooseThreshold(curve, options);
  const onTest = await cascadeCurve(small, large, test, { thresholds: [threshold] });
  const answer = await cascadePredict(small, large, test.features, { threshold });
  const accuracy = answer.classes.reduce((n, c, r) => n + (c === test.labels![r] ? 1 : 0), 0) / test.rows;
  return {
    threshold,
    validation: { rows: validation.rows, ...curve },
    test: { rows: test.rows, small: onTest.small, large: onTest.large, cascade: { accuracy, deferred: answer.deferred.length / test.rows, rowsPerSecond: onTest.points[0]!.rowsPerSecond } },
  };
}
