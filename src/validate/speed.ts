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
import type { Model } from '../nn/model.js';

export interface InferenceSpeed {
  /** Rows per second of the forward pass at `batch` rows. */
  rowsPerSecond: number;
  /** Milliseconds of predict() on one row. */
  latencyMs: number;
  batch: number;
  rounds: number;
}

export async function inferenceSpeed(model: Model, data: Dataset, options: { batch?: number; rounds?: number } = {}): Promise<InferenceSpeed> {
  const batch = Math.min(options.batch ?? 1024, data.rows);
  const rounds = options.rounds ?? 5;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(`batch must be a positive integer, got ${options.batch}.`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new InvalidArgumentError(`rounds must be a positive integer, got ${options.rounds}.`);
  if (data.cols !== model.inputs) throw new InvalidArgumentError(`The data has ${data.cols} features but the model takes ${model.inputs} inputs.`);
  const rows = data.features.subarray(0, batch * data.cols);
  const x = model.device.tensor(rows, [batch, data.cols]);
  const one = data.features.slice(0, data.cols);
  let forward = Infinity,
    single = Infinity;
  await model.prepareInference();
  try {
    for (let r = 0; r <= rounds; r++) {
      model.device.write(x, rows);
      await model.device.sync();
      let t0 = performance.now();
      const z = model.forward(x);
      await z.read();
      z.dispose();
      const f = performance.now() - t0;
      t0 = performance.now();
      await model.predict(one);
      const s = performance.now() - t0;
      if (r > 0) (forward = Math.min(forward, f)), (single = Math.min(single, s));
    }
  } finally {
    x.dispose();
  }
  return { rowsPerSecond: (batch / forward) * 1000, latencyMs: single, batch, rounds };
}
