/**
 * Datasets from CSV text: a header row, numeric feature columns and one label column chosen by
 * name or index. String labels become class ids (first seen first) and the names are kept;
 * numeric labels that are whole numbers 0..k-1 are used as they are; any other numeric label
 * column is a regression target. Parsing (quotes, escapes, line endings) is PapaParse's.
 */
import Papa from 'papaparse';
import { DataFormatError, InvalidArgumentError } from '../errors.js';
import type { Dataset } from './dataset.js';

/** A decimal number: digits, an optional fraction and exponent (no hex, binary, octal or separators). */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface CsvOptions {
  /** The label column: its header name, or its 0-based index. */
  label: string | number;
  /** 'classification' (default when labels are strings or small whole numbers) or 'regression'. */
  task?: 'classification' | 'regression';
  /** Map string labels through these names (e.g. the training file's), so ids agree across files. */
  classNames?: string[];
}

export function parseCsv(text: string, options: CsvOptions): Dataset & { featureNames: string[] } {
  const parsed = Papa.parse<string[]>(text.trim(), { skipEmptyLines: 'greedy' });
  const fatal = parsed.errors.find((e) => e.type === 'Quotes' || e.type === 'Delimiter');
  if (fatal) throw new DataFormatError(`CSV line ${(fatal.row ?? 0) + 1}: ${fatal.message}.`);
  const [header, ...lines] = parsed.data;
  if (!header || lines.length === 0) throw new DataFormatError('CSV: need a header row and at least one data row.');
  const labelIndex = typeof options.label === 'number' ? options.label : header.indexOf(options.label);
  if (!Number.isInteger(labelIndex) || labelIndex < 0 || labelIndex >= header.length)
    throw new InvalidArgumentError(`CSV: no label column ${JSON.stringify(options.label)} (columns: ${header.join(', ')}).`);
  const cols = header.length - 1;
  if (cols < 1) throw new DataFormatError('CSV: no feature columns besides the label.');
  const rows = lines.length;
  const features = new Float32Array(rows * cols);
  const rawLabels: string[] = [];
  lines.forEach((line, r) => {
    const lineNo = r + 2; // 1-based, after the header
    if (line.length !== header.length) throw new DataFormatError(`CSV line ${lineNo}: ${line.length} fields, the header has ${header.length}.`);
    let c = 0;
    line.forEach((field, i) => {
      const value = field.trim();
      if (i === labelIndex) {
        if (value === '') throw new DataFormatError(`CSV line ${lineNo}, column '${header[i]}': the label is missing.`);
        rawLabels.push(value);
        return;
      }
      // Decimal notation only: Number() would also take "0x1F", "0b11" and "0o7".
      const v = DECIMAL.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(v)) throw new DataFormatError(`CSV line ${lineNo}, column '${header[i]}': ${value === '' ? 'missing value' : `'${value}' is not a number`}.`);
      features[r * cols + c++] = v;
    });
  });
  const featureNames = header.filter((_, i) => i !== labelIndex);
  const numeric = rawLabels.every((l) => DECIMAL.test(l) && Number.isFinite(Number(l)));
  const wholeSmall = numeric && rawLabels.every((l) => Number.isInteger(Number(l)) && Number(l) >= 0 && Number(l) < 1000);
  const task = options.task ?? (!numeric || wholeSmall ? 'classification' : 'regression');
  if (task === 'regression') {
    if (!numeric) throw new DataFormatError(`CSV: label column '${header[labelIndex]}' holds text; it cannot be a regression target.`);
    return { features, rows, cols, featureNames, targets: Float32Array.from(rawLabels, Number), targetCols: 1 };
  }
  if (options.classNames) {
    const known = new Map(options.classNames.map((n, i) => [n, i]));
    const labels = Int32Array.from(rawLabels, (l, r) => {
      const id = known.get(l);
      if (id === undefined) throw new DataFormatError(`CSV line ${r + 2}: class '${l}' is not one of ${options.classNames!.join(', ')}.`);
      return id;
    });
    return { features, rows, cols, featureNames, labels, classes: options.classNames.length, classNames: [...options.classNames] };
  }
  if (wholeSmall) {
    const labels = Int32Array.from(rawLabels, Number);
    return { features, rows, cols, featureNames, labels, classes: Math.max(...labels) + 1 };
  }
  const classNames: string[] = [];
  const ids = new Map<string, number>();
  const labels = Int32Array.from(rawLabels, (l) => {
    let id = ids.get(l);
    if (id === undefined) ids.set(l, (id = classNames.push(l) - 1));
    return id;
  });
  return { features, rows, cols, featureNames, labels, classes: classNames.length, classNames };
}

/** Per-column mean and standard deviation fitted on training data, applied to any data. */
export class Standardizer {
  private constructor(
    readonly mean: Float64Array,
    readonly std: Float64Array,
  ) {}

  /** Fits on `data` (population standard deviation; a constant column gets std 1). */
  static fit(data: Pick<Dataset, 'features' | 'rows' | 'cols'>): Standardizer {
    const { features, rows, cols } = data;
    const mean = new Float64Array(cols);
    const std = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c]! += features[r * cols + c]!;
    for (let c = 0; c < cols; c++) mean[c]! /= rows;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) std[c]! += (features[r * cols + c]! - mean[c]!) ** 2;
    for (let c = 0; c < cols; c++) std[c] = Math.sqrt(std[c]! / rows) || 1;
    return new Standardizer(mean, std);
  }

  /** One from saved statistics (as a model file keeps them), checked for length and positive std. */
  static of(stats: { mean: ArrayLike<number>; std: ArrayLike<number> }): Standardizer {
    const mean = Float64Array.from(stats.mean);
    const std = Float64Array.from(stats.std);
    if (mean.length !== std.length || mean.length === 0 || !std.every((s) => s > 0 && Number.isFinite(s)) || !mean.every(Number.isFinite))
      throw new InvalidArgumentError('Standardizer: mean and std must be non-empty, of one length, finite, with std > 0.');
    return new Standardizer(mean, std);
  }

  /** A copy of `data` with standardized features (byte features are dropped: they no longer apply). */
  transform<D extends Dataset>(data: D): D {
    if (data.cols !== this.mean.length) throw new InvalidArgumentError(`Standardizer: fitted on ${this.mean.length} columns, got ${data.cols}.`);
    const cols = data.cols;
    const features = Float32Array.from(data.features, (v, i) => (v - this.mean[i % cols]!) / this.std[i % cols]!);
    return { ...data, features, bytes: undefined, byteScale: undefined };
  }
}
