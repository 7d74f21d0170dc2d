/**
 * One trial of automated compression: the base model compressed to a candidate's settings and
 * fine-tuned, then measured on the validation rows: accuracy, the byte length of its model file
 * and (objective 'latency') its forward-pass time. Trials are deterministic given the context and
 * the candidate, and they go through one runner interface, so a runner elsewhere (another
 * process, a queue worker) can execute them and return the same results.
 */
import type { Dataset } from '../data/dataset.js';
import type { GpuDataset } from '../data/gpu-dataset.js';
import { gradualPruning } from '../compress/schedule.js';
import { quantizeWeights } from '../compress/quantize.js';
import { removeUnits } from '../compress/simplify.js';
import { modelFromSafetensors, modelToSafetensors } from '../io/model-file.js';
import { evaluate } from '../nn/evaluate.js';
import type { MLP } from '../nn/mlp.js';
import { fit, type FitOptions } from '../nn/train.js';
import { inferenceSpeed } from '../validate/speed.js';
import { type Candidate, candidateKey, unitsToRemove } from './candidate.js';

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
  base: MLP;
  /** The training data on the GPU; fitRows fine-tune, validationRows score. */
  data: GpuDataset;
  fitRows: Uint32Array;
  validationRows: Uint32Array;
  /** Validation rows on the host, for timing the forward pass (objective 'latency'). */
  speedRows?: Dataset;
  /** Ablation importance of the base model's hidden units (higher matters more), when units are searched. */
  unitScores?: Float64Array[];
  settings: TrialSettings;
  /**
   * Pruned and fine-tuned models by their structure (units and weights kept), as float32 files:
   * candidates that differ only in bits share that work. Filled by compressTo; keep it small.
   */
  pruned?: Map<string, Uint8Array>;
}

export interface TrialResult {
  id: number;
  candidate: Candidate;
  validationAccuracy: number;
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
  /** Runs the trials (in any order, or at once) and returns their results in the order given. */
  run(trials: { id: number; candidate: Candidate }[]): Promise<TrialResult[]>;
}

/** The default runner: one trial after another in this process, on the context's device. */
export function inProcessRunner(context: TrialContext): TrialRunner {
  return {
    async run(trials) {
      const out: TrialResult[] = [];
      for (const t of trials) out.push(await runTrial(context, t.id, t.candidate));
      return out;
    },
  };
}

/** Pruned models kept per context (the last few structures). */
const PRUNED_KEPT = 6;

/**
 * The base model with a candidate's units removed and its weights pruned, shared and fine-tuned;
 * the caller disposes it. Pruning's fine-tuning is seeded by the structure alone and sharing's by
 * the whole candidate, so a structure pruned once serves every bit width the same.
 */
export async function compressTo(context: TrialContext, candidate: Candidate, seed: number): Promise<MLP> {
  const structure: Candidate = { ...candidate, bits: candidate.bits.map(() => 32) };
  const key = candidateKey(structure);
  const cached = context.pruned?.get(key);
  const model = cached ? modelFromSafetensors(context.base.device, cached) : await pruneTo(context, structure, candidateSeed(seed, structure));
  if (!cached && context.pruned) {
    context.pruned.set(key, await modelToSafetensors(model));
    if (context.pruned.size > PRUNED_KEPT) context.pruned.delete(context.pruned.keys().next().value!);
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

/** Units removed and weights pruned gradually while fine-tuning (float weights). */
async function pruneTo(context: TrialContext, candidate: Candidate, seed: number): Promise<MLP> {
  const { base, data, fitRows, settings } = context;
  let model = base.clone();
  for (const [layer, keep] of candidate.units.entries()) {
    if (keep >= 1) continue;
    const scores = context.unitScores?.[layer];
    if (!scores) throw new Error(`No unit scores for layer ${layer}: the context must carry unitScores to remove units.`);
    const smaller = await removeUnits(model, layer, unitsToRemove(scores, keep));
    model.dispose();
    model = smaller;
  }
  const base0 = settings.fineTune;
  const steps = Math.ceil(fitRows.length / base0.batchSize) * settings.pruneEpochs;
  const pruning = candidate.keep.some((k) => k < 1);
  if (pruning || candidate.units.some((u) => u < 1)) {
    const hooks = pruning
      ? [gradualPruning({ scope: 'layer', finalSparsity: candidate.keep.map((k) => 1 - k), endStep: Math.max(1, Math.floor(steps * 0.75)), frequency: Math.max(1, Math.floor(steps / 40)) })]
      : [];
    // A third of the training rate: on LeNet-300-100 at 6 % kept it ends 0.2 points above a tenth (bench/RESULTS.md).
    await fit(model, data, { ...base0, epochs: settings.pruneEpochs, learningRate: base0.learningRate / 3, schedule: { type: 'constant' }, seed, rows: fitRows, hooks });
  }
  return model;
}

/** The fine-tuning seed of a candidate: the same candidate trains the same way whichever trial runs it. */
export function candidateSeed(seed: number, candidate: Candidate): number {
  let h = 2166136261; // FNV-1a of the candidate's key
  for (const ch of candidateKey(candidate)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return (seed + h) % 2 ** 31;
}

export async function runTrial(context: TrialContext, id: number, candidate: Candidate): Promise<TrialResult> {
  const t0 = performance.now();
  const { settings } = context;
  const model = await compressTo(context, candidate, settings.fineTune.seed ?? 0);
  try {
    const { accuracy } = await evaluate(model, context.data, { rows: context.validationRows });
    const file = await modelToSafetensors(model, settings.metadata, { float16: settings.float16 });
    let batchMs: number | undefined;
    if (settings.objective === 'latency' && context.speedRows) {
      const speed = await inferenceSpeed(model, context.speedRows, { batch: 1024, rounds: 3 });
      batchMs = (speed.batch / speed.rowsPerSecond) * 1000;
    }
    return { id, candidate, validationAccuracy: accuracy, bytes: file.length, ...(batchMs === undefined ? {} : { batchMs }), widths: model.widths, seconds: (performance.now() - t0) / 1000, file };
  } finally {
    model.dispose();
  }
}
