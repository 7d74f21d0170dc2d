/**
 * shrinkray models as safetensors files, version 2: the compressed format. Any safetensors reader
 * lists the tensors; the encoding is described in the metadata (strings only, per the format):
 *   format = "shrinkray", version = "2",
 *   architecture = JSON [{inputs, units, activation}, ...] (the weight matrices, in order),
 *   network = JSON {input, layers} for a Sequential model (convolutions, pooling, flatten,
 *             dense; nn/sequential.ts's LayerSpec list), absent for an MLP,
 *   quantization = JSON [spec or null per layer] (method minmax, kmeans, binary or ternary),
 *   encoding = JSON [per layer: io/layer-codec.ts's WeightEncoding, plus bias: "f16" when halved],
 *   checksum = "crc32:XXXXXXXX" of the data section (a flipped bit is caught on load).
 * Per layer i, the weight's tensors (io/layer-codec.ts):
 *   layers.{i}.weight            F32 [inputs, units]: an unpruned float layer, as any reader expects;
 *   layers.{i}.weight.values     F32/F16 [kept] float values, or U8 packed or Huffman-coded codes;
 *   layers.{i}.weight.positions  U8: bitmap or relative indices of the kept weights (pruned layers),
 *                                packed or Huffman coded (a Huffman stream starts with its code's lengths);
 *   layers.{i}.weight.scale      F32 [units or 1]: min-max scales, or binary/ternary alpha;
 *   layers.{i}.weight.zero       U8 [units or 1]: affine zero points minus qmin;
 *   layers.{i}.weight.codebook   F32 [2^bits]: k-means shared values;
 * and layers.{i}.bias (F32 or F16 [units]), layers.{i}.bias_mask_bits (U8 bitmap) when the bias
 * is pruned. Batch norm j of a network: norms.{j}.weight, .bias, .running_mean, .running_var (F32
 * [channels], PyTorch's names for gamma, beta and the running averages). Each choice (bitmap or
 * relative indices and their width, raw or Huffman) is the
 * smallest for that layer, so the file is as small as the format allows; compressedSize()
 * reports its exact byte length. Version 1 files still load (io/model-file-v1.ts).
 */
