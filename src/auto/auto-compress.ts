/**
 * Automated compression to an accuracy budget: autoCompress(model, train, { maxAccuracyDrop })
 * holds out validation rows of the training data, measures each layer's sensitivity, searches
 * per-layer settings (search.ts) that minimize the file's size or the forward pass's time while
 * the validation accuracy stays within the budget of the dense model's, and returns the chosen
 * model with every trial. Only validation rows make decisions; a test set, when given, is used
 * once at the end to compare the chosen model with the dense one. A network's batch norms are
 * folded first (compress/fold.ts): the search prunes and shares folded weights, and the dense
 * reference is the folded model, which predicts what the given one does.
 */
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { GpuDataset, hostData } from '../data/gpu-dataset.js';
import { InvalidArgumentError } from '../errors.js';
import { unitImportance } from '../compress/importance.js';
import { modelToSafetensors, readModel } from '../io/model-file.js';
import { withBatchNormFolded } from '../compress/fold.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import type { FitOptions } from '../nn/train.js';
import { compareModels, type Comparison } from '../validate/compare.js';
import { trainTestSplit } from '../validate/split.js';
import { inferenceSpeeds } from '../validate/speed.js';
import { type Candidate, type Dimension, STAGES, describeCandidate, identity } from './candidate.js';
import { evaluate } from '../nn/evaluate.js';
import { frontier, search, withinBudget } from './search.js';
import { fastestTogether } from './runoff.js';
import { type Sensitivity, sensitivity } from './sensitivity.js';
import { inProcessRunner, type TrialContext, type TrialResult, type TrialRunner } from './trial.js';
import { checkFolds, type FoldValidation, foldContexts, foldRunner, mean, refit } from './folds.js';

export interface AutoCompressOptions {
  /** Largest allowed drop of accuracy below the dense model's, a fraction (0.003 = 0.3 points). */
  maxAccuracyDrop: number;
  /**
   * Standard errors of the paired accuracy difference (candidate against dense, row by row on the
   * validation rows) that a candidate's drop must leave below the budget (default 1; 0: the drop
   * alone decides). The search picks the smallest of many noisy estimates near the budget, and
   * the margin keeps that choice from going by rows that happened to flatter it.
   */
  margin?: number;
  /** What to minimize: the model file's bytes (default) or the forward pass's time at batch 1024. */
  objective?: 'size' | 'latency';
  /**
   * Rows that decide: a fraction of the training rows held out (stratified, seeded; default 0.1),
   * a data set of their own, or k folds of the training rows (folds.ts: a dense model per fold
   * trained as `training` says, every trial on every fold, the chosen candidate made again on all
   * rows). Held-out rows must be rows the model was not trained on, or every validation accuracy
   * is a training accuracy.
   */
  validation?: number | Dataset | FoldValidation;
  /** Fine-tuning settings (batch size, optimizer, learning rate, seed); pruning fine-tunes from this rate on a cosine decay. */
  fineTune: FitOptions;
  /**
   * Whether the search also tries the smaller architecture it found (objective 'latency': units
   * removed) distilled from the dense model, keeping the more accurate (default true).
   */
  distil?: boolean;
  /** Fine-tuning epochs of each candidate while pruning (default 4) and of its shared values (default 1). */
  pruneEpochs?: number;
  shareEpochs?: number;
  /**
   * Time budget of the whole call in minutes (default 15): the folds' dense models, the
   * sensitivity curves, the trials and, with folds, making the chosen candidate again on all rows.
   * No trial starts once the time left is what that refit of the best trial so far should take
   * (its trials' time) and the longest trial so far, so the call ends near the budget (past it by
   * the estimates' error and the final test comparison).
   */
  budgetMinutes?: number;
  /** Float biases as float16 in the file (default false). */
  float16?: boolean;
  /** Metadata of the candidates' files (it counts in their size). */
  metadata?: Record<string, string>;
  /** Compared with the chosen model once, at the end (bootstrap interval and McNemar). */
  test?: Dataset;
  /** Where trials run (default: in this process); the runner receives the context this call builds. */
  runner?: (context: TrialContext) => TrialRunner;
  onSensitivity?: () => void;
  onTrial?: (result: TrialResult, feasible: boolean) => void;
}

