/**
 * Inference speed of a model as a user runs it: throughput of the forward pass over a batch of
 * rows on the GPU (written again before each round, as new rows would be, so what a pass does for
 * new inputs is timed: gpu/resident-textures.ts keeps textures of unchanged tensors only; the
 * logits read back), and the latency of predict() on one row (upload, forward, read back). Each
 * is the best of several rounds after a warm-up round, which compiles the pipelines and makes any
 * padded weights; a CPU adapter's speed drifts, so the best is the steadiest figure. Wall-clock
 * times of the code path, not estimates.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../nn/model.js';
import { rotatedRounds, time } from './rounds.js';

export interface InferenceSpeed {
  /** Rows per second of the forward pass at `batch` rows. */
  rowsPerSecond: number;
  /** Milliseconds of predict() on one row. */
  latencyMs: number;
  batch: number;
  rounds: number;
}

export interface SpeedOptions {
  /** Rows of the timed forward pass (default 1024, at most the data's rows). */
  batch?: number;
  /** Timed rounds after the warm-up (default 5); each figure is the best. */
  rounds?: number;
}

/** The speed of one model (inferenceSpeeds with one model). */
export async function inferenceSpeed(model: Model, data: Dataset, options: SpeedOptions = {}): Promise<InferenceSpeed> {
  return (await inferenceSpeeds([model], data, options))[0]!;
}

/**
 * The speeds of several models on one device, timed in the same rotated rounds (rounds.ts) as a
 * comparison needs: timed one model after another, a CPU adapter's drift over the minutes
 * between them stayed in their ratios (the default run's simplified model read 1.58x dense where
 * the benchmark's rotated rounds read 2.4-2.6x, bench/RESULTS.md).
 */
export async function inferenceSpeeds(models: Model[], data: Dataset, options: SpeedOptions = {}): Promise<InferenceSpeed[]> {
  const batch = Math.min(options.batch ?? 1024, data.rows);
  const rounds = options.rounds ?? 5;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(`batch must be a positive integer, got ${options.batch}.`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new InvalidArgumentError(`rounds must be a positive integer, got ${options.rounds}.`);
  if (models.length === 0) return [];
  const device = models[0]!.device;
  for (const model of models) {
    if (model.device !== device) throw new InvalidArgumentError('inferenceSpeeds times models on one device; these are on several (time the models of each device in a call of their own).');
    if (data.cols !== model.inputs) throw new InvalidArgumentError(`The data has ${data.cols} features but a model takes ${model.inputs} inputs.`);
  }
  for (const model of models) await model.prepareInference();
  const rows = data.features.subarray(0, batch * data.cols);
  const x = device.tensor(rows, [batch, data.cols]);
  const one = data.features.slice(0, data.cols);
  const times = new Map(models.map((m) => [m, { forward: Infinity, single: Infinity }]));
  try {
    await rotatedRounds(models, rounds, async (model, timed) => {
      const { forward, single } = await timeInference(model, x, rows, one);
      const best = times.get(model)!;
      if (timed) [best.forward, best.single] = [Math.min(best.forward, forward), Math.min(best.single, single)];
    });
  } finally {
    x.dispose();
  }
  return models.map((m) => ({ rowsPerSecond: (batch / times.get(m)!.forward) * 1000, latencyMs: times.get(m)!.single, batch, rounds }));
}

/**
 * One round of a model's timing, as inferenceSpeeds and the inference benchmarks take it: `rows`
 * written into x again (new rows, as in use: gpu/resident-textures.ts keeps textures of unchanged
 * tensors only), then the forward pass over x with its read-back, then predict() on `one` row;
 * milliseconds of each.
 */
export async function timeInference(model: Model, x: Tensor<'f32'>, rows: Float32Array, one: Float32Array): Promise<{ forward: number; single: number }> {
  model.device.write(x, rows);
  await model.device.sync();
  const forward = await time(async () => {
    const z = model.forward(x);
    await z.read();
    z.dispose();
  });
  return { forward, single: await time(() => model.predict(one)) };
}
