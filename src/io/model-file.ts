/**
 * shrinkray models as safetensors. Tensors: layers.{i}.weight (F32 [inputs, units]),
 * layers.{i}.bias (F32 [units]), and for pruned models layers.{i}.mask_bits /
 * layers.{i}.bias_mask_bits (U8 bitmaps, one bit per weight in row-major order, least
 * significant bit first; 1 keeps). A quantized layer stores, instead of its F32 weight, layers.{i}.weight_q (U32
 * [units, words]: W^T packed as the integer kernels read it, 8-bit lanes four to a word for 5 to
 * 8 bits, 4-bit lanes eight to a word for 2 to 4 bits, the first value in the lowest bits),
 * layers.{i}.weight_scale (F32) and layers.{i}.weight_zero (I32), one per output channel or one.
 * __metadata__ (strings only, per the format): format = "shrinkray", version = "1",
 * architecture = JSON [{inputs, units, activation}, ...], quantization = JSON [spec or null].
 */
import { DataFormatError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { ACTIVATIONS } from '../kernels/gemm.js';
import { checkSpecs, MLP, type DenseSpec } from '../nn/mlp.js';
import { decodeSafetensors, encodeSafetensors, tensorArray, type TensorToWrite } from './safetensors.js';
import { checkSpec, qrange, type QuantSpec } from '../compress/quantize.js';

export const FORMAT = 'shrinkray';
export const VERSION = '1';

export function describeArchitecture(specs: DenseSpec[]): string {
  return `${[specs[0]!.inputs, ...specs.map((s) => s.units)].join('-')} (${specs.map((s) => s.activation).join(', ')})`;
}

/** The model's weights, biases and masks as a safetensors file (weights are read back from the GPU). */
export async function modelToSafetensors(model: MLP, extra: Record<string, string> = {}): Promise<Uint8Array> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [i, l] of model.layers.entries()) {
    const w = await l.weight.read();
    if (l.quant) {
      const scale = await l.quant.weight.scale.read();
      const zero = await l.quant.weight.zero.read();
      const packed = packWeights(w, l.inputs, l.units, l.quant.spec, scale, zero);
      tensors[`layers.${i}.weight_q`] = { dtype: 'U32', shape: [l.units, packed.length / l.units], data: packed };
      tensors[`layers.${i}.weight_scale`] = { dtype: 'F32', shape: [scale.length], data: scale };
      tensors[`layers.${i}.weight_zero`] = { dtype: 'I32', shape: [zero.length], data: zero };
    } else tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [l.inputs, l.units], data: w };
    tensors[`layers.${i}.bias`] = { dtype: 'F32', shape: [l.units], data: await l.bias.read() };
    if (l.mask) tensors[`layers.${i}.mask_bits`] = bitmap(await l.mask.read());
    if (l.biasMask) tensors[`layers.${i}.bias_mask_bits`] = bitmap(await l.biasMask.read());
  }
  const architecture = JSON.stringify(model.layers.map(({ inputs, units, activation }) => ({ inputs, units, activation })));
  const quantization = JSON.stringify(model.layers.map((l) => l.quant?.spec ?? null));
  return encodeSafetensors(tensors, { ...extra, format: FORMAT, version: VERSION, architecture, quantization });
}

function lanesFor(bits: number): 8 | 4 {
  return bits <= 4 ? 4 : 8;
}

/** W [inputs, units] holding dequantized values -> packed integers of W^T, one row per unit. */
function packWeights(w: Float32Array, inputs: number, units: number, spec: QuantSpec, scale: Float32Array, zero: Int32Array): Uint32Array {
  const laneBits = lanesFor(spec.bits);
  const perWord = 32 / laneBits;
  const words = Math.ceil(inputs / 8) * (8 / perWord);
  const [qmin, qmax] = qrange(spec);
  const out = new Uint32Array(units * words);
  for (let n = 0; n < units; n++) {
    const c = scale.length === 1 ? 0 : n;
    for (let k = 0; k < words * perWord; k++) {
      // w = (q - z) s exactly, so q = round(w / s) + z recovers the integer.
      const q = k < inputs ? Math.min(qmax, Math.max(qmin, Math.round(w[k * units + n]! / scale[c]!) + zero[c]!)) : zero[c]!;
      const word = n * words + Math.floor(k / perWord);
      out[word] = (out[word]! | ((q & ((1 << laneBits) - 1)) << ((k % perWord) * laneBits))) >>> 0;
    }
  }
  return out;
}