export interface AutoCompressResult {
  /** The chosen model (the dense model's copy when no candidate met the budget); the caller disposes it. */
  model: Model;
  /** Its file, exactly as written by saveModel with the options' metadata. */
  file: Uint8Array;
  /** batchMs (objective 'latency'): a forward pass over 1,024 validation rows, the chosen and the dense model timed in the same rounds. */
  chosen: { candidate: Candidate; description: string; validationAccuracy: number; bytes: number; batchMs?: number; widths: number[]; trial?: number };
  dense: { validationAccuracy: number; bytes: number; batchMs?: number };
  metBudget: boolean;
  /** The dense model's validation accuracy, which every candidate is held to. */
  reference: number;
  /** The margin used, in standard errors of the paired difference. */
  margin: number;
  /** The sensitivity curves each stage of the search started from. */
  sensitivity: Sensitivity[];
  trials: TrialResult[];
  frontier: TrialResult[];
  stopped: 'done' | 'time';
  validationRows: number;
  /** k of k-fold decisions (validation rows are then every training row, each in its fold). */
  folds?: number;
  /** With folds also: training the folds' dense models, and making the chosen candidate again on all rows. */
  seconds: { sensitivity: number; search: number; total: number; folds?: number; refit?: number };
  test?: { comparison: Comparison; denseAccuracy: number; chosenAccuracy: number; withinBudget: boolean };
}

