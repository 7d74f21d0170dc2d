/** Host side of shaders/metrics.wgsl: argmax, confusion matrix (atomics), top-k, regression sums. */
import { grid } from '../gpu/grid.js';
import type { Tensor } from '../gpu/tensor.js';
import { requireDType, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

export interface ClassifyAccumulators {
  /** [n] u32: the predicted class of every row, written at offset + r. */
  pred: Tensor<'u32'>;
  /** [C * C] u32, row = true label, column = prediction. */
  confusion: Tensor<'u32'>;
  /** [4] u32: element 0 counts rows whose label is in the top k. */
  topk: Tensor<'u32'>;
}

export function classifyBatch(z: F32, labels: Tensor<'i32'>, acc: ClassifyAccumulators, offset: number, k: number): void {
  requireRank('classify', 'z', z, 2);
  const [rows, cols] = z.shape as [number, number];
  requireDType('classify', 'labels', labels, 'i32');
  requireShape('classify', 'labels', labels, [rows]);
  requireShape('classify', 'confusion', acc.confusion, [cols * cols]);
  const device = z.device;
  device.dispatch(
    device.kernel('metrics'),
    'classify',
    { p: { rows, cols, k, offset }, z, labels, pred: acc.pred, confusion: acc.confusion, topk: acc.topk },
    grid(Math.ceil(rows / 64), device.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Adds sum (z - t)^2, sum |z - t|, sum t, sum t^2 of each column to sums [4 * C]. */
export function regressionSums(z: F32, targets: F32, sums: F32): void {
  requireRank('regressionSums', 'z', z, 2);
  requireShape('regressionSums', 'targets', targets, z.shape);
  const cols = z.shape[1]!;
  requireShape('regressionSums', 'sums', sums, [4 * cols]);
  const device = z.device;
  device.dispatch(device.kernel('metrics'), 'regression_sums', { p: { rows: z.shape[0]!, cols, k: 0, offset: 0 }, z, targets, sums }, [Math.ceil(cols / 64)]);
}

/** Per row of z [B, C] with labels: loss, 1 - top probability, true-class probability, correct (0/1) into samples [4 * n] at row offset. */
export function perSample(z: F32, labels: Tensor<'i32'>, samples: F32, offset: number): void {
  requireRank('perSample', 'z', z, 2);
  const [rows, cols] = z.shape as [number, number];
  requireShape('perSample', 'labels', labels, [rows]);
  if (samples.size < 4 * (offset + rows)) throw new RangeError(`perSample: samples hold ${samples.size / 4} rows, need ${offset + rows}`);
  const device = z.device;
  device.dispatch(device.kernel('metrics'), 'per_sample', { p: { rows, cols, k: 0, offset }, z, labels, samples }, grid(Math.ceil(rows / 64), device.gpu.limits.maxComputeWorkgroupsPerDimension));
}
