/**
 * How a layer's weights are quantized, and what a quantized layer holds on the GPU. Lives in nn/
 * because a model carries it and model files store it; the algorithms are in compress/.
 *  - minmax: q = clamp(round(w / s) + z) with s, z per output channel or per tensor, 2 to 8 bits
 *    (Jacob et al. 2018; PyTorch's MinMaxObserver);
 *  - kmeans: weight sharing, 2^bits shared values per layer found by k-means and indices of
 *    bits bits, 1 to 8 (Deep Compression, Han et al. 2016);
 *  - binary: sign(w) times a per-channel alpha = mean |w| (XNOR-Net, Rastegari et al. 2016), 1 bit;
 *  - ternary: {-alpha, 0, +alpha} with threshold 0.7 mean |w| (Ternary Weight Networks, Li et al.
 *    2016), 2 bits before entropy coding.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';

export const QUANT_METHODS = ['minmax', 'kmeans', 'binary', 'ternary'] as const;
export type QuantMethod = (typeof QUANT_METHODS)[number];

export interface QuantSpec {
  /** Default 'minmax'. */
  method?: QuantMethod;
  /** minmax: 2 to 8; kmeans: 1 to 8; binary: 1 and ternary: 2 (implied when left out). */
  bits: number;
  /** minmax: symmetric (z = 0) or affine; default symmetric. */
  symmetric?: boolean;
  /** minmax: signed integers; default true. */
  signed?: boolean;
  /** minmax, binary, ternary: one scale per output channel; default true. k-means has one codebook per layer. */
  perChannel?: boolean;
  /** minmax signed symmetric only: use [-(2^(b-1) - 1), 2^(b-1) - 1], e.g. int8 in [-127, 127]. */
  restrictRange?: boolean;
}

/** A spec as callers may write it: binary and ternary imply their bits. */
export type QuantRequest = Omit<QuantSpec, 'bits'> & { bits?: number };

/**
 * The canonical spec: checked, the method's implied bits filled in (binary 1, ternary 2) and
 * defaults left out ({ bits: 8 } rather than { bits: 8, symmetric: true, perChannel: true }), so
 * equal specs compare equal and files spend no bytes on defaults.
 */
export function normalizeSpec(spec: QuantRequest): QuantSpec {
  const method = spec.method ?? 'minmax';
  const bits = spec.bits ?? (method === 'binary' ? 1 : method === 'ternary' ? 2 : undefined);
  if ((method === 'binary' || method === 'ternary') && spec.bits !== undefined && spec.bits !== bits)
    throw new InvalidArgumentError(`${method} weights take ${bits} bit${bits === 1 ? '' : 's'}, got bits ${spec.bits}.`);
  const full = { ...spec, bits } as QuantSpec;
  checkSpec(full);
  const out: QuantSpec = { ...(method === 'minmax' ? {} : { method }), bits: full.bits };
  if (method !== 'kmeans' && spec.perChannel === false) out.perChannel = false;
  if (method === 'minmax') {
    if (spec.symmetric === false) out.symmetric = false;
    if (spec.signed === false) out.signed = false;
    if (spec.restrictRange) out.restrictRange = true;
  }
  return out;
}

export function checkSpec(spec: QuantSpec): void {
  const method = spec.method ?? 'minmax';
  if (!(QUANT_METHODS as readonly string[]).includes(method)) throw new InvalidArgumentError(`Unknown quantization method '${method}' (use ${QUANT_METHODS.join(', ')}).`);
  if (method === 'binary' || method === 'ternary') {
    if (spec.bits !== (method === 'binary' ? 1 : 2)) throw new InvalidArgumentError(`${method} weights take ${method === 'binary' ? 1 : 2} bits, got ${spec.bits}.`);
    if (spec.symmetric === false || spec.signed === false || spec.restrictRange)
      throw new InvalidArgumentError(`${method} weights are signed and symmetric; symmetric, signed and restrictRange do not apply.`);
    return;
  }
  const min = method === 'kmeans' ? 1 : 2;
  if (!Number.isInteger(spec.bits) || spec.bits < min || spec.bits > 8) throw new InvalidArgumentError(`bits must be an integer from ${min} to 8, got ${spec.bits}.`);
  if (method === 'kmeans') {
    if (spec.perChannel !== undefined || spec.symmetric !== undefined || spec.signed !== undefined || spec.restrictRange)
      throw new InvalidArgumentError('k-means weight sharing has one codebook per layer; perChannel, symmetric, signed and restrictRange do not apply.');
    return;
  }
  if (spec.restrictRange && (spec.signed === false || spec.symmetric === false)) throw new InvalidArgumentError('restrictRange applies to signed symmetric quantization only.');
}

/** The integer range of a min-max spec. */
export function qrange(spec: QuantSpec): [number, number] {
  const b = spec.bits;
  if (spec.signed === false) return [0, 2 ** b - 1];
  return spec.restrictRange ? [-(2 ** (b - 1) - 1), 2 ** (b - 1) - 1] : [-(2 ** (b - 1)), 2 ** (b - 1) - 1];
}

/** The integer levels of LayerQuant.weight: min-max's range, binary and ternary -1..1, k-means the indices. */
export function quantBounds(spec: QuantSpec): [number, number] {
  const method = spec.method ?? 'minmax';
  if (method === 'kmeans') return [0, 2 ** spec.bits - 1];
  if (method === 'binary' || method === 'ternary') return [-1, 1];
  return qrange(spec);
}

/** How many distinct codes a quantized weight can take (the alphabet of its stored symbols). */
export function symbolCount(spec: QuantSpec): number {
  switch (spec.method ?? 'minmax') {
    case 'binary':
      return 2;
    case 'ternary':
      return 3;
    case 'kmeans':
      return 2 ** spec.bits;
    default: {
      const [qmin, qmax] = qrange(spec);
      return qmax - qmin + 1;
    }
  }
}

/** Whether the layer has one scale per output channel (binary, ternary and min-max specs). */
export function perChannelOf(spec: QuantSpec): boolean {
  return spec.method !== 'kmeans' && spec.perChannel !== false;
}

export interface LayerQuant {
  spec: QuantSpec;
  /**
   * Per output channel (or one): min-max scales and zero points; binary and ternary: alpha in
   * scale, zero all 0. The weight tensor holds the dequantized values.
   */
  weight: { scale: Tensor<'f32'>; zero: Tensor<'i32'>; qmin: number; qmax: number };
  /** k-means: the shared values [2^bits] and each weight's index [inputs * units] (2^bits for a pruned weight). */
  codebook?: Tensor<'f32'>;
  assignment?: Tensor<'u32'>;
}

/** Frees a layer's quantization tensors. */
export function disposeQuant(q: LayerQuant | undefined): void {
  q?.weight.scale.dispose();
  q?.weight.zero.dispose();
  q?.codebook?.dispose();
  q?.assignment?.dispose();
}