import { DataFormatError, InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { ACTIVATIONS } from '../kernels/gemm.js';
import { checkSpecs, type DenseLayer, MLP, type DenseSpec } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { channelsOf, type LayerSpec, placeStages, Sequential, type Stage } from '../nn/sequential.js';
import type { NormParams } from '../kernels/batchnorm.js';
import { normalizeSpec, quantBounds, type QuantSpec } from '../nn/quant-spec.js';
import { decodeSafetensors, encodeSafetensors, tensorArray, type SafeFile, type TensorToWrite } from './safetensors.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { checkEncoding, compactEncoding, decodeWeight, encodeWeight, type EncodeOptions, type LayerWeights, type WeightEncoding } from './layer-codec.js';
import { decodeLayerV1, unbitmap, type DecodedLayer } from './model-file-v1.js';

export const FORMAT = 'shrinkray';
export const VERSION = '2';
export type { EncodeOptions } from './layer-codec.js';

export function describeArchitecture(specs: DenseSpec[]): string {
  return `${[specs[0]!.inputs, ...specs.map((s) => s.units)].join('-')} (${specs.map((s) => s.activation).join(', ')})`;
}

/** A layer as the encoder takes it: the weight (io/layer-codec.ts) and the bias. */
export interface LayerContent extends DenseSpec, LayerWeights {
  bias: Float32Array;
  biasMask?: Float32Array;
}

/** What a size breakdown counts a tensor's bytes as. */
export type Part = 'values' | 'positions' | 'codebooks' | 'scales' | 'biases' | 'masks' | 'norms';

/** The part a tensor of a shrinkray file (version 2 or 1) belongs to, by its name. */
function partOf(name: string): Part {
  if (/^norms\./.test(name)) return 'norms';
  if (/\.positions$/.test(name)) return 'positions';
  if (/\.codebook$/.test(name)) return 'codebooks';
  if (/(\.scale|\.zero|weight_scale|weight_zero)$/.test(name)) return 'scales';
  if (/mask_bits$/.test(name)) return 'masks';
  if (/\.bias$/.test(name)) return 'biases';
  return 'values'; // layers.i.weight, .values, weight_q
}

/** The byte length of each part of a model file, read from its own header: the tensors' bytes, and the header (length field, JSON, padding). */
export function fileParts(bytes: Uint8Array): Record<Part | 'header', number> {
  const parts: Record<Part | 'header', number> = { header: bytes.length, values: 0, positions: 0, codebooks: 0, scales: 0, biases: 0, masks: 0, norms: 0 };
  for (const [name, t] of decodeSafetensors(bytes, { verifyChecksum: false }).tensors) {
    parts[partOf(name)] += t.bytes.length;
    parts.header -= t.bytes.length;
  }
  return parts;
}

/** An encoded file with the bytes of each part (fileParts). */
export interface EncodedModel {
  bytes: Uint8Array;
  parts: Record<Part | 'header', number>;
  /** Each layer's chosen encoding, as the metadata records it. */
  encodings: WeightEncoding[];
}

/** The model's layers read back from the GPU. */
export async function readLayers(model: Model): Promise<LayerContent[]> {
  // All reads are requested at once: one wait for the GPU, not one per tensor.
  return Promise.all(
    model.layers.map(async (l) => {
      const q = l.quant;
      const [weight, bias, mask, biasMask, scale, zero, codebook, assignment] = await Promise.all([
        l.weight.read(),
        l.bias.read(),
        l.mask?.read(),
        l.biasMask?.read(),
        q?.weight.scale.read(),
        q?.weight.zero.read(),
        q?.codebook?.read(),
        q?.assignment?.read(),
      ]);
      return {
        inputs: l.inputs,
        units: l.units,
        activation: l.activation,
        weight,
        bias,
        mask,
        biasMask,
        quant: q ? { spec: q.spec, scale: scale!, zero: zero!, codebook, assignment } : undefined,
      };
    }),
  );
}

/** A batch norm as files hold it: gamma (weight), beta (bias), running mean and variance [channels]. */
export interface NormContent {
  weight: Float32Array;
  bias: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

/** A network's batch norms read back from the GPU (none for an MLP). */
export async function readNorms(model: Model): Promise<NormContent[]> {
  if (!(model instanceof Sequential)) return [];
  return Promise.all(
    model.norms.map(async (n) => {
      const [weight, bias, running] = await Promise.all([n.gamma.read(), n.beta.read(), n.running.read()]);
      const c = weight.length;
      return { weight, bias, runningMean: running.slice(0, c), runningVar: running.slice(c) };
    }),
  );
}

const NORM_TENSORS = { weight: 'weight', bias: 'bias', runningMean: 'running_mean', runningVar: 'running_var' } as const;

function bitmap(mask: Float32Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(mask.length / 8));
  mask.forEach((v, i) => v !== 0 && (bits[i >> 3]! |= 1 << (i & 7)));
  return bits;
}

/** Encodes layers (and a network's batch norms) into a version 2 file, with its breakdown by part. */
export function encodeLayers(layers: LayerContent[], extra: Record<string, string> = {}, options: EncodeOptions = {}, norms: NormContent[] = []): EncodedModel {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [j, n] of norms.entries())
    for (const [key, name] of Object.entries(NORM_TENSORS)) tensors[`norms.${j}.${name}`] = { dtype: 'F32', shape: [n.weight.length], data: n[key as keyof NormContent] };
  const encodings: WeightEncoding[] = [];
  for (const [i, l] of layers.entries()) {
    const { tensors: weightTensors, encoding } = encodeWeight(`layers.${i}.weight`, l, l, options);
    Object.assign(tensors, weightTensors);
    tensors[`layers.${i}.bias`] = options.float16 ? { dtype: 'F16', shape: [l.units], data: Uint16Array.from(l.bias, toFloat16Bits) } : { dtype: 'F32', shape: [l.units], data: l.bias };
    if (l.biasMask) tensors[`layers.${i}.bias_mask_bits`] = { dtype: 'U8', shape: [Math.ceil(l.units / 8)], data: bitmap(l.biasMask) };
    encodings.push(options.float16 ? { ...encoding, bias: 'f16' } : encoding);
  }
  const metadata = {
    ...extra,
    format: FORMAT,
    version: VERSION,
    architecture: JSON.stringify(layers.map(({ inputs, units, activation }) => ({ inputs, units, activation }))),
    quantization: JSON.stringify(layers.map((l) => l.quant?.spec ?? null)),
    encoding: JSON.stringify(encodings.map((e, i) => compactEncoding(e, !!layers[i]!.quant))),
  };
  const bytes = encodeSafetensors(tensors, metadata, { checksum: true });
  return { bytes, parts: fileParts(bytes), encodings };
}

