/** evaluate: mean loss and accuracy of a model on data, on the GPU. */
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { lossDivisor, lossForward, newStats, STATS, type LossKind } from '../kernels/loss.js';
import { accuracyOf, checkFit, defaultLoss, rowsOf } from './fit-checks.js';
import type { Model } from './model.js';

export interface EvaluateOptions {
  loss?: LossKind;
  /** Score these rows of the data only; default all rows. */
  rows?: ArrayLike<number>;
  /** Rows per forward pass (default 1024). */
  batchSize?: number;
}

/** Mean loss and accuracy of `model` on `data`, computed on the GPU and read once. */
export async function evaluate(model: Model, data: Dataset | GpuDataset, options: EvaluateOptions = {}): Promise<{ loss: number; accuracy: number }> {
  const owned = !(data instanceof GpuDataset);
  const gpuData = data instanceof GpuDataset ? data : new GpuDataset(model.device, data);
  const raw = gpuData.data;
  const loss = options.loss ?? defaultLoss(raw);
  checkFit(model, raw, { epochs: 1, batchSize: 1, learningRate: 1 }, loss);
  const n = rowsOf(options.rows, raw.rows).length;
  const stats = newStats(model.device);
  try {
    await model.prepareInference(); // pruned layers run sparse
    await gpuData.forEachBatch(
      Math.min(options.batchSize ?? 1024, n),
      (x, y) => {
        const z = model.forward(x);
        lossForward(loss, { z, target: y, stats });
        z.dispose();
      },
      options.rows,
    );
    const s = await stats.read();
    return { loss: s[STATS.lossSum]! / lossDivisor(loss, n, model.outputs), accuracy: accuracyOf(loss, s[STATS.correct]!, n, model.outputs) };
  } finally {
    stats.dispose();
    if (owned) gpuData.dispose();
  }
}
