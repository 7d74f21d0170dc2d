/**
 * Import of a float MLP saved by PyTorch with safetensors (`save_file(model.state_dict(), path)`
 * for an `nn.Sequential` of `Linear` layers and activations). Keys are `<index>.weight` [out, in]
 * and `<index>.bias` [out], with an optional common prefix (`net.0.weight`); the indices in
 * between belong to the activations, which a state dict does not record, so the caller names the
 * hidden activation (default relu); the last layer's output is identity (logits) unless given.
 * F32, F64, F16 and BF16 weights are read; they become f32.
 */
import { DataFormatError, InvalidArgumentError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Activation } from '../kernels/gemm.js';
import { ACTIVATIONS } from '../kernels/gemm.js';
import { MLP } from '../nn/mlp.js';
import { decodeSafetensors, type SafeTensor } from './safetensors.js';

export interface PytorchImportOptions {
  /** Activation after every Linear but the last (default relu). */
  activation?: Activation;
  /** Activation after the last Linear (default identity). */
  output?: Activation;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Any float tensor as f32 values. */
function floats(name: string, t: SafeTensor): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'BF16': {
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        word.setUint32(0, view.getUint16(2 * i, true) << 16);
        out[i] = word.getFloat32(0);
      }
      break;
    }
    default:
      throw new DataFormatError(`PyTorch import: tensor '${name}' is ${t.dtype}; only float weights (F32, F64, F16, BF16) can be imported.`);
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) throw new DataFormatError(`PyTorch import: tensor '${name}' holds ${out[i]} at element ${i}.`);
  return out;
}

/** An MLP from the bytes of a PyTorch state dict saved as safetensors. */
export function modelFromPytorchSafetensors(device: Device, bytes: Uint8Array, options: PytorchImportOptions = {}): MLP {
  const activation = options.activation ?? 'relu';
  const output = options.output ?? 'identity';
  for (const a of [activation, output]) if (!(a in ACTIVATIONS)) throw new InvalidArgumentError(`Unknown activation '${a}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
  const file = decodeSafetensors(bytes);
  const linear = new Map<number, { weight?: string; bias?: string }>();
  let prefix: string | null = null;
  for (const name of file.tensors.keys()) {
    const m = /^(.*?)(0|[1-9]\d*)\.(weight|bias)$/.exec(name);
    // PyTorch names a module by its index as written: '00' or '01' is no Sequential index, and two names for one index would collide.
    if (!m || /(^|\.)0\d+\.(weight|bias)$/.test(name)) throw new DataFormatError(`PyTorch import: tensor '${name}' is not '<index>.weight' or '<index>.bias' of an nn.Sequential.`);
    if (prefix !== null && m[1] !== prefix) throw new DataFormatError(`PyTorch import: tensors under two prefixes, '${prefix}' and '${m[1]}'; save one nn.Sequential.`);
    prefix = m[1]!;
    const entry = linear.get(Number(m[2])) ?? {};
    if (entry[m[3] as 'weight' | 'bias']) throw new DataFormatError(`PyTorch import: '${entry[m[3] as 'weight' | 'bias']}' and '${name}' name the same parameter.`);
    entry[m[3] as 'weight' | 'bias'] = name;
    linear.set(Number(m[2]), entry);
  }
  if (linear.size === 0) throw new DataFormatError('PyTorch import: the file holds no tensors.');
  const indices = [...linear.keys()].sort((a, b) => a - b);
  const layers = indices.map((index, i) => {
    const { weight, bias } = linear.get(index)!;
    if (!weight) throw new DataFormatError(`PyTorch import: '${prefix}${index}.bias' has no weight beside it.`);
    const wt = file.tensors.get(weight)!;
    if (wt.shape.length !== 2) throw new DataFormatError(`PyTorch import: '${weight}' has shape [${wt.shape.join(', ')}]; a Linear weight is [out, in].`);
    const [units, inputs] = wt.shape as [number, number];
    const w = floats(weight, wt);
    // PyTorch stores [out, in] and computes x W^T; shrinkray stores [in, out].
    const transposed = new Float32Array(inputs * units);
    for (let o = 0; o < units; o++) for (let k = 0; k < inputs; k++) transposed[k * units + o] = w[o * inputs + k]!;
    let b: Float32Array = new Float32Array(units);
    if (bias) {
      const bt = file.tensors.get(bias)!;
      if (bt.shape.length !== 1 || bt.shape[0] !== units) throw new DataFormatError(`PyTorch import: '${bias}' has shape [${bt.shape.join(', ')}], expected [${units}].`);
      b = floats(bias, bt);
    }
    return { inputs, units, activation: i === indices.length - 1 ? output : activation, weight: transposed, bias: b };
  });
  return MLP.fromWeights(device, layers);
}
