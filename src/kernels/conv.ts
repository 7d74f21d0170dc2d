/**
 * Host side of shaders/conv.wgsl: 2D convolution on NHWC images as im2col + the blocked GEMM, and
 * its backward pass (the weight gradient as a GEMM on the same columns, the input gradient as a
 * GEMM then col2im). Filters are a matrix W [kh * kw * c, f] (TensorFlow's HWIO, rows in
 * (ky, kx, ci) order); PyTorch's OIHW is converted on import and export.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation, gemm } from './gemm.js';
import { dispatchLinear, output, requireDType, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** A window sliding over NHWC images: the input's shape, the window, its steps and the zero padding, and the output size. */
// A type, not an interface: as a uniform struct's values it needs the implicit index signature.
export type Window = {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  oh: number;
  ow: number;
};

export interface WindowOptions {
  /** Window size: one number for square windows, or [height, width]. */
  kernel: number | readonly [number, number];
  /** Step between windows (default 1). */
  stride?: number | readonly [number, number];
  /** Zeros added on each side (default 0). */
  padding?: number | readonly [number, number];
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** The window geometry over an input of shape [n, h, w, c]; `op` names the layer in errors. */
export function windowOf(shape: readonly number[], options: WindowOptions, op: string): Window {
  if (shape.length !== 4) throw new ShapeError(`${op}: the input must be NHWC [n, h, w, c], got [${shape.join(', ')}].`);
  const [n, h, w, c] = shape as [number, number, number, number];
  const [kh, kw] = pair(options.kernel);
  const [sh, sw] = pair(options.stride ?? 1);
  const [ph, pw] = pair(options.padding ?? 0);
  for (const [name, v, min] of [
    ['kernel', kh, 1],
    ['kernel', kw, 1],
    ['stride', sh, 1],
    ['stride', sw, 1],
    ['padding', ph, 0],
    ['padding', pw, 0],
  ] as const)
    if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${op}: ${name} must be a whole number of at least ${min}, got ${v}.`);
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) throw new ShapeError(`${op}: a ${kh}x${kw} window with padding ${ph},${pw} does not fit a ${h}x${w} image.`);
  return { n, h, w, c, kh, kw, sh, sw, ph, pw, oh, ow };
}

/** cols [n * oh * ow, kh * kw * c]: each output position's window, in (ky, kx, ci) order, zeros in the padding. */
export function im2col(x: F32, g: Window, out?: F32): F32 {
  requireDType('im2col', 'x', x, 'f32');
  requireShape('im2col', 'x', x, [g.n, g.h, g.w, g.c]);
  const rows = g.n * g.oh * g.ow;
  const k = g.kh * g.kw * g.c;
  const cols = output(x.device, [rows, k], 'f32', out, 'im2col');
  x.device.checkTensorSize([rows, k], 'f32', `im2col of a [${g.n}, ${g.h}, ${g.w}, ${g.c}] input with a ${g.kh}x${g.kw} window`);
  dispatchLinear(x.device, 'conv', 'im2col', { g, x, cols }, rows * k);
  return cols;
}

/** dx [n, h, w, c]: each input element's sum of the columns that read it (im2col's adjoint). */
export function col2im(dcols: F32, g: Window, out?: F32): F32 {
  requireShape('col2im', 'dcols', dcols, [g.n * g.oh * g.ow, g.kh * g.kw * g.c]);
  const dx = output(dcols.device, [g.n, g.h, g.w, g.c], 'f32', out, 'col2im');
  dispatchLinear(dcols.device, 'conv', 'col2im', { g, dcols, dx }, g.n * g.h * g.w * g.c);
  return dx;
}

export interface Conv2dOptions extends WindowOptions {
  /** [f] added to every output position before the activation. */
  bias?: F32;
  activation?: Activation;
}

/** The filter matrix's expected shape for an input with `c` channels. */
function checkFilters(weight: F32, g: Window, op: string): number {
  requireRank(op, 'weight', weight, 2);
  if (weight.shape[0] !== g.kh * g.kw * g.c)
    throw new ShapeError(`${op}: weight has ${weight.shape[0]} rows; a ${g.kh}x${g.kw} window over ${g.c} channels needs ${g.kh * g.kw * g.c} (HWIO, [kh * kw * c, filters]).`);
  return weight.shape[1]!;
}

/**
 * y [n, oh, ow, f] = act(conv(x, weight) + bias) for x [n, h, w, c] and weight [kh * kw * c, f].
 * Returns the columns too: the backward pass needs them (dispose them otherwise).
 */
export function conv2d(x: F32, weight: F32, options: Conv2dOptions): { y: F32; cols: F32; window: Window } {
  const g = windowOf(x.shape, options, 'conv2d');
  const f = checkFilters(weight, g, 'conv2d');
  const cols = im2col(x, g);
  const y = gemm(cols, weight, { ...(options.bias ? { bias: options.bias } : {}), activation: options.activation ?? 'identity' });
  return { y: y.reshape([g.n, g.oh, g.ow, f]), cols, window: g };
}

/**
 * grad *= f'(z) in place, f the activation whose outputs y = f(z) are `outputs` (same shape):
 * a gradient that reached a layer's outputs becomes the gradient of its pre-activations.
 * Identity leaves grad as it is.
 */
export function activationBackward(grad: F32, outputs: F32, activation: Activation): F32 {
  if (grad.size !== outputs.size) throw new ShapeError(`activationBackward: grad has ${grad.size} elements, outputs ${outputs.size}.`);
  if (activation !== 'identity') dispatchLinear(grad.device, 'conv', 'derivative', { d: { size: grad.size, act: ACTIVATIONS[activation] }, outputs, grad }, grad.size);
  return grad;
}

export interface Conv2dGradients {
  /** [kh * kw * c, f] */
  dweight: F32;
  /** [f], when asked for */
  dbias?: F32;
  /** [n, h, w, c], when asked for (not for the first layer) */
  dx?: F32;
}

/**
 * Gradients of a convolution from dy [n, oh, ow, f] (already multiplied by the activation's
 * derivative): dW = cols^T dy, db = the column sums of dy, dx = col2im(dy W^T).
 */
export function conv2dBackward(
  dy: F32,
  cols: F32,
  weight: F32,
  g: Window,
  options: { bias?: boolean; input?: boolean; out?: { dweight?: F32; dbias?: F32; dx?: F32; dcols?: F32 } } = {},
): Conv2dGradients {
  const f = checkFilters(weight, g, 'conv2dBackward');
  requireShape('conv2dBackward', 'dy', dy, [g.n, g.oh, g.ow, f]);
  const out = options.out ?? {};
  const dy2 = dy.reshape([g.n * g.oh * g.ow, f]);
  const dbias = options.bias ? (out.dbias ?? dy.device.empty([f])) : undefined;
  const dweight = gemm(cols, dy2, { transA: true, ...(dbias ? { columnSums: dbias } : {}), ...(out.dweight ? { out: out.dweight } : {}) });
  let dx: F32 | undefined;
  if (options.input) {
    const dcols = gemm(dy2, weight, { transB: true, ...(out.dcols ? { out: out.dcols } : {}) });
    dx = col2im(dcols, g, out.dx);
    if (dcols !== out.dcols) dcols.dispose();
  }
  return { dweight, ...(dbias ? { dbias } : {}), ...(dx ? { dx } : {}) };
}
