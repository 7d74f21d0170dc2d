/** The in-memory dataset type shared by training, evaluation and validation. */
import { InvalidArgumentError, ShapeError } from '../errors.js';

export interface Dataset {
  /** Row-major features [rows, cols]. */
  features: Float32Array;
  rows: number;
  cols: number;
  /** Class ids in [0, classes) for classification... */
  labels?: Int32Array;
  classes?: number;
  /** ...with their names when they came from strings (CSV). */
  classNames?: string[];
  /** ...or regression targets [rows, targetCols]. */
  targets?: Float32Array;
  targetCols?: number;
  /**
   * Optional: the same features as bytes (feature = byte * byteScale), as image data comes. The
   * GPU then keeps them packed four to a u32: 4x less memory (MNIST fits in 47 MB, not 188 MB).
   */
  bytes?: Uint8Array;
  byteScale?: number;
  /** When rows are images (IDX, MNIST): their [h, w, c], pixels row by row, channels last; h * w * c = cols. */
  imageShape?: number[];
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** Throws a typed error naming the first problem: sizes, NaN/Inf, labels out of range. */
export function validateDataset(d: Dataset, name = 'data'): void {
  if (!Number.isInteger(d.rows) || !Number.isInteger(d.cols) || d.rows < 1 || d.cols < 1) throw new ShapeError(`${name}: rows and cols must be positive integers, got ${d.rows} x ${d.cols}.`);
  if (d.features.length !== d.rows * d.cols) throw new ShapeError(`${name}: ${d.features.length} feature values for ${d.rows} rows x ${d.cols} cols.`);
  const bad = firstNonFinite(d.features);
  if (bad >= 0) throw new InvalidArgumentError(`${name}: feature ${d.features[bad]} at row ${Math.floor(bad / d.cols)}, column ${bad % d.cols}; clean or impute it first.`);
  if (d.labels && d.targets) throw new InvalidArgumentError(`${name}: give labels (classification) or targets (regression), not both.`);
  if (d.labels) {
    if (d.labels.length !== d.rows) throw new ShapeError(`${name}: ${d.labels.length} labels for ${d.rows} rows.`);
    if (!Number.isInteger(d.classes) || d.classes! < 1) throw new InvalidArgumentError(`${name}: classes must be a positive integer, got ${d.classes}.`);
    for (let i = 0; i < d.rows; i++) {
      const l = d.labels[i]!;
      if (l < 0 || l >= d.classes!) throw new InvalidArgumentError(`${name}: label ${l} at row ${i} is outside [0, ${d.classes}).`);
    }
  }
  if (d.targets) {
    if (d.targets.length !== d.rows * (d.targetCols ?? 0)) throw new ShapeError(`${name}: ${d.targets.length} target values for ${d.rows} rows x ${d.targetCols} cols.`);
    const t = firstNonFinite(d.targets);
    if (t >= 0) throw new InvalidArgumentError(`${name}: target ${d.targets[t]} at row ${Math.floor(t / d.targetCols!)} is not finite.`);
  }
  if (d.bytes && (d.bytes.length !== d.rows * d.cols || !(d.byteScale! > 0))) throw new ShapeError(`${name}: bytes must hold rows x cols values with a positive byteScale.`);
  if (d.imageShape && (d.imageShape.length !== 3 || d.imageShape.reduce((a, b) => a * b, 1) !== d.cols))
    throw new ShapeError(`${name}: imageShape [${d.imageShape.join(', ')}] is not [h, w, c] with h * w * c = ${d.cols} columns.`);
}

/** The rows at `index` as a new dataset (features, labels or targets, bytes). */
export function subset(d: Dataset, index: ArrayLike<number>): Dataset {
  const n = index.length;
  const features = new Float32Array(n * d.cols);
  const bytes = d.bytes ? new Uint8Array(n * d.cols) : undefined;
  const labels = d.labels ? new Int32Array(n) : undefined;
  const k = d.targetCols ?? 0;
  const targets = d.targets ? new Float32Array(n * k) : undefined;
  for (let i = 0; i < n; i++) {
    const r = index[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= d.rows) throw new InvalidArgumentError(`subset: row ${r} is outside [0, ${d.rows}).`);
    features.set(d.features.subarray(r * d.cols, (r + 1) * d.cols), i * d.cols);
    bytes?.set(d.bytes!.subarray(r * d.cols, (r + 1) * d.cols), i * d.cols);
    if (labels) labels[i] = d.labels![r]!;
    targets?.set(d.targets!.subarray(r * k, (r + 1) * k), i * k);
  }
  return { ...d, rows: n, features, bytes, labels, targets };
}
