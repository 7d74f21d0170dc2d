/**
 * The figures of one model variant against the reference (dense) model on the test set: the
 * byte length of its model file, parameters, sparsity (per layer), accuracy, the accuracy
 * difference with its bootstrap interval and McNemar's exact p-value, and its inference speed
 * (rows per second at batch 1024, latency of one row).
 */
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/sequential.js';
import { compressedSize } from '../compress/size.js';
import { pruneReport } from '../compress/prune.js';
import { testMetrics, type ClassificationMetrics } from '../validate/metrics.js';
import { comparePredictions } from '../validate/compare.js';
import { inferenceSpeed, type InferenceSpeed } from '../validate/speed.js';

export interface VariantReport {
  name: string;
  description: string;
  /** The saved model, relative to the report directory. */
  file?: string;
  architecture: string;
  parameters: number;
  nonzero: number;
  sparsity: number;
  bits: number;
  /** The byte length of the variant's model file (as written; compressedSize when not written). */
  bytes: number;
  /** The reference's file bytes over this variant's file bytes. */
  ratio: number;
  accuracy: number;
  /** The bootstrap interval of the accuracy (95 %, test rows resampled). */
  accuracyInterval: [number, number];
  /** accuracy - reference accuracy, with its interval and p-value (McNemar, exact). */
  difference: number;
  interval: [number, number];
  pValue: number;
  /** Forward-pass throughput at batch 1024 and predict() latency on one row (validate/speed.ts). */
  rowsPerSecond: number;
  latencyMs: number;
  layers: { layer: string; sparsity: number }[];
}

/** The architecture as a report names it: 784-300-100-10, or a network's compact layers. */
export function architectureOfModel(model: Model): string {
  return model instanceof Sequential ? model.describe() : model.widths.join('-');
}

/** The widest bit width a model's weights are stored in (32 for float layers). */
export function bitsOf(model: Model): number {
  return Math.max(...model.layers.map((l) => l.quant?.spec.bits ?? 32));
}

export interface VariantOptions {
  name: string;
  description: string;
  /** Seeds the bootstrap interval (default 1). */
  seed?: number;
  /** The byte length of the variant's saved file; default the file saveModel would write without metadata. */
  fileBytes?: number;
  /** Its speed, timed beside the other variants' (inferenceSpeeds); default timed here alone. */
  speed?: InferenceSpeed;
}

/** The figures of `model` against the reference on labelled test data. */
export async function measureVariant(
  model: Model,
  reference: { model: Model; predictions?: ArrayLike<number>; bytes?: number },
  test: Dataset | GpuDataset,
  options: VariantOptions,
): Promise<VariantReport> {
  const { name, description, seed = 1, fileBytes, speed } = options;
  const gpu = test instanceof GpuDataset ? test : new GpuDataset(model.device, test);
  try {
    const bits = bitsOf(model);
    const bytes = fileBytes ?? (await compressedSize(model)).totalBytes;
    const pr = await pruneReport(model);
    const refPredictions = reference.predictions ?? ((await testMetrics(reference.model, gpu)) as ClassificationMetrics).predictions;
    const metrics = (await testMetrics(model, gpu)) as ClassificationMetrics;
    const { rowsPerSecond, latencyMs } = speed ?? (await inferenceSpeed(model, gpu.data));
    const cmp = comparePredictions(gpu.data.labels!, refPredictions, metrics.predictions, { seed });
    const refBytes = reference.bytes ?? (await compressedSize(reference.model)).totalBytes;
    return {
      name,
      description,
      architecture: architectureOfModel(model),
      parameters: model.parameterCount(),
      nonzero: pr.nonzero + model.layers.reduce((n, l) => n + l.units, 0),
      sparsity: pr.sparsity,
      bits,
      bytes,
      ratio: refBytes / bytes,
      accuracy: metrics.accuracy,
      accuracyInterval: cmp.intervalB,
      difference: cmp.difference,
      interval: cmp.interval,
      pValue: cmp.pValue,
      rowsPerSecond,
      latencyMs,
      layers: pr.layers.map((l) => ({ layer: `layer ${l.layer + 1}`, sparsity: l.sparsity })),
    };
  } finally {
    if (gpu !== test) gpu.dispose();
  }
}
