/**
 * Host side of shaders/batchnorm.wgsl: batch normalization of the columns (channels) of x
 * [rows, channels], as PyTorch's BatchNorm1d on [n, c] and BatchNorm2d on NHWC images viewed as
 * [n * h * w, c]. Training normalizes with the batch's statistics (biased variance) and moves the
 * running averages by `momentum` (the variance unbiased); inference uses the running averages.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { dispatchLinear, output, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** A batch norm's parameters: gamma and beta [channels] (trained), running [2, channels]: the running mean, then the running variance. */
export interface NormParams {
  gamma: F32;
  beta: F32;
  running: F32;
}

export interface NormSettings {
  /** Added to the variance (PyTorch's default 1e-5). */
  eps: number;
  /** Weight of the new batch in the running averages (PyTorch's default 0.1). */
  momentum: number;
  activation: Activation;
}

/** Rows per chunk of the partial sums: columns' sums in two passes, chunks then their merge. */
const CHUNK = 64;

const base = { rows: 0, cols: 0, chunk: CHUNK, chunks: 0, eps: 0, momentum: 0, update: 0, act: 0 };

function shapeOf(op: string, x: F32, norm: NormParams): { rows: number; cols: number; chunks: number } {
  requireRank(op, 'x', x, 2);
  const [rows, cols] = x.shape as [number, number];
  requireShape(op, 'gamma', norm.gamma, [cols]);
  requireShape(op, 'beta', norm.beta, [cols]);
  requireShape(op, 'running', norm.running, [2, cols]);
  return { rows, cols, chunks: Math.ceil(rows / CHUNK) };
}

/**
 * Training: y = act((x - mean) / sqrt(var + eps) * gamma + beta) with the batch's mean and biased
 * variance per column, which the returned `affine` [channels, 4] keeps (mean, 1 / sqrt(var + eps),
 * gamma / sqrt(var + eps), beta) for the backward pass; the running averages move by momentum
 * unless update is false.
 */
export function batchNormTrain(x: F32, norm: NormParams, settings: NormSettings, out: { y?: F32; affine?: F32; update?: boolean } = {}): { y: F32; affine: F32 } {
  const { rows, cols, chunks } = shapeOf('batchNormTrain', x, norm);
  if (rows < 2)
    throw new InvalidArgumentError(`Batch norm in training needs more than one value per channel, got ${rows} (a batch of one row into a dense batch norm): use batches of two rows or more.`);
  const device = x.device;
  const y = output(device, [rows, cols], 'f32', out.y, 'batchNormTrain');
  const affine = output(device, [cols, 4], 'f32', out.affine, 'batchNormTrain');
  const p = { ...base, rows, cols, chunks, eps: settings.eps, momentum: settings.momentum, update: out.update === false ? 0 : 1, act: ACTIVATIONS[settings.activation] };
  const partial = device.empty([chunks, cols, 2]);
  dispatchLinear(device, 'batchnorm', 'partial_stats', { p, x, partial }, chunks * cols);
  dispatchLinear(device, 'batchnorm', 'finish_stats', { p, partial_in: partial, gamma: norm.gamma, beta: norm.beta, running: norm.running, affine }, cols);
  partial.dispose(); // safe: the pool reuses it only for work recorded after this point
  dispatchLinear(device, 'batchnorm', 'apply', { p, x, affine_in: affine, y }, rows * cols);
  return { y, affine };
}

/** Inference: y = act((x - running mean) / sqrt(running var + eps) * gamma + beta). */
export function batchNormInfer(x: F32, norm: NormParams, settings: Omit<NormSettings, 'momentum'>, out?: F32): F32 {
  const { rows, cols } = shapeOf('batchNormInfer', x, norm);
  const device = x.device;
  const y = output(device, [rows, cols], 'f32', out, 'batchNormInfer');
  const p = { ...base, rows, cols, eps: settings.eps, act: ACTIVATIONS[settings.activation] };
  const affine = device.empty([cols, 4]);
  dispatchLinear(device, 'batchnorm', 'running_affine', { p, running_in: norm.running, gamma: norm.gamma, beta: norm.beta, affine }, cols);
  dispatchLinear(device, 'batchnorm', 'apply', { p, x, affine_in: affine, y }, rows * cols);
  affine.dispose();
  return y;
}

/**
 * Backward of batchNormTrain from dz = dL/d(gamma * xhat + beta) [rows, channels] (the
 * activation's derivative already applied) and the forward pass's x and affine: dgamma, dbeta
 * [channels], and dx when given an out for it.
 */
export function batchNormBackward(x: F32, dz: F32, affine: F32, out: { dgamma: F32; dbeta: F32; dx?: F32 }): void {
  requireRank('batchNormBackward', 'x', x, 2);
  const [rows, cols] = x.shape as [number, number];
  requireShape('batchNormBackward', 'dz', dz, [rows, cols]);
  requireShape('batchNormBackward', 'affine', affine, [cols, 4]);
  requireShape('batchNormBackward', 'dgamma', out.dgamma, [cols]);
  requireShape('batchNormBackward', 'dbeta', out.dbeta, [cols]);
  if (out.dx) requireShape('batchNormBackward', 'dx', out.dx, [rows, cols]);
  const device = x.device;
  const chunks = Math.ceil(rows / CHUNK);
  const p = { ...base, rows, cols, chunks };
  const partial = device.empty([chunks, cols, 2]);
  const coef = device.empty([cols, 2]);
  dispatchLinear(device, 'batchnorm', 'partial_grads', { p, x, affine_in: affine, dz, partial_out: partial }, chunks * cols);
  dispatchLinear(device, 'batchnorm', 'finish_grads', { p, partial_in: partial, dgamma: out.dgamma, dbeta: out.dbeta, coef }, cols);
  if (out.dx) dispatchLinear(device, 'batchnorm', 'input_grads', { p, x, affine_in: affine, dz, coef_in: coef, dx: out.dx }, rows * cols);
  partial.dispose();
  coef.dispose();
}