/** The metadata a model's layer list needs beyond its weight matrices: a Sequential model's network, nothing for an MLP. */
export function networkMetadata(model: Model): Record<string, string> {
  // Every stage as placed (implicit flattens written out, activations resolved): the file says exactly what runs.
  return model instanceof Sequential ? { network: JSON.stringify({ input: model.inputShape, layers: model.stages.map((s) => s.spec) }) } : {};
}

/** The model as a version 2 file (weights are read back from the GPU). */
export async function modelToSafetensors(model: Model, extra: Record<string, string> = {}, options: EncodeOptions = {}): Promise<Uint8Array> {
  return encodeLayers(await readLayers(model), { ...extra, ...networkMetadata(model) }, options, await readNorms(model)).bytes;
}

/** The architecture a shrinkray file declares, checked. */
export function architectureOf(bytes: Uint8Array): DenseSpec[] {
  return parseArchitecture(decodeSafetensors(bytes).metadata);
}

function parseJson(meta: Record<string, string>, key: string): unknown {
  try {
    return JSON.parse(meta[key] ?? '');
  } catch {
    throw new DataFormatError(`The model file has no readable ${key} in its metadata.`);
  }
}

function parseArchitecture(meta: Record<string, string>): DenseSpec[] {
  if (meta.format !== FORMAT) throw new DataFormatError(`Not a shrinkray model file (metadata format is ${JSON.stringify(meta.format)}); to bring a PyTorch model, use importTorch.`);
  if (meta.version !== VERSION && meta.version !== '1') throw new DataFormatError(`shrinkray model file version ${meta.version} is not supported (this is version ${VERSION}; version 1 is read too).`);
  const specs = parseJson(meta, 'architecture');
  const ok =
    Array.isArray(specs) &&
    specs.length > 0 &&
    specs.every((s) => typeof s === 'object' && s !== null && Number.isSafeInteger(s.inputs) && Number.isSafeInteger(s.units) && typeof s.activation === 'string' && s.activation in ACTIVATIONS);
  if (!ok) throw new DataFormatError('The model file has a malformed architecture in its metadata.');
  const layers = (specs as DenseSpec[]).map(({ inputs, units, activation }) => ({ inputs, units, activation }));
  try {
    const network = networkOf(meta);
    if (!network) checkSpecs(layers);
    else {
      // The weight matrices must be the ones the network's layers need, in order.
      const needed = Sequential.specsOf(network.input, network.layers);
      const same = needed.length === layers.length && needed.every((n, i) => n.inputs === layers[i]!.inputs && n.units === layers[i]!.units && n.activation === layers[i]!.activation);
      if (!same) throw new Error(`the network needs weights ${needed.map((n) => `${n.inputs}x${n.units}`).join(', ')}, the file lists ${layers.map((n) => `${n.inputs}x${n.units}`).join(', ')}`);
    }
  } catch (e) {
    throw new DataFormatError(`The model file's architecture is inconsistent: ${(e as Error).message}`);
  }
  if (layers.some((l) => l.inputs * l.units > 2 ** 31)) throw new DataFormatError('The model file declares a layer of more than 2^31 weights.');
  return layers;
}

/** A Sequential model's network from the metadata, or undefined for an MLP file. */
function networkOf(meta: Record<string, string>): { input: number[]; layers: LayerSpec[] } | undefined {
  if (meta.network === undefined) return undefined;
  const n = parseJson(meta, 'network') as { input?: unknown; layers?: unknown } | null;
  if (!n || !Array.isArray(n.input) || !Array.isArray(n.layers) || !n.layers.every((l) => typeof l === 'object' && l !== null && typeof l.type === 'string'))
    throw new DataFormatError('The model file has a malformed network in its metadata.');
  const input = n.input as number[];
  const layers = n.layers as LayerSpec[];
  try {
    placeStages(input, layers); // shapes and kinds checked, with messages that name the layer
  } catch (e) {
    throw new DataFormatError(`The model file's network is invalid: ${(e as Error).message}`);
  }
  return { input, layers };
}