export async function autoCompress(model: Model, train: Dataset | GpuDataset, options: AutoCompressOptions): Promise<AutoCompressResult> {
  const started = performance.now();
  const { maxAccuracyDrop: maxDrop } = options;
  if (!(Number.isFinite(maxDrop) && maxDrop >= 0 && maxDrop < 1)) throw new InvalidArgumentError(`maxAccuracyDrop must be a fraction in [0, 1), got ${maxDrop}.`);
  const objective = options.objective ?? 'size';
  if (objective !== 'size' && objective !== 'latency') throw new InvalidArgumentError(`objective must be 'size' or 'latency', got '${objective}'.`);
  const margin = options.margin ?? 1;
  if (!(Number.isFinite(margin) && margin >= 0)) throw new InvalidArgumentError(`margin must be a number of standard errors >= 0, got ${margin}.`);
  const budgetMinutes = options.budgetMinutes ?? 15;
  if (!(budgetMinutes > 0)) throw new InvalidArgumentError(`budgetMinutes must be positive, got ${budgetMinutes}.`);
  const host = hostData(train);
  if (!host.labels) throw new InvalidArgumentError('autoCompress needs classification data: its budget is on accuracy.');
  const seed = options.fineTune.seed ?? 1;

  // The rows that decide: held out of the training data, a set of their own appended after it, or folds of it.
  let all = host;
  let fitRows: Uint32Array;
  let validationRows: Uint32Array;
  const v = options.validation ?? 0.1;
  const folds = typeof v === 'object' && 'folds' in v ? v : undefined;
  if (typeof v === 'number') ({ fitRows, validationRows } = holdOut(host, v, seed));
  else if ('folds' in v) {
    checkFolds(v, host.rows);
    fitRows = Uint32Array.from({ length: host.rows }, (_, i) => i); // the refit's; each fold has its own
    validationRows = new Uint32Array(0);
  } else {
    if (v.cols !== host.cols || !v.labels) throw new InvalidArgumentError(`The validation set must be labelled with ${host.cols} feature columns like the training data.`);
    all = concat(host, v);
    fitRows = Uint32Array.from({ length: host.rows }, (_, i) => i);
    validationRows = Uint32Array.from({ length: v.rows }, (_, i) => host.rows + i);
  }
  const dimensions: readonly Dimension[] = STAGES[objective].flatMap((s) => s.dimensions);
  if (dimensions.includes('units') && !(model instanceof MLP))
    throw new InvalidArgumentError("objective 'latency' removes hidden units, which MLPs have: for a convolutional network use objective 'size'.");
  const given = model;
  model = await withBatchNormFolded(model);
  const folded = model !== given ? model : undefined;
  const data = train instanceof GpuDataset && all === host ? train : new GpuDataset(model.device, all);
  const speedRowsOf = (rows: Uint32Array) => (objective === 'latency' ? { speedRows: subset(all, rows) } : {});
  const unitScoresOf = async (base: Model, rows: Uint32Array) =>
    dimensions.includes('units') && base instanceof MLP
      ? { unitScores: (await unitImportance(base, subset(all, rows), { samples: Math.min(5000, rows.length), seed })).layers.map((l) => l.scores) }
      : {};
  let perFold: { contexts: TrialContext[]; references: number[] } | undefined;
  try {
    const context: TrialContext = {
      base: model,
      data,
      fitRows,
      validationRows,
      ...(folds ? {} : speedRowsOf(validationRows)),
      ...(await unitScoresOf(model, fitRows)),
      settings: {
        objective,
        fineTune: options.fineTune,
        pruneEpochs: options.pruneEpochs ?? 4,
        shareEpochs: options.shareEpochs ?? 1,
        float16: !!options.float16,
        metadata: options.metadata ?? {},
      },
    };
    // With folds, the curves are measured on the first fold (they propose candidates; the folds judge them).
    const foldsStarted = performance.now();
    if (folds) perFold = await foldContexts(context, host, folds, seed, async (base, fitRows, validationRows) => ({ ...(await unitScoresOf(base, fitRows)), ...speedRowsOf(validationRows) }));
    const foldSeconds = (performance.now() - foldsStarted) / 1000;
    const judge = perFold ? perFold.contexts[0]! : context;
    const reference = perFold ? mean(perFold.references) : (await evaluate(model, data, { rows: validationRows })).accuracy;
    let sensitivitySeconds = 0;
    const measure = async (dims: readonly Dimension[], from: TrialResult | undefined) => {
      const t0 = performance.now();
      // A later stage measures on the best model so far: how its survivors bear fewer bits.
      const m = from ? readModel(model.device, from.file) : judge.base;
      try {
        return await sensitivity(m, data, judge.validationRows, { dimensions: dims, ...(judge.unitScores ? { unitScores: judge.unitScores } : {}), onPoint: options.onSensitivity });
      } finally {
        if (m !== judge.base) m.dispose();
        sensitivitySeconds += (performance.now() - t0) / 1000;
      }
    };
    const makeRunner = options.runner ?? inProcessRunner;
    const foldsRunner = perFold ? foldRunner(perFold.contexts.map(makeRunner)) : undefined;
    const runner = foldsRunner ?? makeRunner(context);
    const searchStarted = performance.now();
    const found = await search(runner, {
      reference,
      maxDrop,
      margin,
      objective,
      stages: STAGES[objective],
      layers: model.layers.length,
      layerWeights: model.layers.map((l) => l.inputs * l.units),
      sensitivity: measure,
      started: searchStarted,
      budgetMs: started + budgetMinutes * 60_000 - searchStarted,
      ...(foldsRunner ? { reserveMs: (best: TrialResult | undefined) => (best ? foldsRunner.refitMs(best.candidate) : 0) } : {}),
      distil: options.distil ?? true,
      ...(options.onTrial ? { onTrial: options.onTrial } : {}),
    });
    const afterSearch = performance.now();
    const denseFile = await modelToSafetensors(model, context.settings.metadata, { float16: context.settings.float16 });
    const speedRows = judge.speedRows;
    // For speed, the search's fastest within the budget and its close rivals are timed again together (runoff.ts).
    const withinAll = found.trials.filter((t) => withinBudget(t, reference, maxDrop, margin));
    const chosenTrial = objective === 'latency' && speedRows ? await fastestTogether(model.device, withinAll, speedRows) : found.chosen;
    // With folds the chosen candidate is made again on all rows: that model is the one returned and measured.
    const refitStarted = performance.now();
    const file = !chosenTrial ? denseFile : foldsRunner ? await refit(context, foldsRunner.chain(chosenTrial.candidate), seed) : chosenTrial.file;
    const refitSeconds = (performance.now() - refitStarted) / 1000;
    const chosenModel = readModel(model.device, file);
    // The dense and the chosen model timed in the same rounds, so that their ratio is not the machine's drift.
    const [denseMs, chosenMs] = speedRows ? await batchMs(chosenTrial ? [model, chosenModel] : [model], speedRows) : [];
    const chosen = chosenTrial
      ? {
          candidate: chosenTrial.candidate,
          description: describeCandidate(chosenTrial.candidate),
          validationAccuracy: chosenTrial.validationAccuracy,
          bytes: file.length,
          ...(chosenMs === undefined ? {} : { batchMs: chosenMs }),
          widths: chosenModel.widths,
          trial: chosenTrial.id,
        }
      : {
          candidate: identity(model.layers.length),
          description: 'the dense model: no candidate met the budget',
          validationAccuracy: reference,
          bytes: denseFile.length,
          ...(denseMs === undefined ? {} : { batchMs: denseMs }),
          widths: model.widths,
        };
    let test: AutoCompressResult['test'];
    if (options.test) {
      const comparison = await compareModels(model, chosenModel, options.test, { seed });
      test = { comparison, denseAccuracy: comparison.accuracyA, chosenAccuracy: comparison.accuracyB, withinBudget: -comparison.difference <= maxDrop + 1e-12 };
    }
    return {
      model: chosenModel,
      file,
      chosen,
      dense: { validationAccuracy: reference, bytes: denseFile.length, ...(denseMs === undefined ? {} : { batchMs: denseMs }) },
      metBudget: !!chosenTrial,
      reference,
      margin,
      sensitivity: found.sensitivities,
      trials: found.trials,
      frontier: frontier(found.trials, objective),
      stopped: found.stopped,
      validationRows: folds ? host.rows : validationRows.length,
      ...(folds ? { folds: folds.folds } : {}),
      seconds: {
        sensitivity: sensitivitySeconds,
        search: (afterSearch - searchStarted) / 1000 - sensitivitySeconds,
        total: (performance.now() - started) / 1000,
        ...(folds ? { folds: foldSeconds, refit: refitSeconds } : {}),
      },
      ...(test ? { test } : {}),
    };
  } finally {
    if (data !== train) data.dispose();
    folded?.dispose();
    for (const c of perFold?.contexts ?? []) c.base.dispose();
  }
}