/** The inverse of packWeights: W [inputs, units] = (q - z) s in f32. */
function unpackWeights(packed: Uint32Array, inputs: number, units: number, spec: QuantSpec, scale: Float32Array, zero: Int32Array): Float32Array {
  const laneBits = lanesFor(spec.bits);
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

/** The architecture a shrinkray file declares, checked. */
export function architectureOf(bytes: Uint8Array): DenseSpec[] {
  return parseArchitecture(decodeSafetensors(bytes).metadata);
}

function parseArchitecture(meta: Record<string, string>): DenseSpec[] {
  if (meta.format !== FORMAT) throw new DataFormatError(`Not a shrinkray model file (metadata format is ${JSON.stringify(meta.format)}); to bring a PyTorch model, use importTorch.`);
  if (meta.version !== VERSION) throw new DataFormatError(`shrinkray model file version ${meta.version} is not supported (this is version ${VERSION}).`);
  let specs: unknown;
  try {
    specs = JSON.parse(meta.architecture ?? '');
  } catch {
    throw new DataFormatError('The model file has no readable architecture in its metadata.');
  }
  const ok =
    Array.isArray(specs) &&
    specs.length > 0 &&
    specs.every(
      (s) => typeof s === 'object' && s !== null && Number.isSafeInteger(s.inputs) && Number.isSafeInteger(s.units) && typeof s.activation === 'string' && s.activation in ACTIVATIONS,
    );
  if (!ok) throw new DataFormatError('The model file has a malformed architecture in its metadata.');
  const layers = (specs as DenseSpec[]).map(({ inputs, units, activation }) => ({ inputs, units, activation }));
  try {
    checkSpecs(layers);
  } catch (e) {
    throw new DataFormatError(`The model file's architecture is inconsistent: ${(e as Error).message}`);
  }
  return layers;
}

/**
 * An MLP from a shrinkray safetensors file. With `expected`, a file of another architecture is a
 * ShapeError that names both.
 */
export function modelFromSafetensors(device: Device, bytes: Uint8Array, expected?: DenseSpec[]): MLP {
  const file = decodeSafetensors(bytes);
  const specs = parseArchitecture(file.metadata);
  if (expected) {
    const same = expected.length === specs.length && expected.every((e, i) => e.inputs === specs[i]!.inputs && e.units === specs[i]!.units && e.activation === specs[i]!.activation);
    if (!same) throw new ShapeError(`The model file holds ${describeArchitecture(specs)}, expected ${describeArchitecture(expected)}.`);
  }
  const quant = parseQuantization(file.metadata, specs.length);
  const weights = specs.map((s, i) => {
    const q = quant[i];
    let weight: Float32Array;
    if (q) {
      const channels = q.perChannel === false ? 1 : s.units;
      const scale = tensorArray(file, `layers.${i}.weight_scale`, 'F32', [channels]);
      const zero = tensorArray(file, `layers.${i}.weight_zero`, 'I32', [channels]);
      if (!scale.every((v) => Number.isFinite(v) && v > 0)) throw new DataFormatError(`layers.${i}.weight_scale must hold positive finite scales.`);
      const words = Math.ceil(s.inputs / 8) * (lanesFor(q.bits) === 8 ? 2 : 1);
      weight = unpackWeights(tensorArray(file, `layers.${i}.weight_q`, 'U32', [s.units, words]), s.inputs, s.units, q, scale, zero);
    } else weight = tensorArray(file, `layers.${i}.weight`, 'F32', [s.inputs, s.units]);
    return { ...s, weight, bias: tensorArray(file, `layers.${i}.bias`, 'F32', [s.units]) };
  });
  for (const w of weights)
    for (const a of [w.weight, w.bias]) if (!a.every(Number.isFinite)) throw new DataFormatError('The model file holds NaN or infinite weights.');
  const model = MLP.fromWeights(device, weights);
  specs.forEach((s, i) => {
    const layer = model.layers[i]!;
    const q = quant[i];
    if (q) {
      const [qmin, qmax] = qrange(q);
      layer.quant = {
        spec: q,
        weight: { scale: device.tensor(tensorArray(file, `layers.${i}.weight_scale`, 'F32')), zero: device.tensor(tensorArray(file, `layers.${i}.weight_zero`, 'I32')), qmin, qmax },
      };
    }
    if (file.tensors.has(`layers.${i}.mask_bits`)) layer.mask = device.tensor(unbitmap(file, `layers.${i}.mask_bits`, s.inputs * s.units), [s.inputs, s.units]);
    if (file.tensors.has(`layers.${i}.bias_mask_bits`)) layer.biasMask = device.tensor(unbitmap(file, `layers.${i}.bias_mask_bits`, s.units));
  });
  return model;
}

function parseQuantization(meta: Record<string, string>, layers: number): (QuantSpec | null)[] {
  if (meta.quantization === undefined) return new Array(layers).fill(null);
  let q: unknown;
  try {
    q = JSON.parse(meta.quantization);
  } catch {
    throw new DataFormatError('The model file has unreadable quantization metadata.');
  }
  if (!Array.isArray(q) || q.length !== layers) throw new DataFormatError(`The model file's quantization metadata must list ${layers} layers.`);
  return q.map((spec, i) => {
    if (spec === null) return null;
    try {
      checkSpec(spec as QuantSpec);
    } catch (e) {
      throw new DataFormatError(`Layer ${i}'s quantization in the file is invalid: ${(e as Error).message}`);
    }
    return spec as QuantSpec;
  });
}

/** A 0/1 mask as a bitmap tensor (one bit per value, least significant bit first). */
function bitmap(mask: Float32Array): TensorToWrite {
  const bits = new Uint8Array(Math.ceil(mask.length / 8));
  mask.forEach((v, i) => v !== 0 && (bits[i >> 3]! |= 1 << (i & 7)));
  return { dtype: 'U8', shape: [bits.length], data: bits };
}

function unbitmap(file: ReturnType<typeof decodeSafetensors>, name: string, count: number): Float32Array {
  const bits = tensorArray(file, name, 'U8', [Math.ceil(count / 8)]);
  if (count % 8 && bits[bits.length - 1]! >> count % 8) throw new DataFormatError(`${name} has bits set past its ${count} values.`);
  return Float32Array.from({ length: count }, (_, i) => (bits[i >> 3]! >> (i & 7)) & 1);
}
