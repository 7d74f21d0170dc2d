/**
 * One trial of automated compression: the base model compressed to a candidate's settings and
 * fine-tuned, then measured on the validation rows: accuracy, the byte length of its model file
 * and (objective 'latency') its forward-pass time. A trial may go on from an earlier one (its
 * parent's model file travels with it). Trials are deterministic given the context and the request
 * (candidate and parent), and they go through one runner interface, so a runner elsewhere (another
 * process, a queue worker) can execute them and return the same results.
 */
import type { Dataset } from '../data/dataset.js';
import type { GpuDataset } from '../data/gpu-dataset.js';
import { gradualPruning } from '../compress/schedule.js';
import { quantizeWeights } from '../compress/quantize.js';
import { removeUnits } from '../compress/simplify.js';
import { modelToSafetensors, readModel } from '../io/model-file.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { fit, type FitOptions } from '../nn/train.js';
import { InvalidArgumentError } from '../errors.js';
import { disposeQuant } from '../nn/quant-spec.js';
import { inferenceSpeed } from '../validate/speed.js';
import { type ClassificationMetrics, testMetrics } from '../validate/metrics.js';
import { discordantPairs } from '../validate/compare.js';
import { type Candidate, candidateKey, DISTILLATION, unitsToRemove } from './candidate.js';

export interface TrialSettings {
  objective: 'size' | 'latency';
  /** The training settings fine-tuning starts from (batch size, optimizer, learning rate, seed). */
  fineTune: FitOptions;
  /** Epochs of fine-tuning while pruning (or after removing units). */
  pruneEpochs: number;
  /** Epochs of training the shared values after k-means sharing. */
  shareEpochs: number;
  /** Biases and float weights stored as float16 in the file. */
  float16: boolean;
  /** Metadata written into every candidate's file (it counts in its size). */
  metadata: Record<string, string>;
}

export interface TrialContext {
  base: Model;
  /** The training data on the GPU; fitRows fine-tune, validationRows score. */
  data: GpuDataset;
  fitRows: Uint32Array;
  validationRows: Uint32Array;
  /** Validation rows on the host, for timing the forward pass (objective 'latency'). */
  speedRows?: Dataset;
  /** Ablation importance of the base model's hidden units (higher matters more), when units are searched. */
  unitScores?: Float64Array[];
  settings: TrialSettings;
}

/**
 * A trial to run: a candidate, and optionally the trial it goes on from. A candidate with the
 * parent's units and no gentler setting than it starts from the parent's model (iterative pruning,
 * as Han et al. prune and retrain in rounds): its pruned weights stay pruned, its fine-tuning
 * carries over, and only the new pruning and sharing are trained.
 */
export interface TrialRequest {
  id: number;
  candidate: Candidate;
  from?: TrialParent;
}

export interface TrialParent {
  candidate: Candidate;
  /** The parent trial's model file. */
  file: Uint8Array;
}

/**
 * The candidate against the dense model (the context's base) row by row on the validation rows:
 * rows the dense model gets right and the candidate wrong, the reverse, and the rows compared.
 * They give the standard error of the accuracy difference (search.ts: pairedError).
 */
export interface PairedCounts {
  worse: number;
  better: number;
  rows: number;
}

export interface TrialResult {
  id: number;
  candidate: Candidate;
  validationAccuracy: number;
  /** Row by row against the dense model (absent from runners that do not count them). */
  paired?: PairedCounts;
  /** Byte length of the model file. */
  bytes: number;
  /** Milliseconds of a forward pass over 1,024 rows, read back (objective 'latency'). */
  batchMs?: number;
  widths: number[];
  /** Wall-clock seconds of the trial. */
  seconds: number;
  /** The model file itself: the chosen trial's is written as it is. */
  file: Uint8Array;
}

export interface TrialRunner {
  /**
   * Runs the trials (in any order, or at once) and returns their results in the order given. A
   * runner that runs them one after another may start none after `until` (performance.now()
   * milliseconds) and return the first ones only.
   */
  run(trials: TrialRequest[], options?: { until?: number }): Promise<TrialResult[]>;
}