/**
 * The validation rows autoCompress holds out of labelled training data for a fraction and seed
 * (stratified, as scikit-learn's train_test_split), and the rest: train a model on fitRows to keep
 * the validation rows unseen.
 */
export function holdOut(data: Dataset, fraction: number, seed: number): { fitRows: Uint32Array; validationRows: Uint32Array } {
  if (!(fraction > 0 && fraction < 1)) throw new InvalidArgumentError(`validation must be a fraction in (0, 1) or a data set, got ${fraction}.`);
  if (!data.labels) throw new InvalidArgumentError('Holding out validation rows needs labelled data.');
  const split = trainTestSplit(data.rows, { testSize: fraction, seed, stratify: data.labels });
  return { fitRows: split.train, validationRows: split.test };
}

/** Milliseconds of each model's forward pass over 1,024 rows, timed in the same rounds (inferenceSpeeds). */
async function batchMs(models: Model[], rows: Dataset): Promise<number[]> {
  return (await inferenceSpeeds(models, rows, { batch: 1024, rounds: 3 })).map((speed) => (speed.batch / speed.rowsPerSecond) * 1000);
}

/** Two labelled data sets with the same columns, one after the other. */
function concat(a: Dataset, b: Dataset): Dataset {
  const features = new Float32Array(a.features.length + b.features.length);
  features.set(a.features);
  features.set(b.features, a.features.length);
  const labels = new Int32Array(a.rows + b.rows);
  labels.set(a.labels!);
  labels.set(b.labels!, a.rows);
  return { rows: a.rows + b.rows, cols: a.cols, features, labels, classes: Math.max(a.classes ?? 0, b.classes ?? 0) };
}
