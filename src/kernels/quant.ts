/** Host side of shaders/quant.wgsl: quantization parameters, fake quantization, packing, integer GEMM. */
import { grid } from '../gpu/grid.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { output, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** Scales and zero points, one per channel (or one for the tensor), with the integer range. */
export interface QParams {
  scale: F32;
  zero: Tensor<'i32'>;
  qmin: number;
  qmax: number;
}

/** Which dimension of a [rows, cols] tensor the parameters run along. */
export type QAxis = 'tensor' | 'rows' | 'cols';
const AXIS = { tensor: 0, rows: 1, cols: 2 } as const;

const base = { rows: 0, cols: 0, words: 0, axis: 0, qmin: 0, qmax: 0, lane_bits: 8, signed_lanes: 0, M: 0, N: 0, zx: 0, has_bias: 0, act: 0, symmetric: 0 };

function dispatchLinear(device: Device, entry: string, args: Record<string, unknown>, items: number): void {
  device.dispatch(device.kernel('quant'), entry, args as never, grid(Math.ceil(items / 256), device.gpu.limits.maxComputeWorkgroupsPerDimension));
}

/** (s, z) per channel from per-channel minima and maxima (see shaders/quant.wgsl: qparams). */
export function qparamsFromMinMax(mins: F32, maxs: F32, qmin: number, qmax: number, symmetric: boolean): QParams {
  requireShape('qparams', 'maxs', maxs, mins.shape);
  const device = mins.device;
  const channels = mins.size;
  const scale = device.empty([channels]);
  const zero = device.empty([channels], 'i32');
  device.dispatch(device.kernel('quant'), 'qparams', { p: { ...base, rows: channels, qmin, qmax, symmetric: symmetric ? 1 : 0 }, mins, maxs, scale_out: scale, zero_out: zero }, [
    Math.ceil(channels / 64),
  ]);
  return { scale, zero, qmin, qmax };
}

function checkChannels(q: QParams, x: F32, axis: QAxis): void {
  const [rows, cols] = x.shape as [number, number];
  const channels = axis === 'tensor' ? 1 : axis === 'rows' ? rows : cols;
  requireShape('quant', 'scale', q.scale, [channels]);
  requireShape('quant', 'zero', q.zero, [channels]);
}

/** x' = (clamp(round(x / s) + z) - z) s for x [rows, cols], parameters along `axis`. */
export function fakeQuant(x: F32, q: QParams, axis: QAxis, out?: F32): F32 {
  requireRank('fakeQuant', 'x', x, 2);
  checkChannels(q, x, axis);
  const [rows, cols] = x.shape as [number, number];
  const target = output(x.device, x.shape, 'f32', out, 'fakeQuant');
  dispatchLinear(x.device, 'fake_quant', { p: { ...base, rows, cols, axis: AXIS[axis], qmin: q.qmin, qmax: q.qmax }, x, scale: q.scale, zero: q.zero, out: target }, rows * cols);
  return target;
}

/** Quantizes each row of x [rows, cols] into `words` u32 words of laneBits-bit lanes (padding: the zero point). */
export function packRows(x: F32, q: QParams, axis: 'tensor' | 'rows', laneBits: 8 | 4, words: number): Tensor<'u32'> {
  requireRank('packRows', 'x', x, 2);
  checkChannels(q, x, axis);
  const [rows, cols] = x.shape as [number, number];
  if (words * (32 / laneBits) < cols) throw new RangeError(`packRows: ${words} words cannot hold ${cols} values`);
  const packed = x.device.empty([rows, words], 'u32');
  dispatchLinear(
    x.device,
    'pack_rows',
    { p: { ...base, rows, cols, words, axis: AXIS[axis], qmin: q.qmin, qmax: q.qmax, lane_bits: laneBits }, x, scale: q.scale, zero: q.zero, packed },
    rows * words,
  );
  return packed;
}

export interface QGemmOptions {
  /** Weight lanes: 8 (int8, four per word) or 4 (int4, eight per word), signed. */
  laneBits: 8 | 4;
  /** The inputs' zero point (uint8 lanes). */
  zx: number;
  /** Per output channel [N]: the input scale times the weight scale, sx * sw[n]. */
  outScale: F32;
  /** Per output channel [N]: the weights' zero points. */
  weightZero: Tensor<'i32'>;
  bias?: F32;
  activation?: Activation;
}

/** C [M, N] from packed uint8 inputs xq [M, wordsX] and packed signed weights wq [N, words] (W^T). */
export function qgemm(xq: Tensor<'u32'>, wq: Tensor<'u32'>, o: QGemmOptions): F32 {
  requireRank('qgemm', 'xq', xq, 2);
  requireRank('qgemm', 'wq', wq, 2);
  const [M, xwords] = xq.shape as [number, number];
  const [N, words] = wq.shape as [number, number];
  const needX = (words * (32 / o.laneBits)) / 4;
  if (xwords !== needX) throw new RangeError(`qgemm: inputs need ${needX} words per row for ${words} weight words, got ${xwords}`);
  requireShape('qgemm', 'outScale', o.outScale, [N]);
  requireShape('qgemm', 'weightZero', o.weightZero, [N]);
  if (o.bias) requireShape('qgemm', 'bias', o.bias, [N]);
  const device = xq.device;
  const out = device.empty([M, N]);
  device.dispatch(
    device.kernel('quant'),
    'qgemm',
    {
      p: { ...base, M, N, words, lane_bits: o.laneBits, signed_lanes: 1, zx: o.zx, has_bias: o.bias ? 1 : 0, act: ACTIVATIONS[o.activation ?? 'identity'] },
      qx: xq,
      qw: wq,
      scale: o.outScale,
      zero: o.weightZero,
      bias: o.bias ?? o.outScale,
      out,
    },
    [Math.ceil(N / 8), Math.ceil(M / 8)],
  );
  return out;
}