/** The default runner: one trial after another in this process, on the context's device, none started after `until`. */
export function inProcessRunner(context: TrialContext): TrialRunner {
  return {
    async run(trials, options = {}) {
      const out: TrialResult[] = [];
      for (const t of trials) {
        if (out.length > 0 && options.until !== undefined && performance.now() > options.until) break;
        out.push(await runTrial(context, t));
      }
      return out;
    },
  };
}

/**
 * Whether a candidate can go on from a parent trial: the same units, and in every layer as many
 * weights kept and bits as the parent at most (pruning and sharing only ever go further).
 */
export function continues(parent: Candidate, candidate: Candidate): boolean {
  return parent.units.every((u, i) => u === candidate.units[i]) && parent.keep.every((k, i) => candidate.keep[i]! <= k) && parent.bits.every((b, i) => candidate.bits[i]! <= b);
}

/**
 * The model of a candidate, the caller disposes it: from its parent's model when it continues
 * one, else from the base model with its units removed; then pruned gradually while fine-tuning
 * to the candidate's weights kept (float weights, a parent's shared values as its floats), and
 * its values shared by k-means at the candidate's bits and trained. Pruning is seeded by the
 * structure (units and weights kept), sharing by the whole candidate.
 */
export async function compressTo(context: TrialContext, request: TrialRequest, seed: number): Promise<Model> {
  const { candidate, from } = request;
  if (from && !continues(from.candidate, candidate))
    throw new InvalidArgumentError(`Trial ${request.id} cannot go on from a parent with fewer weights or bits or other units: ${candidateKey(from.candidate)} -> ${candidateKey(candidate)}.`);
  const model = from ? floatCopy(readModel(context.base.device, from.file)) : await removedUnits(context, candidate);
  const startKeep = from?.candidate.keep ?? candidate.keep.map(() => 1);
  if (candidate.keep.some((k, i) => k < startKeep[i]!) || (!from && candidate.units.some((u) => u < 1))) {
    const structure: Candidate = { ...candidate, bits: candidate.bits.map(() => 32) };
    await fineTunePruning(context, model, startKeep, candidate.keep, candidateSeed(seed, structure), !!candidate.distilled);
  }
  const { data, fitRows, settings } = context;
  const byBits = new Map<number, number[]>();
  candidate.bits.forEach((b, layer) => b < 32 && byBits.set(b, [...(byBits.get(b) ?? []), layer]));
  for (const [bits, layers] of byBits) await quantizeWeights(model, { method: 'kmeans', bits }, { layers });
  if (byBits.size && settings.shareEpochs > 0)
    await fit(model, data, {
      ...settings.fineTune,
      epochs: settings.shareEpochs,
      learningRate: 0.0005,
      optimizer: { type: 'adam' },
      schedule: { type: 'constant' },
      seed: candidateSeed(seed, candidate),
      rows: fitRows,
    });
  return model;
}

/** A loaded model with its sharing dropped: the shared values stay as float weights, masks stay. */
function floatCopy(model: Model): Model {
  for (const l of model.layers) {
    disposeQuant(l.quant);
    delete l.quant;
  }
  return model;
}

/** The base model with the candidate's units removed, least important first. */
async function removedUnits(context: TrialContext, candidate: Candidate): Promise<Model> {
  let model = context.base.clone();
  for (const [layer, keep] of candidate.units.entries()) {
    if (keep >= 1) continue;
    const scores = context.unitScores?.[layer];
    if (!scores || !(model instanceof MLP)) throw new Error(`No unit scores for layer ${layer}, or not an MLP: units are removed from MLPs whose context carries unitScores.`);
    const smaller = await removeUnits(model, layer, unitsToRemove(scores, keep));
    model.dispose();
    model = smaller;
  }
  return model;
}

