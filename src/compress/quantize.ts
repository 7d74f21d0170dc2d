/**
 * Weight quantization of MLPs: quantizeWeights dispatches on the spec's method (k-means sharing
 * in ./kmeans.ts, binary and ternary in kernels/sign.ts). This file holds min-max quantization
 * and integer inference (Jacob et al. 2018; PyTorch's MinMaxObserver and its defaults):
 *  - weights: signed, symmetric, per output channel (a column of W [in, out]) by default; 2 to 8
 *    bits; int8 may be restricted to [-127, 127] so that -w quantizes like w;
 *  - activations: unsigned 8-bit, affine, one (s, z) per layer input, calibrated on batches.
 * The observed range always includes 0, so 0.0 (and every pruned weight) is exact; the scale is
 * at least float32 eps, as PyTorch's, so an all-zero range gets s = eps and z = 0 (symmetric) or
 * qmin (affine). Rounding is half to even, as torch.round.
 * Post-training quantization replaces each weight by its dequantized value (the float model then
 * computes what the quantized one does) and keeps the parameters; QuantizedMLP runs the integer
 * kernels on packed weights (int8 four per u32, int4 eight per u32).
 */
import { requireFolded } from './fold.js';
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { type GpuDataset, hostData, onGpu } from '../data/gpu-dataset.js';
import { copy } from '../kernels/elementwise.js';
import { signQuantize } from '../kernels/sign.js';
import { checkSpec, disposeQuant, normalizeSpec, qrange, type LayerQuant, type QuantRequest, type QuantSpec } from '../nn/quant-spec.js';
import { shareWeights } from './kmeans.js';
import { layersOf } from './layers-of.js';
import { gatherLabels, gatherRows } from '../kernels/gather.js';
import { fakeQuant, packRows, qgemm, qparamsFromMinMax, type QParams } from '../kernels/quant.js';
import { reduce } from '../kernels/reduce.js';
import { transpose } from '../kernels/transpose.js';
import type { Activation } from '../kernels/gemm.js';
import type { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';

type F32 = Tensor<'f32'>;

export { checkSpec, qrange, normalizeSpec, QUANT_METHODS, type QuantSpec, type QuantMethod, type QuantRequest, type LayerQuant } from '../nn/quant-spec.js';

/** CPU reference of the parameters for one channel (the same formulas as shaders/quant.wgsl). */
export function referenceParams(min: number, max: number, spec: QuantSpec): { scale: number; zero: number } {
  const [qmin, qmax] = qrange(spec);
  const lo = Math.min(min, 0),
    hi = Math.max(max, 0);
  const f = Math.fround;
  // PyTorch floors the scale at float32 eps (torch.finfo(torch.float32).eps), all-zero ranges too.
  const eps = 2 ** -23;
  if (spec.symmetric ?? true) return { scale: Math.max(f(Math.max(-lo, hi) / ((qmax - qmin) / 2)), eps), zero: qmin < 0 ? 0 : Math.trunc((qmin + qmax + 1) / 2) };
  const s = Math.max(f((hi - lo) / (qmax - qmin)), eps);
  return { scale: s, zero: Math.min(qmax, Math.max(qmin, qmin - roundHalfEven(f(lo / s)))) };
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Observes a weight [in, out]: per output channel (columns) or for the whole tensor. */
export function observeWeight(w: F32, spec: QuantSpec): QParams {
  checkSpec(spec);
  const axis = spec.perChannel === false ? 'all' : 'cols';
  const mins = reduce(w, 'min', axis);
  const maxs = reduce(w, 'max', axis);
  const [qmin, qmax] = qrange(spec);
  const q = qparamsFromMinMax(mins, maxs, qmin, qmax, spec.symmetric ?? true);
  mins.dispose();
  maxs.dispose();
  return q;
}

/**
 * Post-training weight quantization: every layer's weights become their quantized values
 * (min-max, k-means weight sharing, binary or ternary; see nn/quant-spec.ts) and the layer keeps
 * the parameters. Pruned weights stay 0 and keep their masks.
 */
export async function quantizeWeights(model: Model, spec: QuantRequest, options: { layers?: readonly number[] } = {}): Promise<LayerQuant[]> {
  const full = normalizeSpec(spec);
  if (full.method === 'kmeans') return shareWeights(model, full.bits, options.layers);
  return quantizeLayers(model, full, options.layers);
}

/** The methods that need no readback (min-max, binary, ternary), recorded at once. */
export function quantizeLayers(model: Model, request: QuantSpec, layers?: readonly number[]): LayerQuant[] {
  const spec = normalizeSpec(request);
  const method = spec.method ?? 'minmax';
  requireFolded(model, 'Weight quantization');
  if (method === 'kmeans') throw new InvalidArgumentError("k-means weight sharing reads the weights back: use await quantizeWeights(model, { method: 'kmeans', bits }).");
  return layersOf(model, layers).map((i) => {
    const l = model.layers[i]!;
    let weight: LayerQuant['weight'];
    if (method === 'minmax') {
      weight = observeWeight(l.weight, spec);
      const q = fakeQuant(l.weight, weight, spec.perChannel === false ? 'tensor' : 'cols');
      copy(q, l.weight);
      q.dispose();
    } else {
      const { out, alpha } = signQuantize(l.weight, { ternary: method === 'ternary', perChannel: spec.perChannel !== false, mask: l.mask });
      copy(out, l.weight);
      out.dispose();
      weight = { scale: alpha, zero: model.device.tensor(new Int32Array(alpha.size)), qmin: -1, qmax: 1 };
    }
    disposeQuant(l.quant);
    l.quant = { spec, weight };
    return l.quant;
  });
}

/** Per-layer input ranges over calibration batches, as uint8 affine parameters (s, z). */
export interface ActivationParams {
  scale: number;
  zero: number;
}

/**
 * Runs `batches` batches of `batchSize` rows through the model and records each layer's input
 * range (the data for layer 0, the previous layer's outputs after that).
 */
export async function calibrateActivations(model: MLP, given: Dataset | GpuDataset, options: { batches: number; batchSize?: number }): Promise<ActivationParams[]> {
  const data = hostData(given);
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(options.batches) || options.batches < 1) throw new InvalidArgumentError(`batches must be a positive integer, got ${options.batches}.`);
  const device = model.device;
  const { gpu, owned } = onGpu(device, given);
  const rows = Array.from({ length: Math.min(data.rows, options.batches * batchSize) }, (_, i) => i);
  // Per batch and layer input: min and max stay on the GPU until every batch is recorded.
  const ranges: { layer: number; min: Tensor<'f32'>; max: Tensor<'f32'> }[] = [];
  try {
    await gpu.forEachBatch(
      batchSize,
      (x) => {
        const outs = model.layers.map((l) => device.empty([x.shape[0]!, l.units]));
        model.forward(x, outs);
        [x, ...outs.slice(0, -1)].forEach((t, layer) => ranges.push({ layer, min: reduce(t, 'min'), max: reduce(t, 'max') }));
        for (const t of outs) t.dispose();
      },
      rows,
    );
    const lo = new Array<number>(model.layers.length).fill(Infinity);
    const hi = new Array<number>(model.layers.length).fill(-Infinity);
    for (const r of ranges) {
      lo[r.layer] = Math.min(lo[r.layer]!, (await r.min.read())[0]!);
      hi[r.layer] = Math.max(hi[r.layer]!, (await r.max.read())[0]!);
    }
    return lo.map((l, i) => referenceParams(l, hi[i]!, { bits: 8, signed: false, symmetric: false }));
  } finally {
    for (const r of ranges) r.min.dispose(), r.max.dispose();
    if (owned) gpu.dispose();
  }
}

/**
 * Integer inference: each layer quantizes its input to uint8 with the calibrated (s, z), and
 * qgemm multiplies it with the packed weights, accumulating in i32.
 */
export class QuantizedMLP {
  private constructor(
    readonly model: MLP,
    readonly layers: {
      packed: Tensor<'u32'>;
      laneBits: 8 | 4;
      outScale: F32;
      weight: QParams;
      bias: F32;
      activation: Activation;
      input: ActivationParams;
      inputQ: QParams;
      units: number;
      owned: Tensor[];
    }[],
  ) {}

  /** Packs a weight-quantized model (quantizeWeights) with calibrated activation parameters. */
  static async from(model: MLP, activations: ActivationParams[]): Promise<QuantizedMLP> {
    const device = model.device;
    if (activations.length !== model.layers.length) throw new InvalidArgumentError(`${activations.length} activation parameters for ${model.layers.length} layers.`);
    const layers = [];
    for (const [i, l] of model.layers.entries()) {
      if (!l.quant) throw new InvalidArgumentError(`Layer ${i} has no quantized weights: run quantizeWeights first.`);
      if ((l.quant.spec.method ?? 'minmax') !== 'minmax') throw new InvalidArgumentError(`Layer ${i} is ${l.quant.spec.method}-quantized; integer inference runs min-max weights only.`);
      const spec = l.quant.spec;
      const laneBits: 8 | 4 = spec.bits <= 4 ? 4 : 8;
      const lanes = 32 / laneBits;
      const words = Math.ceil(l.inputs / 8) * (8 / lanes); // K padded to 8, so inputs fill whole words too
      const wt = transpose(l.weight);
      const repeated = spec.perChannel === false ? perChannel(l.quant.weight, l.units) : undefined;
      const weight = repeated?.params ?? l.quant.weight;
      const packed = packRows(wt, weight, 'rows', laneBits, words);
      wt.dispose();
      const input = activations[i]!;
      const inputQ: QParams = { scale: device.tensor(new Float32Array([input.scale])), zero: device.tensor(new Int32Array([input.zero])), qmin: 0, qmax: 255 };
      // One float multiply after the exact integer sum: sx * sw[n], combined here (one readback).
      const outScale = device.tensor(Float32Array.from(await weight.scale.read(), (sw) => input.scale * sw));
      const owned = [...(repeated?.owned ?? []), outScale];
      layers.push({ packed, laneBits, outScale, weight, bias: l.bias, activation: l.activation, input, inputQ, units: l.units, owned });
    }
    return new QuantizedMLP(model, layers);
  }

  /** Outputs for x [B, inputs]. */
  forward(x: F32): F32 {
    let h = x;
    for (const l of this.layers) {
      const words = (l.packed.shape[1]! * (32 / l.laneBits)) / 4;
      const xq = packRows(h, l.inputQ, 'tensor', 8, words);
      const next = qgemm(xq, l.packed, { laneBits: l.laneBits, zx: l.input.zero, outScale: l.outScale, weightZero: l.weight.zero, bias: l.bias, activation: l.activation });
      xq.dispose();
      if (h !== x) h.dispose();
      h = next;
    }
    return h;
  }

  dispose(): void {
    for (const l of this.layers) {
      l.packed.dispose();
      l.inputQ.scale.dispose();
      l.inputQ.zero.dispose();
      for (const t of l.owned) t.dispose();
    }
  }
}

/** Repeats a per-tensor (s, z) for `channels` output channels (qgemm reads one pair per channel). */
function perChannel(q: QParams, channels: number): { params: QParams; owned: Tensor[] } {
  const device = q.scale.device;
  const index = device.tensor(new Uint32Array(channels)); // all row 0
  const scale2d = gatherRows(q.scale.reshape([1, 1]), index);
  const zero = gatherLabels(q.zero, index);
  index.dispose();
  return { params: { ...q, scale: scale2d.reshape([channels]), zero }, owned: [scale2d, zero] };
}
