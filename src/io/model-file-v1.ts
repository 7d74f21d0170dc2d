/**
 * Reading version 1 of shrinkray's model files (written before the compressed format; still
 * loaded, never written). Tensors: layers.{i}.weight (F32 [inputs, units]) or, quantized,
 * layers.{i}.weight_q (U32 [units, words]: W^T in 8-bit lanes four to a word for 5 to 8 bits,
 * 4-bit lanes eight to a word for 2 to 4 bits, first value in the lowest bits) with
 * layers.{i}.weight_scale (F32) and layers.{i}.weight_zero (I32); layers.{i}.bias (F32);
 * layers.{i}.mask_bits and bias_mask_bits (U8 bitmaps, least significant bit first).
 */
import { DataFormatError } from '../errors.js';
import type { DenseSpec } from '../nn/mlp.js';
import { qrange, type QuantSpec } from '../nn/quant-spec.js';
import { tensorArray, type SafeFile } from './safetensors.js';

export interface DecodedLayer {
  weight: Float32Array;
  bias: Float32Array;
  mask?: Float32Array;
  biasMask?: Float32Array;
  quant?: { scale: Float32Array; zero: Int32Array; codebook?: Float32Array; assignment?: Uint32Array };
}

/** The inverse of version 1's packing: W [inputs, units] = (q - z) s in f32. */
function unpackWeights(packed: Uint32Array, inputs: number, units: number, spec: QuantSpec, scale: Float32Array, zero: Int32Array): Float32Array {
  const laneBits = spec.bits <= 4 ? 4 : 8;
  const perWord = 32 / laneBits;
  const words = packed.length / units;
  const signed = spec.signed !== false;
  const w = new Float32Array(inputs * units);
  for (let n = 0; n < units; n++) {
    const c = scale.length === 1 ? 0 : n;
    for (let k = 0; k < inputs; k++) {
      let q = (packed[n * words + Math.floor(k / perWord)]! >>> ((k % perWord) * laneBits)) & ((1 << laneBits) - 1);
      if (signed && q >= 1 << (laneBits - 1)) q -= 1 << laneBits;
      w[k * units + n] = Math.fround((q - zero[c]!) * scale[c]!);
    }
  }
  return w;
}

/** A 0/1 mask from a bitmap tensor (one bit per value, least significant bit first). */
export function unbitmap(file: SafeFile, name: string, count: number): Float32Array {
  const bits = tensorArray(file, name, 'U8', [Math.ceil(count / 8)]);
  if (count % 8 && bits[bits.length - 1]! >> (count % 8)) throw new DataFormatError(`${name} has bits set past its ${count} values.`);
  return Float32Array.from({ length: count }, (_, i) => (bits[i >> 3]! >> (i & 7)) & 1);
}

export function decodeLayerV1(file: SafeFile, i: number, s: DenseSpec, q: QuantSpec | null): DecodedLayer {
  if (q && (q.method ?? 'minmax') !== 'minmax') throw new DataFormatError(`Layer ${i}: version 1 files hold min-max quantization only.`);
  let weight: Float32Array;
  let quant: DecodedLayer['quant'];
  if (q) {
    const channels = q.perChannel === false ? 1 : s.units;
    const scale = tensorArray(file, `layers.${i}.weight_scale`, 'F32', [channels]);
    const zero = tensorArray(file, `layers.${i}.weight_zero`, 'I32', [channels]);
    if (!scale.every((v) => Number.isFinite(v) && v > 0)) throw new DataFormatError(`layers.${i}.weight_scale must hold positive finite scales.`);
    const [qmin, qmax] = qrange(q);
    if (zero.some((z) => z < qmin || z > qmax)) throw new DataFormatError(`layers.${i}.weight_zero holds a zero point outside [${qmin}, ${qmax}].`);
    const words = Math.ceil(s.inputs / 8) * (q.bits <= 4 ? 1 : 2);
    weight = unpackWeights(tensorArray(file, `layers.${i}.weight_q`, 'U32', [s.units, words]), s.inputs, s.units, q, scale, zero);
    quant = { scale, zero };
  } else weight = tensorArray(file, `layers.${i}.weight`, 'F32', [s.inputs, s.units]);
  return {
    weight,
    bias: tensorArray(file, `layers.${i}.bias`, 'F32', [s.units]),
    quant,
    mask: file.tensors.has(`layers.${i}.mask_bits`) ? unbitmap(file, `layers.${i}.mask_bits`, s.inputs * s.units) : undefined,
    biasMask: file.tensors.has(`layers.${i}.bias_mask_bits`) ? unbitmap(file, `layers.${i}.bias_mask_bits`, s.units) : undefined,
  };
}