function parseQuantization(meta: Record<string, string>, layers: number): (QuantSpec | null)[] {
  if (meta.quantization === undefined) return new Array(layers).fill(null);
  const q = parseJson(meta, 'quantization');
  if (!Array.isArray(q) || q.length !== layers) throw new DataFormatError(`The model file's quantization metadata must list ${layers} layers.`);
  return q.map((spec, i) => {
    if (spec === null) return null;
    try {
      if (typeof spec !== 'object' || Array.isArray(spec)) throw new Error('a spec must be an object');
      return normalizeSpec(spec as QuantSpec);
    } catch (e) {
      throw new DataFormatError(`Layer ${i}'s quantization in the file is invalid: ${(e as Error).message}`);
    }
  });
}

function decodeLayerV2(file: SafeFile, i: number, s: DenseSpec, q: QuantSpec | null, encoding: unknown): DecodedLayer {
  const e = checkEncoding(encoding, s, q, `Layer ${i}'s encoding`);
  const { weight, mask, quant } = decodeWeight(file, `layers.${i}.weight`, s, e, q);
  const bias = e.bias ? Float32Array.from(tensorArray(file, `layers.${i}.bias`, 'F16', [s.units]), fromFloat16Bits) : tensorArray(file, `layers.${i}.bias`, 'F32', [s.units]);
  const biasMask = file.tensors.has(`layers.${i}.bias_mask_bits`) ? unbitmap(file, `layers.${i}.bias_mask_bits`, s.units) : undefined;
  return { weight, bias, mask, biasMask, quant };
}

/** A file's own account of itself: version, bytes by part, and (version 2) each layer's encoding. */
export function describeFile(bytes: Uint8Array): { version: string; parts: Record<Part | 'header', number>; encodings?: WeightEncoding[] } {
  const file = decodeSafetensors(bytes);
  const specs = parseArchitecture(file.metadata);
  const version = file.metadata.version!;
  if (version === '1') return { version, parts: fileParts(bytes) };
  const quant = parseQuantization(file.metadata, specs.length);
  const raw = parseJson(file.metadata, 'encoding');
  if (!Array.isArray(raw) || raw.length !== specs.length) throw new DataFormatError(`The model file's encoding metadata must list ${specs.length} layers.`);
  return { version, parts: fileParts(bytes), encodings: specs.map((s, i) => checkEncoding(raw[i], s, quant[i]!, `Layer ${i}'s encoding`)) };
}

function decodeLayers(file: SafeFile, specs: DenseSpec[], quant: (QuantSpec | null)[]): DecodedLayer[] {
  let layers: DecodedLayer[];
  if (file.metadata.version === '1') layers = specs.map((s, i) => decodeLayerV1(file, i, s, quant[i]!));
  else {
    if (file.metadata.checksum === undefined) throw new DataFormatError('The model file has no checksum in its metadata (version 2 files always carry one).');
    const encodings = parseJson(file.metadata, 'encoding');
    if (!Array.isArray(encodings) || encodings.length !== specs.length) throw new DataFormatError(`The model file's encoding metadata must list ${specs.length} layers.`);
    layers = specs.map((s, i) => decodeLayerV2(file, i, s, quant[i]!, encodings[i]));
  }
  for (const l of layers) for (const a of [l.weight, l.bias]) if (!a.every(Number.isFinite)) throw new DataFormatError('The model file holds NaN or infinite weights.');
  return layers;
}

/**
 * The layers (0-based) of a model file whose every weight is pruned: such a layer passes only its
 * biases on, so the model answers the same for every input. It is a valid file (pruning can reach
 * 100 %), so it loads; the CLI warns.
 */
export function layersWithoutWeights(bytes: Uint8Array): number[] {
  // Version 2 records each layer's kept count in its metadata: no second decode of the weights.
  const { encodings } = describeFile(bytes);
  if (encodings) return encodings.flatMap((e, i) => (e.kept === 0 ? [i] : []));
  const file = decodeSafetensors(bytes);
  const specs = parseArchitecture(file.metadata);
  const layers = decodeLayers(file, specs, parseQuantization(file.metadata, specs.length));
  return layers.flatMap((l, i) => (l.mask && !l.mask.some((m) => m !== 0) ? [i] : []));
}

