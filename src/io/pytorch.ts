/**
 * Import of a float MLP saved by PyTorch with safetensors (`save_file(model.state_dict(), path)`
 * for an `nn.Sequential` of `Linear` layers and activations). Keys are `<index>.weight` [out, in]
 * and `<index>.bias` [out], with an optional common prefix (`net.0.weight`); the indices in
 * between belong to the activations, which a state dict does not record, so the caller names the
 * hidden activation (default relu); the last layer's output is identity (logits) unless given.
 * F32, F64, F16 and BF16 weights are read; they become f32.
 */
import { DataFormatError, InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Activation } from '../kernels/gemm.js';
import { ACTIVATIONS } from '../kernels/gemm.js';
import { MLP } from '../nn/mlp.js';
import { decodeSafetensors, type SafeFile, type SafeTensor } from './safetensors.js';
import { channelsOf, type LayerSpec, layerName, placeStages, Sequential, stageWindow } from '../nn/sequential.js';
import { hwioFromOihw } from './onnx-network.js';

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

/** A module of the state dict: a Linear or Conv2d (weight, bias), or a BatchNorm (its running averages too). */
interface Module {
  name: string;
  shape: number[];
  weight: Float32Array;
  bias?: Float32Array;
  /** BatchNorm1d/2d: the running mean and variance. */
  running?: { mean: Float32Array; variance: Float32Array };
}

const KINDS = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'] as const;
type Kind = (typeof KINDS)[number];

/** The state dict's modules in order: each index's weight and bias (zeros when absent) and a batch norm's running averages. */
function parameters(file: SafeFile): Module[] {
  const modules = new Map<number, Partial<Record<Kind, string>>>();
  let prefix: string | null = null;
  const pattern = new RegExp(`^(.*?)(0|[1-9]\\d*)\\.(${KINDS.join('|')})$`);
  for (const name of file.tensors.keys()) {
    const m = pattern.exec(name);
    // PyTorch names a module by its index as written: '00' or '01' is no Sequential index, and two names for one index would collide.
    if (!m || /(^|\.)0\d+\.[a-z_]+$/.test(name))
      throw new DataFormatError(`PyTorch import: tensor '${name}' is not '<index>.weight', '.bias' (or a BatchNorm's '.running_mean', '.running_var', '.num_batches_tracked') of an nn.Sequential.`);
    if (prefix !== null && m[1] !== prefix) throw new DataFormatError(`PyTorch import: tensors under two prefixes, '${prefix}' and '${m[1]}'; save one nn.Sequential.`);
    prefix = m[1]!;
    const entry = modules.get(Number(m[2])) ?? {};
    const kind = m[3] as Kind;
    if (entry[kind]) throw new DataFormatError(`PyTorch import: '${entry[kind]}' and '${name}' name the same parameter.`);
    entry[kind] = name;
    modules.set(Number(m[2]), entry);
  }
  if (modules.size === 0) throw new DataFormatError('PyTorch import: the file holds no tensors.');
  const vector = (name: string, length: number) => {
    const t = file.tensors.get(name)!;
    if (t.shape.length !== 1 || t.shape[0] !== length) throw new DataFormatError(`PyTorch import: '${name}' has shape [${t.shape.join(', ')}], expected [${length}].`);
    return floats(name, t);
  };
  return [...modules.keys()]
    .sort((a, b) => a - b)
    .map((index) => {
      const { weight, bias, running_mean: mean, running_var: variance } = modules.get(index)!;
      if (mean || variance) {
        // A BatchNorm (affine=False has no weight and bias: gamma 1, beta 0).
        if (!mean || !variance) throw new DataFormatError(`PyTorch import: module ${prefix}${index} has ${mean ? 'running_mean' : 'running_var'} without ${mean ? 'running_var' : 'running_mean'}.`);
        const c = file.tensors.get(mean)!.shape[0] ?? 0;
        const running = { mean: vector(mean, c), variance: vector(variance, c) };
        if (running.variance.some((v) => v < 0)) throw new DataFormatError(`PyTorch import: '${variance}' holds a negative variance.`);
        return { name: mean, shape: [c], weight: weight ? vector(weight, c) : new Float32Array(c).fill(1), bias: bias ? vector(bias, c) : new Float32Array(c), running };
      }
      if (!weight) throw new DataFormatError(`PyTorch import: '${prefix}${index}.bias' has no weight beside it.`);
      const wt = file.tensors.get(weight)!;
      const units = wt.shape[0]!;
      return { name: weight, shape: wt.shape, weight: floats(weight, wt), ...(bias ? { bias: vector(bias, units) } : {}) };
    });
}

/** [out, in] as shrinkray's [in, out]; `order` maps shrinkray's input index to PyTorch's (a flatten's NCHW order). */
function linearWeight(w: Float32Array, units: number, inputs: number, order: (k: number) => number = (k) => k): Float32Array {
  const out = new Float32Array(inputs * units);
  for (let o = 0; o < units; o++) for (let k = 0; k < inputs; k++) out[k * units + o] = w[o * inputs + order(k)]!;
  return out;
}

