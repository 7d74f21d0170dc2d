/**
 * Host side of shaders/conv.wgsl: 2D convolution on NHWC images as im2col + the blocked GEMM, and
 * its backward pass (the weight gradient as a GEMM on the same columns, the input gradient as a
 * GEMM then col2im). Filters are a matrix W [kh * kw * c, f] (TensorFlow's HWIO, rows in
 * (ky, kx, ci) order); PyTorch's OIHW is converted on import and export.
 *
 * The blocked GEMM versions need K and N in whole vec4s, which LeNet's 25 and 500 rows and 50
 * filters are not: the columns are written k rounded up to kp (zero columns), and the filters
 * run as a zero-padded copy [kp, f rounded up to 4] whose extra outputs are cut off. On llvmpipe
 * this made LeNet-5's second convolution 4-5x faster than the unblocked GEMM it fell back to.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation, gemm } from './gemm.js';
import { dispatchLinear, output, requireDType, requireRank, requireShape } from './launch.js';
import { resize } from './transpose.js';

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
  /** Columns of the im2col matrix: kh * kw * c rounded up to a multiple of 4. */
  kp: number;
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
const roundUp4 = (v: number) => Math.ceil(v / 4) * 4;

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
  return { n, h, w, c, kh, kw, sh, sw, ph, pw, oh, ow, kp: roundUp4(kh * kw * c) };
}

/** cols [n * oh * ow, kp]: each output position's window, in (ky, kx, ci) order, zeros in the padding and in the columns past kh * kw * c. */
export function im2col(x: F32, g: Window, out?: F32): F32 {
  requireDType('im2col', 'x', x, 'f32');
  requireShape('im2col', 'x', x, [g.n, g.h, g.w, g.c]);
  const rows = g.n * g.oh * g.ow;
  x.device.checkTensorSize([rows, g.kp], 'f32', `im2col of a [${g.n}, ${g.h}, ${g.w}, ${g.c}] input with a ${g.kh}x${g.kw} window`);
  const cols = output(x.device, [rows, g.kp], 'f32', out, 'im2col');
  // Channels in whole vec4s load four at once (shaders/conv.wgsl, im2col_c4).
  if (g.c % 4 === 0) dispatchLinear(x.device, 'conv', 'im2col_c4', { g, x4: x, cols4: cols }, (rows * g.kp) / 4);
  else dispatchLinear(x.device, 'conv', 'im2col', { g, x, cols4: cols }, (rows * g.kp) / 4);
  return cols;
}

/** dx [n, h, w, c]: each input element's sum of the columns that read it (im2col's adjoint). */
export function col2im(dcols: F32, g: Window, out?: F32): F32 {
  requireShape('col2im', 'dcols', dcols, [g.n * g.oh * g.ow, g.kp]);
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

/** The filters as the padded GEMM runs them: [kp, f rounded up to 4], zero rows and columns added (the weight itself when it needs none). */
export function paddedFilters(weight: F32, g: Window, out?: F32): F32 {
  const f = weight.shape[1]!;
  return weight.shape[0] === g.kp && f % 4 === 0 ? weight : resize(weight, g.kp, roundUp4(f), out);
}

/**
 * y [n * oh * ow, f] = act(cols W + bias) into `out` (the NHWC output as rows): the convolution's
 * GEMM on columns made by im2col, through the padded filters, the extra outputs cut off.
 */
export function convolveColumns(cols: F32, weight: F32, g: Window, options: { bias?: F32; activation?: Activation; out?: F32; padded?: F32 } = {}): F32 {
  const f = checkFilters(weight, g, 'conv2d');
  const rows = g.n * g.oh * g.ow;
  requireShape('conv2d', 'cols', cols, [rows, g.kp]);
  // `padded`: the padded filters a training step made once for its forward and backward passes.
  const w = options.padded ?? paddedFilters(weight, g);
  const fp = w.shape[1]!;
  let bias = options.bias;
  if (options.bias && fp !== f) {
    bias = cols.device.empty([fp]);
    resize(options.bias.reshape([1, f]), 1, fp, bias.reshape([1, fp]));
  }
  const wide = gemm(cols, w, { ...(bias ? { bias } : {}), activation: options.activation ?? 'identity', ...(fp === f && options.out ? { out: options.out } : {}) });
  const y = fp === f ? wide : resize(wide, rows, f, options.out);
  if (w !== weight && w !== options.padded) w.dispose();
  if (bias && bias !== options.bias) bias.dispose();
  if (wide !== y) wide.dispose();
  return y;
}

/**
 * y [n, oh, ow, f] = act(conv(x, weight) + bias) for x [n, h, w, c] and weight [kh * kw * c, f].
 * Returns the columns too: the backward pass needs them (dispose them otherwise).
 */
export function conv2d(x: F32, weight: F32, options: Conv2dOptions): { y: F32; cols: F32; window: Window } {
  const g = windowOf(x.shape, options, 'conv2d');
  const f = checkFilters(weight, g, 'conv2d');
  const cols = im2col(x, g);
  // y owns its buffer: a reshaped view of convolveColumns' result would leave that result (the
  // owner) undisposed when the caller disposes y, a leak of every convolution's output.
  const y = x.device.empty([g.n, g.oh, g.ow, f]);
  convolveColumns(cols, weight, g, { ...options, out: y.reshape([g.n * g.oh * g.ow, f]) });
  return { y, cols, window: g };
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
  options: { bias?: boolean; input?: boolean; padded?: F32; out?: { dweight?: F32; dbias?: F32; dx?: F32; dcols?: F32 } } = {},
): Conv2dGradients {
  const f = checkFilters(weight, g, 'conv2dBackward');
  requireShape('conv2dBackward', 'dy', dy, [g.n, g.oh, g.ow, f]);
  const rows = g.n * g.oh * g.ow;
  requireShape('conv2dBackward', 'cols', cols, [rows, g.kp]);
  const out = options.out ?? {};
  const k = g.kh * g.kw * g.c;
  const fp = roundUp4(f);
  const device = dy.device;
  // As the forward pass: filters padded to [kp, fp], dy to [rows, fp]; the padding's gradients are cut off.
  const dyp = fp === f ? dy.reshape([rows, f]) : resize(dy.reshape([rows, f]), rows, fp);
  const padded = g.kp !== k || fp !== f;
  const dbp = options.bias ? (fp === f && out.dbias ? out.dbias : device.empty([fp])) : undefined;
  const dwp = gemm(cols, dyp, { transA: true, ...(dbp ? { columnSums: dbp } : {}), ...(!padded && out.dweight ? { out: out.dweight } : {}) });
  const dweight = padded ? resize(dwp, k, f, out.dweight) : dwp;
  if (dwp !== dweight) dwp.dispose();
  let dbias = dbp;
  if (dbp && fp !== f) {
    dbias = out.dbias ?? device.empty([f]);
    resize(dbp.reshape([1, fp]), 1, f, dbias.reshape([1, f]));
  }
  if (dbp && dbp !== dbias && dbp !== out.dbias) dbp.dispose();
  let dx: F32 | undefined;
  if (options.input) {
    const w = options.padded ?? paddedFilters(weight, g);
    const dcols = gemm(dyp, w, { transB: true, ...(out.dcols ? { out: out.dcols } : {}) });
    dx = col2im(dcols, g, out.dx);
    if (dcols !== out.dcols) dcols.dispose();
    if (w !== weight && w !== options.padded) w.dispose();
  }
  if (dyp.size !== dy.size) dyp.dispose();
  return { dweight, ...(dbias ? { dbias } : {}), ...(dx ? { dx } : {}) };
}
