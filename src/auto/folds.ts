/**
 * k-fold decisions for automated compression (autoCompress with validation { folds, training }):
 * the training rows in k stratified folds; fold j's dense model is trained afresh on the other
 * folds, so no model ever saw the rows that score it; every trial runs on every fold and its
 * validation accuracy is the mean of the k folds' (each training row scores once), the reference
 * the mean of the k dense models'. A trial that goes on from a parent goes on from the parent's
 * model of the same fold. The chosen candidate is then made again from the given model on all
 * training rows, along the chain of trials it went on from, and that model is what is returned
 * and measured (as scikit-learn's cross-validated search refits its best settings on all rows).
 */
import type { Dataset } from '../data/dataset.js';
import { InvalidArgumentError } from '../errors.js';
import { modelToSafetensors } from '../io/model-file.js';
import { evaluate } from '../nn/evaluate.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/sequential.js';
import { fit, type FitOptions } from '../nn/train.js';
import { stratifiedKFold } from '../validate/split.js';
import { type Candidate, candidateKey } from './candidate.js';
import { compressTo, type TrialContext, type TrialResult, type TrialRunner } from './trial.js';

export const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

export interface FoldValidation {
  /** Folds of the training rows (2 to 20). */
  folds: number;
  /** How each fold's dense model is trained from a fresh initialization (as the given model was). */
  training: FitOptions;
}

export function checkFolds(v: FoldValidation, rows: number): void {
  if (!Number.isInteger(v.folds) || v.folds < 2 || v.folds > 20) throw new InvalidArgumentError(`folds must be a whole number from 2 to 20, got ${v.folds}.`);
  if (v.folds > rows) throw new InvalidArgumentError(`${v.folds} folds need at least as many training rows, got ${rows}.`);
  if (!v.training) throw new InvalidArgumentError('k-fold validation trains a dense model per fold: give validation.training (epochs, batch size, learning rate).');
}

/** A freshly initialized model of the same architecture. */
export function untrainedLike(model: Model, seed: number): Model {
  if (model instanceof Sequential) return Sequential.create(model.device, { input: model.inputShape, layers: model.stages.map((s) => s.spec), seed });
  const layers = model.layers;
  return MLP.create(model.device, model.widths, { seed, activation: layers[0]!.activation, output: layers[layers.length - 1]!.activation });
}

/**
 * One trial context per fold, each with its dense model trained on the other folds, and that
 * model's accuracy on its fold. `full` is the context of the given model on all rows; `extra`
 * adds what a fold's context needs beyond its base and rows (unit scores of its base, rows to time).
 */
export async function foldContexts(
  full: TrialContext,
  host: Dataset,
  v: FoldValidation,
  seed: number,
  extra: (base: Model, fitRows: Uint32Array, validationRows: Uint32Array) => Promise<Partial<TrialContext>>,
): Promise<{ contexts: TrialContext[]; references: number[] }> {
  const splits = stratifiedKFold(v.folds, { shuffle: true, seed }).split(host.rows, host.labels!);
  const contexts: TrialContext[] = [];
  const references: number[] = [];
  try {
    for (const [j, split] of splits.entries()) {
      const base = untrainedLike(full.base, seed + j);
      contexts.push({ ...full, base, fitRows: split.train, validationRows: split.test });
      await fit(base, full.data, { ...v.training, rows: split.train });
      Object.assign(contexts[j]!, await extra(base, split.train, split.test));
      references.push((await evaluate(base, full.data, { rows: split.test })).accuracy);
    }
  } catch (e) {
    for (const c of contexts) c.base.dispose();
    throw e;
  }
  return { contexts, references };
}

/** A trial's result on every fold: the mean validation accuracy, fold 1's file and bytes. */
export interface FoldTrialResult extends TrialResult {
  foldAccuracies: number[];
}

/**
 * Runs each trial on every fold (one runner per fold context, one fold after another) and merges
 * the results; `chain` gives the candidates a trial went on from, first to last.
 */
export function foldRunner(runners: TrialRunner[]): TrialRunner & { chain(candidate: Candidate): Candidate[]; refitMs(candidate: Candidate): number } {
  const files = new Map<string, Uint8Array[]>(); // each fold's model file, by candidate
  const parents = new Map<string, Candidate | undefined>();
  const seconds = new Map<string, number>(); // all folds' together, by candidate
  return {
    async run(trials, options = {}) {
      const out: FoldTrialResult[] = [];
      for (const t of trials) {
        if (out.length > 0 && options.until !== undefined && performance.now() > options.until) break;
        const results: TrialResult[] = [];
        for (const [j, runner] of runners.entries()) {
          const from = t.from ? { from: { candidate: t.from.candidate, file: files.get(candidateKey(t.from.candidate))![j]! } } : {};
          results.push((await runner.run([{ id: t.id, candidate: t.candidate, ...from }]))[0]!);
        }
        files.set(
          candidateKey(t.candidate),
          results.map((r) => r.file),
        );
        parents.set(candidateKey(t.candidate), t.from?.candidate);
        seconds.set(
          candidateKey(t.candidate),
          results.reduce((s, r) => s + r.seconds, 0),
        );
        const foldAccuracies = results.map((r) => r.validationAccuracy);
        const paired = results.every((r) => r.paired)
          ? results.reduce((sum, r) => ({ worse: sum.worse + r.paired!.worse, better: sum.better + r.paired!.better, rows: sum.rows + r.paired!.rows }), { worse: 0, better: 0, rows: 0 })
          : undefined;
        out.push({
          ...results[0]!,
          validationAccuracy: mean(foldAccuracies),
          paired, // every training row once, each against its own fold's dense model
          seconds: seconds.get(candidateKey(t.candidate))!,
          foldAccuracies,
        });
      }
      return out;
    },
    chain(candidate) {
      const chain: Candidate[] = [];
      for (let c: Candidate | undefined = candidate; c; c = parents.get(candidateKey(c))) chain.unshift(c);
      return chain;
    },
    /**
     * About how long refit takes for a candidate, and for one step more: each step of its chain
     * trains on all n rows where a fold trained on n (k - 1) / k, so a step takes its k folds'
     * seconds over k - 1; the step more is as long as the longest trial so far, since a batch of
     * trials going on from the candidate may make one of them the best before the search sees it.
     */
    refitMs(candidate) {
      const total = this.chain(candidate).reduce((s, c) => s + (seconds.get(candidateKey(c)) ?? 0), 0);
      const longest = Math.max(0, ...seconds.values());
      return ((total + longest) * 1000) / Math.max(1, runners.length - 1);
    },
  };
}

/** The chain's last candidate made from the full context's model on all its rows, each step going on from the one before: its file. */
export async function refit(full: TrialContext, chain: Candidate[], seed: number): Promise<Uint8Array> {
  let file: Uint8Array | undefined;
  let parent: Candidate | undefined;
  for (const candidate of chain) {
    const model = await compressTo(full, { id: -1, candidate, ...(parent && file ? { from: { candidate: parent, file } } : {}) }, seed);
    try {
      file = await modelToSafetensors(model, full.settings.metadata, { float16: full.settings.float16 });
    } finally {
      model.dispose();
    }
    parent = candidate;
  }
  if (!file) throw new InvalidArgumentError('refit needs at least one candidate.');
  return file;
}