/** An MLP from the bytes of a PyTorch state dict saved as safetensors. */
export function modelFromPytorchSafetensors(device: Device, bytes: Uint8Array, options: PytorchImportOptions = {}): MLP {
  const activation = options.activation ?? 'relu';
  const output = options.output ?? 'identity';
  for (const a of [activation, output]) if (!(a in ACTIVATIONS)) throw new InvalidArgumentError(`Unknown activation '${a}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
  const params = parameters(decodeSafetensors(bytes));
  const layers = params.map((p, i) => {
    if (p.running)
      throw new DataFormatError(
        `PyTorch import: '${p.name}' belongs to a BatchNorm: import the network with its layers (networkFromPytorchSafetensors, or import --layers with bn after the layer it normalizes).`,
      );
    if (p.shape.length !== 2)
      throw new DataFormatError(
        `PyTorch import: '${p.name}' has shape [${p.shape.join(', ')}]; a Linear weight is [out, in]. For convolutions, import with the network's layers (networkFromPytorchSafetensors, or import --layers).`,
      );
    const [units, inputs] = p.shape as [number, number];
    // PyTorch stores [out, in] and computes x W^T; shrinkray stores [in, out].
    return { inputs, units, activation: i === params.length - 1 ? output : activation, weight: linearWeight(p.weight, units, inputs), bias: p.bias ?? new Float32Array(units) };
  });
  return MLP.fromWeights(device, layers);
}

/**
 * A Sequential model from a PyTorch nn.Sequential of Conv2d, BatchNorm2d, MaxPool2d, AvgPool2d,
 * Flatten, Linear and BatchNorm1d layers with activations (a batch norm right after the layer it
 * normalizes, as `bn` in the layers): a state dict records only the weights, so the caller gives the
 * layers (nn/sequential.ts's LayerSpec list, or the compact notation through parseLayers) and the
 * input image [h, w, c]. Conv2d weights [out, in, kh, kw] become HWIO [kh * kw * in, out]; the
 * first Linear after a flatten gets its inputs reordered from PyTorch's NCHW flatten (channel,
 * row, column) to shrinkray's NHWC one (row, column, channel).
 */
export function networkFromPytorchSafetensors(device: Device, bytes: Uint8Array, network: { input: number[]; layers: LayerSpec[] }): Sequential {
  const modules = parameters(decodeSafetensors(bytes));
  const stages = placeStages(network.input, network.layers);
  const needed = Sequential.specsOf(network.input, network.layers);
  const normStages = stages.filter((s) => s.norm !== undefined);
  const params = modules.filter((m) => !m.running);
  const batchNorms = modules.filter((m) => m.running);
  if (params.length !== needed.length || batchNorms.length !== normStages.length)
    throw new ShapeError(`PyTorch import: the file holds ${params.length} weight tensors and ${batchNorms.length} batch norms, the layers need ${needed.length} and ${normStages.length}.`);
  // Modules must come in the layers' order: a batch norm right after its layer.
  const order = stages.filter((s) => s.param !== undefined || s.norm !== undefined).map((s) => (s.norm !== undefined ? 'a batch norm' : 'a weight layer'));
  const found = modules.map((m) => (m.running ? 'a batch norm' : 'a weight layer'));
  const wrong = order.findIndex((o, i) => o !== found[i]);
  if (wrong >= 0) throw new ShapeError(`PyTorch import: module ${wrong + 1} of the file ('${modules[wrong]!.name}') is ${found[wrong]}, where the layers have ${order[wrong]}.`);
  const norms = normStages.map((s, j) => {
    const { name, weight, bias, running } = batchNorms[j]!;
    const c = channelsOf(s);
    if (weight.length !== c) throw new ShapeError(`PyTorch import: '${name}' has ${weight.length} channels; layer ${stages.indexOf(s) + 1} (bn) normalizes ${c}.`);
    return { gamma: device.tensor(weight), beta: device.tensor(bias!), running: device.tensor(Float32Array.from([...running!.mean, ...running!.variance]), [2, c]) };
  });
  let p = 0;
  const layers = stages.flatMap((s, i) => {
    if (s.param === undefined) return [];
    const { name, shape, weight, bias } = params[p]!;
    const spec = needed[p++]!;
    let w: Float32Array;
    if (s.spec.type === 'conv2d') {
      const g = stageWindow(s, 1);
      if (shape.join() !== [spec.units, g.c, g.kh, g.kw].join())
        throw new ShapeError(`PyTorch import: '${name}' is [${shape.join(', ')}]; layer ${i + 1} (${layerName(s.spec)}) needs a Conv2d weight [${spec.units}, ${g.c}, ${g.kh}, ${g.kw}].`);
      w = hwioFromOihw(weight, g.kh, g.kw, g.c, spec.units);
    } else {
      if (shape.join() !== [spec.units, spec.inputs].join())
        throw new ShapeError(`PyTorch import: '${name}' is [${shape.join(', ')}]; layer ${i + 1} (${layerName(s.spec)}) needs a Linear weight [${spec.units}, ${spec.inputs}].`);
      const before = stages
        .slice(0, i)
        .reverse()
        .find((t) => t.spec.type !== 'dropout' && t.spec.type !== 'batchNorm'); // neither changes the order of values
      const image = before?.spec.type === 'flatten' ? before.input : undefined;
      // PyTorch flattens NCHW: index c * h * w + y * w + x; shrinkray NHWC: (y * w + x) * c + ci.
      const order = image ? (k: number) => (k % image[2]!) * image[0]! * image[1]! + Math.floor(k / image[2]!) : undefined;
      w = linearWeight(weight, spec.units, spec.inputs, order);
    }
    return [{ ...spec, weight: device.tensor(w, [spec.inputs, spec.units]), bias: device.tensor(bias ?? new Float32Array(spec.units)) }];
  });
  return new Sequential(device, network.input, stages, layers, norms);
}
