/** Host side of shaders/packed.wgsl: weight-only packed integer layers (8 or 4 bits a weight), run on row-major activations. */
import { InvalidArgumentError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { chunkedGrid, placeholder, requireShape, rowQuads } from './launch.js';
import { texturedKernel } from './textured.js';

type F32 = Tensor<'f32'>;

/** Bits a packed weight takes: 8 for values in [-128, 127], 4 for [-8, 7]. */
export type PackedBits = 4 | 8;

/**
 * Integer weights q [inputs, units] packed by rows, 16 (8 bits) or 32 (4 bits) columns a texel of
 * four u32 (packed.wgsl), with one scale per unit: w[k, n] = q[k, n] * scale[n]. `inputs` is
 * padded to a multiple of 4 with zero rows; `units` is the real width (outputs are written for it
 * rounded up to 4).
 */
export interface PackedWeight {
  inputs: number;
  units: number;
  bits: PackedBits;
  words: Tensor<'u32'>;
  /** [units rounded up to 4] */
  scale: F32;
}

/** The two's-complement range of a packed width. */
export const packedRange = (bits: PackedBits): [number, number] => (bits === 8 ? [-128, 127] : [-8, 7]);

/** The smallest packed width holding every value of [qmin, qmax], or null past 8 bits. */
export function packedBitsFor(qmin: number, qmax: number): PackedBits | null {
  for (const bits of [4, 8] as const) if (qmin >= packedRange(bits)[0] && qmax <= packedRange(bits)[1]) return bits;
  return null;
}

/**
 * The integer q with w = q * scale exactly (in f32) within the packed width, or null: how a
 * quantized layer's stored weight (its dequantized value) gives back its integer. A zero scale
 * holds only zeros.
 */
export function integerOf(w: number, scale: number, bits: PackedBits): number | null {
  const q = scale === 0 ? 0 : Math.round(w / scale);
  const [lo, hi] = packedRange(bits);
  return q >= lo && q <= hi && Math.fround(q * scale) === w ? q : null;
}

/** Unit n's scale from one scale per unit, or one for all; 0 past the units (padding). */
export const unitScale = (scale: ArrayLike<number>, n: number): number => (scale.length === 1 ? scale[0]! : (scale[n] ?? 0));

/** Columns one texel of packed weights holds: four u32 of 4 bytes or 8 nibbles. */
export const packedColumns = (bits: PackedBits) => (bits === 8 ? 16 : 32);

/** The packed words of integer weights q [inputs, units] (row-major), inputs padded to a multiple of 4. */
export function packWeights(q: ArrayLike<number>, inputs: number, units: number, bits: PackedBits): Uint32Array {
  if (q.length !== inputs * units) throw new InvalidArgumentError(`packWeights: ${q.length} values are not ${inputs} x ${units}.`);
  const [lo, hi] = packedRange(bits);
  const perWord = 32 / bits;
  const rowWords = Math.ceil(units / packedColumns(bits)) * 4;
  const rows = Math.ceil(inputs / 4) * 4;
  const words = new Uint32Array(rows * rowWords);
  const mask = (1 << bits) - 1;
  for (let k = 0; k < inputs; k++)
    for (let n = 0; n < units; n++) {
      const v = q[k * units + n]!;
      if (!Number.isInteger(v) || v < lo || v > hi) throw new InvalidArgumentError(`packWeights: weight [${k}, ${n}] = ${v} is not an integer in [${lo}, ${hi}] (${bits} bits).`);
      const i = k * rowWords + Math.floor(n / perWord);
      words[i] = (words[i]! | ((v & mask) << ((n % perWord) * bits))) >>> 0;
    }
  return words;
}

/** Uploads packed weights and their per-unit scales (one scale for all units when `scale` has one value). */
export function uploadPacked(device: Device, q: ArrayLike<number>, scale: ArrayLike<number>, inputs: number, units: number, bits: PackedBits): PackedWeight {
  if (scale.length !== units && scale.length !== 1) throw new InvalidArgumentError(`uploadPacked: ${scale.length} scales for ${units} units (give one per unit, or one).`);
  const scales = new Float32Array(Math.ceil(units / 4) * 4);
  for (let n = 0; n < units; n++) scales[n] = unitScale(scale, n);
  return { inputs: Math.ceil(inputs / 4) * 4, units, bits, words: device.tensor(packWeights(q, inputs, units, bits)), scale: device.tensor(scales) };
}

export function disposePacked(w: PackedWeight): void {
  w.words.dispose();
  w.scale.dispose();
}

/** The columns packedForward writes: units rounded up to 4. */
export const packedOutputs = (w: PackedWeight) => Math.ceil(w.units / 4) * 4;

/**
 * y [rows, units rounded up to 4] = act(x (q * scale) + bias) for x [rows, w.inputs]; bias has as
 * many values as y has columns (the columns past `units` get act(bias), zero with a zero bias).
 */
export function packedForward(x: F32, w: PackedWeight, options: { bias?: F32; activation?: Activation; out?: F32 } = {}): F32 {
  const rows = x.shape[0]!;
  const n4 = packedOutputs(w) / 4;
  requireShape('packedForward', 'x', x, [rows, w.inputs]);
  if (options.bias) requireShape('packedForward', 'bias', options.bias, [n4 * 4]);
  const device = x.device;
  const out = options.out ?? device.empty([rows, n4 * 4]);
  requireShape('packedForward', 'out', out, [rows, n4 * 4]);
  const groups = Math.ceil(w.units / 16);
  const blocks = Math.ceil(rows / 12);
  const launch = chunkedGrid(device, groups, blocks);
  device.dispatch(
    texturedKernel(device, 'packed'),
    'packed_mm',
    {
      p: { M: rows, k4: w.inputs / 4, groups, texels: Math.ceil(w.units / packedColumns(w.bits)), n4, blocks },
      tx: x,
      tq: w.words,
      scale4: w.scale,
      bias4: options.bias ?? placeholder(device, 'f32'),
      y4: out,
    },
    launch.workgroups,
    { ...launch.overrides, ACT: ACTIVATIONS[options.activation ?? 'identity'], HAS_BIAS: options.bias !== undefined, BITS: w.bits, ROW_QUADS: rowQuads(rows, 12) },
  );
  return out;
}
