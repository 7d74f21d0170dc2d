/** Host side of shaders/loss.wgsl: fused loss, gradient and on-GPU accumulation of loss and accuracy. */
import { InvalidArgumentError } from '../errors.js';
import { grid } from '../gpu/grid.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { placeholder, requireDType, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

export const LOSSES = ['softmaxCrossEntropy', 'mse', 'bceLogits'] as const;
export type LossKind = (typeof LOSSES)[number];

const ENTRY: Record<LossKind, string> = { softmaxCrossEntropy: 'softmax_cross_entropy', mse: 'mse', bceLogits: 'bce_logits' };

/** Layout of the stats tensor the loss kernels accumulate into (see shaders/loss.wgsl). */
export const STATS = { lossSum: 0, correct: 1, badStep: 2, size: 4 } as const;

/** A fresh stats tensor: sums at 0, no bad step (-1). */
export function newStats(device: Device): F32 {
  return device.tensor(new Float32Array([0, 0, -1, 0]));
}

/** Cross-entropy averages over rows; MSE and BCE average over every element (PyTorch's 'mean'). */
export function lossDivisor(kind: LossKind, rows: number, cols: number): number {
  return kind === 'softmaxCrossEntropy' ? rows : rows * cols;
}

export interface LossCall {
  /** Outputs (logits) [B, C]. */
  z: F32;
  /** Labels [B] (i32) for cross-entropy; targets [B, C] (f32) otherwise. */
  target: Tensor;
  stats: F32;
  /** Where dL/dz goes ([B, C]); omit to evaluate only. */
  grad?: F32;
  labelSmoothing?: number;
  /** Scale of the gradient; default 1 / lossDivisor of this batch. */
  gradScale?: number;
  /** Step number recorded in stats when this batch's loss is not finite. */
  step?: number;
}

/** Accumulates the batch's summed loss and correct count into stats, and writes dL/dz if grad is given. */
export function lossForward(kind: LossKind, call: LossCall): void {
  const { z, target, stats, grad, labelSmoothing = 0, step = 0 } = call;
  requireRank(kind, 'z', z, 2);
  requireDType(kind, 'z', z, 'f32');
  const [rows, cols] = z.shape as [number, number];
  if (kind === 'softmaxCrossEntropy') {
    requireDType(kind, 'labels', target, 'i32');
    requireShape(kind, 'labels', target, [rows]);
  } else {
    requireDType(kind, 'targets', target, 'f32');
    requireShape(kind, 'targets', target, [rows, cols]);
  }
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new InvalidArgumentError(`${kind}: labelSmoothing must be in [0, 1), got ${labelSmoothing}.`);
  if (labelSmoothing > 0 && kind !== 'softmaxCrossEntropy') throw new InvalidArgumentError(`${kind}: label smoothing applies to softmaxCrossEntropy only.`);
  requireShape(kind, 'stats', stats, [STATS.size]);
  if (grad) requireShape(kind, 'grad', grad, [rows, cols]);
  const device = z.device;
  const gradScale = call.gradScale ?? 1 / lossDivisor(kind, rows, cols);
  device.dispatch(
    device.kernel('loss'),
    ENTRY[kind],
    {
      p: { rows, cols, eps: labelSmoothing, grad_scale: gradScale, write_grad: grad ? 1 : 0, step, alpha: 0, temperature: 1 },
      z,
      [kind === 'softmaxCrossEntropy' ? 'labels' : 'targets']: target,
      grad: grad ?? placeholder(device, 'f32'),
      stats,
    },
    [1],
  );
}

/** Row-wise softmax of z [B, C] (numerically stable), into a new tensor. */
export function softmax(z: F32): F32 {
  requireRank('softmax', 'z', z, 2);
  requireDType('softmax', 'z', z, 'f32');
  const [rows, cols] = z.shape as [number, number];
  const device = z.device;
  const out = device.empty([rows, cols]);
  const wg = 64; // the shader's fixed WG
  device.dispatch(
    device.kernel('loss'),
    'softmax',
    { p: { rows, cols, eps: 0, grad_scale: 1, write_grad: 1, step: 0, alpha: 0, temperature: 1 }, z, grad: out },
    grid(Math.ceil(rows / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
  return out;
}

export interface DistillationCall {
  /** Student logits [B, C]. */
  z: F32;
  /** Teacher logits [B, C]. */
  teacher: F32;
  /** Labels [B] (i32); not read when alpha = 1. */
  labels?: Tensor<'i32'>;
  stats: F32;
  grad?: F32;
  alpha: number;
  temperature: number;
  step?: number;
}

/** Hinton et al.'s distillation loss and its gradient, fused (see shaders/loss.wgsl). Averaged over rows. */
export function distillationLoss(call: DistillationCall): void {
  const { z, teacher, labels, stats, grad, alpha, temperature, step = 0 } = call;
  requireRank('distillation', 'z', z, 2);
  const [rows, cols] = z.shape as [number, number];
  requireShape('distillation', 'teacher logits', teacher, [rows, cols]);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new InvalidArgumentError(`distillation: temperature must be positive, got ${temperature}.`);
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`distillation: alpha must be in [0, 1], got ${alpha}.`);
  if (alpha < 1 && !labels) throw new InvalidArgumentError('distillation: alpha < 1 mixes in the labels, so pass them (or use alpha = 1 on an unlabelled transfer set).');
  if (labels) requireShape('distillation', 'labels', labels, [rows]);
  requireShape('distillation', 'stats', stats, [STATS.size]);
  if (grad) requireShape('distillation', 'grad', grad, [rows, cols]);
  const device = z.device;
  device.dispatch(
    device.kernel('loss'),
    'distillation',
    {
      p: { rows, cols, eps: 0, grad_scale: 1 / rows, write_grad: grad ? 1 : 0, step, alpha, temperature },
      z,
      teacher,
      labels: labels ?? placeholder(device, 'i32'),
      grad: grad ?? placeholder(device, 'f32'),
      stats,
    },
    [1],
  );
}
