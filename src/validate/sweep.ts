/**
 * A sweep: training configurations (a grid or a list) crossed with the folds of a stratified
 * k-fold split, each trial an MLP trained on its fold's training rows and scored on the others.
 * Trials are deterministic given the configuration, fold and seed, and run through a runner
 * (in process by default; queue/ runs them on workers), so the results are the same wherever
 * they run. A trial that throws is recorded with its error and the sweep goes on.
 */
import { type Dataset, subset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { InvalidArgumentError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { evaluate } from '../nn/evaluate.js';
import { MLP } from '../nn/mlp.js';
import { fit } from '../nn/train.js';
import { standardizeInFold } from './cross-validate.js';
import { stratifiedKFold } from './split.js';

export interface SweepConfiguration {
  /** Hidden widths. */
  layers: number[];
  learningRate: number;
  epochs: number;
  batchSize: number;
  optimizer?: 'sgd' | 'adam';
}

/** A grid (every combination of the listed values) or a list of configurations, and the folds. */
export interface SweepSpec {
  grid?: { layers: number[][]; learningRate: number[]; epochs: number[]; batchSize: number[]; optimizer?: ('sgd' | 'adam')[] };
  configurations?: SweepConfiguration[];
  folds: number;
  seed?: number;
}

export interface SweepTrial {
  id: number;
  configuration: SweepConfiguration;
  configurationIndex: number;
  fold: number;
}

export interface SweepTrialResult {
  id: number;
  configurationIndex: number;
  fold: number;
  accuracy?: number;
  loss?: number;
  /** Why the trial failed (it is recorded, not retried forever). */
  error?: string;
  seconds: number;
}

/** Runs trials and returns their results in the order given (whatever order they finish in). */
export interface Runner<T, R> {
  run(trials: T[], onResult?: (result: R) => void): Promise<R[]>;
}

/** What a sweep trial needs besides itself: the data and the folds' rows. */
export interface SweepContext {
  device: Device;
  data: GpuDataset;
  folds: { train: Uint32Array; test: Uint32Array }[];
  seed: number;
  /** Standardize the features inside each fold on its training rows (CSV data), as crossValidate does. */
  standardize?: boolean;
}

function check(c: SweepConfiguration, where: string): SweepConfiguration {
  const ok = (v: unknown, min: number, int: boolean) => typeof v === 'number' && Number.isFinite(v) && v >= min && (!int || Number.isInteger(v));
  if (!Array.isArray(c.layers) || c.layers.length < 1 || !c.layers.every((w) => ok(w, 1, true) && w <= 100_000))
    throw new InvalidArgumentError(`${where}: layers must be a list of hidden widths (whole numbers >= 1), got ${JSON.stringify(c.layers)}.`);
  if (!ok(c.learningRate, 0, false) || c.learningRate === 0) throw new InvalidArgumentError(`${where}: learningRate must be a number > 0, got ${JSON.stringify(c.learningRate)}.`);
  if (!ok(c.epochs, 1, true) || c.epochs > 10_000) throw new InvalidArgumentError(`${where}: epochs must be a whole number from 1 to 10000, got ${JSON.stringify(c.epochs)}.`);
  if (!ok(c.batchSize, 1, true)) throw new InvalidArgumentError(`${where}: batchSize must be a whole number >= 1, got ${JSON.stringify(c.batchSize)}.`);
  if (c.optimizer !== undefined && c.optimizer !== 'sgd' && c.optimizer !== 'adam') throw new InvalidArgumentError(`${where}: optimizer must be 'sgd' or 'adam', got ${JSON.stringify(c.optimizer)}.`);
  return { layers: c.layers, learningRate: c.learningRate, epochs: c.epochs, batchSize: c.batchSize, ...(c.optimizer ? { optimizer: c.optimizer } : {}) };
}

/** The trials of a sweep, checked before anything runs: configuration by configuration, fold by fold. */
export function expandSweep(spec: SweepSpec): SweepTrial[] {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('A sweep is an object with grid or configurations, and folds.');
  if (!Number.isInteger(spec.folds) || spec.folds < 2 || spec.folds > 100) throw new InvalidArgumentError(`folds must be a whole number from 2 to 100, got ${JSON.stringify(spec.folds)}.`);
  if (!!spec.grid === !!spec.configurations) throw new InvalidArgumentError('A sweep gives either grid (lists of values) or configurations (a list), not both and not neither.');
  let configurations: SweepConfiguration[];
  if (spec.grid) {
    const g = spec.grid;
    for (const key of ['layers', 'learningRate', 'epochs', 'batchSize'] as const)
      if (!Array.isArray(g[key]) || g[key].length === 0) throw new InvalidArgumentError(`grid.${key} must be a non-empty list, got ${JSON.stringify(g[key])}.`);
    configurations = g.layers.flatMap((layers) =>
      g.learningRate.flatMap((learningRate) =>
        g.epochs.flatMap((epochs) => g.batchSize.flatMap((batchSize) => (g.optimizer ?? ['sgd' as const]).map((optimizer) => ({ layers, learningRate, epochs, batchSize, optimizer })))),
      ),
    );
  } else {
    if (!Array.isArray(spec.configurations) || spec.configurations.length === 0) throw new InvalidArgumentError('configurations must be a non-empty list.');
    configurations = spec.configurations;
  }
  if (configurations.length * spec.folds > 100_000) throw new InvalidArgumentError(`${configurations.length} configurations x ${spec.folds} folds is too many trials (at most 100,000).`);
  const checked = configurations.map((c, i) => check(c, `configuration ${i}`));
  return checked.flatMap((configuration, c) => Array.from({ length: spec.folds }, (_, fold) => ({ id: c * spec.folds + fold, configuration, configurationIndex: c, fold })));
}

/** The folds a sweep uses: stratified, shuffled with the sweep's seed. */
export function sweepFolds(data: Dataset, spec: SweepSpec): { train: Uint32Array; test: Uint32Array }[] {
  if (!data.labels) throw new InvalidArgumentError('A sweep scores accuracy: it needs labelled data.');
  return stratifiedKFold(spec.folds, { shuffle: true, seed: spec.seed ?? 1 }).split(data.rows, data.labels);
}

/** One trial: the configuration trained on its fold's training rows, scored on its test rows. */
export async function runSweepTrial(context: SweepContext, trial: SweepTrial): Promise<SweepTrialResult> {
  const t0 = performance.now();
  const { data, folds, seed } = context;
  const { configuration: c, fold } = trial;
  const split = folds[fold];
  const base = { id: trial.id, configurationIndex: trial.configurationIndex, fold };
  let model: MLP | undefined;
  let scaled: GpuDataset | undefined;
  try {
    if (!split) throw new InvalidArgumentError(`No fold ${fold}.`);
    const classes = data.data.classes ?? 0;
    if (context.standardize) scaled = new GpuDataset(context.device, standardizeInFold(subset(data.data, split.train))(data.data));
    const rows = scaled ?? data;
    model = MLP.create(context.device, [data.cols, ...c.layers, classes], { seed: seed + trial.configurationIndex });
    const optimizer = c.optimizer === 'adam' ? ({ type: 'adam' } as const) : ({ type: 'sgd', momentum: 0.9, nesterov: true } as const);
    await fit(model, rows, { epochs: c.epochs, batchSize: Math.min(c.batchSize, split.train.length), learningRate: c.learningRate, optimizer, seed: seed + fold, rows: split.train });
    const { accuracy, loss } = await evaluate(model, rows, { rows: split.test });
    return { ...base, accuracy, loss, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return { ...base, error: (e as Error).message, seconds: (performance.now() - t0) / 1000 };
  } finally {
    model?.dispose();
    scaled?.dispose();
  }
}

/** The default runner: each trial in turn on this process's device. */
export function inProcessSweepRunner(context: SweepContext): Runner<SweepTrial, SweepTrialResult> {
  return {
    async run(trials, onResult) {
      const out: SweepTrialResult[] = [];
      for (const t of trials) {
        const r = await runSweepTrial(context, t);
        onResult?.(r);
        out.push(r);
      }
      return out;
    },
  };
}

export interface SweepSummary {
  configuration: SweepConfiguration;
  /** Mean and population standard deviation of the folds' accuracy (failed folds left out). */
  meanAccuracy: number;
  stdAccuracy: number;
  folds: number;
  failed: number;
}

/** Per configuration: the folds' accuracies summarized, in configuration order. */
export function summarize(trials: SweepTrial[], results: SweepTrialResult[]): SweepSummary[] {
  const byConfig = new Map<number, { configuration: SweepConfiguration; acc: number[]; failed: number }>();
  for (const t of trials) if (!byConfig.has(t.configurationIndex)) byConfig.set(t.configurationIndex, { configuration: t.configuration, acc: [], failed: 0 });
  for (const r of results) {
    const entry = byConfig.get(r.configurationIndex)!;
    if (r.accuracy === undefined) entry.failed++;
    else entry.acc.push(r.accuracy);
  }
  return [...byConfig.values()].map(({ configuration, acc, failed }) => {
    const mean = acc.length ? acc.reduce((a, b) => a + b, 0) / acc.length : NaN;
    return { configuration, meanAccuracy: mean, stdAccuracy: acc.length ? Math.sqrt(acc.reduce((a, b) => a + (b - mean) ** 2, 0) / acc.length) : NaN, folds: acc.length, failed };
  });
}