/**
 * Fine-tuning that prunes each layer gradually from `fromKeep` to `toKeep` in its first three
 * quarters, from the training rate on a cosine decay, so that the last epochs settle: on
 * LeNet-300-100 at 7 % kept it ends 0.12 points higher on validation rows and 0.23 on the test
 * set than a third of the rate held constant (bench/RESULTS.md). `distilled`: the context's dense
 * model teaches (DISTILLATION).
 */
async function fineTunePruning(context: TrialContext, model: Model, fromKeep: readonly number[], toKeep: readonly number[], seed: number, distilled: boolean): Promise<void> {
  const { data, fitRows, settings } = context;
  const epochs = settings.pruneEpochs;
  const steps = Math.ceil(fitRows.length / settings.fineTune.batchSize) * epochs;
  const hooks = toKeep.some((k, i) => k < fromKeep[i]!)
    ? [
        gradualPruning({
          scope: 'layer',
          initialSparsity: fromKeep.map((k) => 1 - k),
          finalSparsity: toKeep.map((k) => 1 - k),
          endStep: Math.max(1, Math.floor(steps * 0.75)),
          frequency: Math.max(1, Math.floor(steps / 40)),
        }),
      ]
    : [];
  await fit(model, data, {
    ...settings.fineTune,
    epochs,
    schedule: { type: 'cosine', total: epochs },
    seed,
    rows: fitRows,
    hooks,
    ...(distilled ? { distillation: { teacher: context.base, ...DISTILLATION } } : {}),
  });
}

/** The fine-tuning seed of a candidate: the same candidate trains the same way whichever trial runs it. */
export function candidateSeed(seed: number, candidate: Candidate): number {
  let h = 2166136261; // FNV-1a of the candidate's key
  for (const ch of candidateKey(candidate)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return (seed + h) % 2 ** 31;
}

export async function runTrial(context: TrialContext, request: TrialRequest): Promise<TrialResult> {
  const t0 = performance.now();
  const { settings } = context;
  const { id, candidate } = request;
  const model = await compressTo(context, request, settings.fineTune.seed ?? 0);
  try {
    // One pass over the validation rows: the accuracy, and the predictions the paired counts compare.
    const { accuracy, predictions } = await scoreOn(context, model);
    const paired = pairedCounts(context, (await referencePredictions(context)).predictions, predictions);
    const file = await modelToSafetensors(model, settings.metadata, { float16: settings.float16 });
    let batchMs: number | undefined;
    if (settings.objective === 'latency' && context.speedRows) {
      const speed = await inferenceSpeed(model, context.speedRows, { batch: 1024, rounds: 3 });
      batchMs = (speed.batch / speed.rowsPerSecond) * 1000;
    }
    return {
      id,
      candidate,
      validationAccuracy: accuracy,
      paired,
      bytes: file.length,
      ...(batchMs === undefined ? {} : { batchMs }),
      widths: model.widths,
      seconds: (performance.now() - t0) / 1000,
      file,
    };
  } finally {
    model.dispose();
  }
}

/** The model's accuracy on the context's validation rows and its predicted classes, in their order. */
async function scoreOn(context: TrialContext, model: Model): Promise<ClassificationMetrics> {
  return (await testMetrics(model, context.data, { rows: context.validationRows })) as ClassificationMetrics;
}

/** The dense model's scores on a context's validation rows, made once per context. */
const references = new WeakMap<TrialContext, Promise<ClassificationMetrics>>();
function referencePredictions(context: TrialContext): Promise<ClassificationMetrics> {
  let p = references.get(context);
  if (!p) references.set(context, (p = scoreOn(context, context.base)));
  return p;
}

function pairedCounts(context: TrialContext, reference: Uint32Array, candidate: Uint32Array): PairedCounts {
  const labels = context.data.data.labels!;
  const { onlyA: worse, onlyB: better } = discordantPairs(
    Array.from(context.validationRows, (r) => labels[r]!),
    reference,
    candidate,
  );
  return { worse, better, rows: context.validationRows.length };
}