/** The file's layers as GPU layers: weights, biases, masks and quantization parameters. */
function layersFrom(device: Device, file: SafeFile, specs: DenseSpec[]): DenseLayer[] {
  const quant = parseQuantization(file.metadata, specs.length);
  const decoded = decodeLayers(file, specs, quant);
  return specs.map((s, i) => {
    const { weight, bias, mask, biasMask, quant: qd } = decoded[i]!;
    const layer: DenseLayer = { ...s, weight: device.tensor(weight, [s.inputs, s.units]), bias: device.tensor(bias) };
    const q = quant[i];
    if (q && qd) {
      const [qmin, qmax] = quantBounds(q);
      layer.quant = { spec: q, weight: { scale: device.tensor(qd.scale), zero: device.tensor(qd.zero), qmin, qmax } };
      if (qd.codebook) layer.quant.codebook = device.tensor(qd.codebook);
      if (qd.assignment) layer.quant.assignment = device.tensor(qd.assignment, [s.inputs, s.units]);
    }
    if (mask) layer.mask = device.tensor(mask, [s.inputs, s.units]);
    if (biasMask) layer.biasMask = device.tensor(biasMask);
    return layer;
  });
}

/**
 * An MLP from a shrinkray safetensors file (version 2 or 1). With `expected`, a file of another
 * architecture is a ShapeError that names both. A file that holds a convolutional network is a
 * DataFormatError that says to read it with readModel.
 */
export function modelFromSafetensors(device: Device, bytes: Uint8Array, expected?: DenseSpec[]): MLP {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`modelFromSafetensors takes the file's bytes (a Uint8Array), not ${typeof bytes}; to read a path, use loadModel.`);
  const file = decodeSafetensors(bytes);
  const specs = parseArchitecture(file.metadata);
  if (networkOf(file.metadata))
    throw new DataFormatError('The model file holds a network with convolution or pooling layers, not an MLP: read it with readModel (any model) or sequentialFromSafetensors.');
  if (expected) {
    const same = expected.length === specs.length && expected.every((e, i) => e.inputs === specs[i]!.inputs && e.units === specs[i]!.units && e.activation === specs[i]!.activation);
    if (!same) throw new ShapeError(`The model file holds ${describeArchitecture(specs)}, expected ${describeArchitecture(expected)}.`);
  }
  return new MLP(device, layersFrom(device, file, specs));
}

/** The file's batch norms as GPU parameters, checked against the network's stages. */
function normsFrom(device: Device, file: SafeFile, stages: Stage[]): NormParams[] {
  return stages.flatMap((s, j) => {
    if (s.norm === undefined) return [];
    const c = channelsOf(s);
    const [weight, bias, mean, variance] = Object.values(NORM_TENSORS).map((name) => tensorArray(file, `norms.${s.norm}.${name}`, 'F32', [c]));
    if (![weight, bias, mean, variance].every((a) => a!.every(Number.isFinite)) || variance!.some((v) => v < 0))
      throw new DataFormatError(`Batch norm ${s.norm} (stage ${j + 1}) in the file holds NaN, infinite values or a negative variance.`);
    return [{ gamma: device.tensor(weight!), beta: device.tensor(bias!), running: device.tensor(Float32Array.from([...mean!, ...variance!]), [2, c]) }];
  });
}

/** A Sequential model from a shrinkray file; an MLP file gives a Sequential of its dense layers. */
export function sequentialFromSafetensors(device: Device, bytes: Uint8Array): Sequential {
  const file = decodeSafetensors(bytes);
  const specs = parseArchitecture(file.metadata);
  const network = networkOf(file.metadata) ?? { input: [specs[0]!.inputs], layers: specs.map((s): LayerSpec => ({ type: 'dense', units: s.units, activation: s.activation })) };
  const stages = placeStages(network.input, network.layers);
  return new Sequential(device, network.input, stages, layersFrom(device, file, specs), normsFrom(device, file, stages));
}

/** Any model from a shrinkray file: an MLP, or a Sequential model when the file holds a network. */
export function readModel(device: Device, bytes: Uint8Array): Model {
  return networkOf(decodeSafetensors(bytes).metadata) ? sequentialFromSafetensors(device, bytes) : modelFromSafetensors(device, bytes);
}
