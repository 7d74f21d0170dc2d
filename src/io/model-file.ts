/**
 * shrinkray models as safetensors. Tensors: layers.{i}.weight (F32 [inputs, units]),
 * layers.{i}.bias (F32 [units]), and for pruned models layers.{i}.mask / layers.{i}.bias_mask
 * (U8, 1 keeps). __metadata__ (strings only, per the format): format = "shrinkray",
 * version = "1", architecture = JSON [{inputs, units, activation}, ...].
 */
import { DataFormatError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { ACTIVATIONS } from '../kernels/gemm.js';
import { checkSpecs, MLP, type DenseSpec } from '../nn/mlp.js';
import { decodeSafetensors, encodeSafetensors, tensorArray, type TensorToWrite } from './safetensors.js';

export const FORMAT = 'shrinkray';
export const VERSION = '1';

export function describeArchitecture(specs: DenseSpec[]): string {
  return `${[specs[0]!.inputs, ...specs.map((s) => s.units)].join('-')} (${specs.map((s) => s.activation).join(', ')})`;
}

/** The model's weights, biases and masks as a safetensors file (weights are read back from the GPU). */
export async function modelToSafetensors(model: MLP, extra: Record<string, string> = {}): Promise<Uint8Array> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [i, l] of model.layers.entries()) {
    tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [l.inputs, l.units], data: await l.weight.read() };
    tensors[`layers.${i}.bias`] = { dtype: 'F32', shape: [l.units], data: await l.bias.read() };
    if (l.mask) tensors[`layers.${i}.mask`] = { dtype: 'U8', shape: [l.inputs, l.units], data: Uint8Array.from(await l.mask.read()) };
    if (l.biasMask) tensors[`layers.${i}.bias_mask`] = { dtype: 'U8', shape: [l.units], data: Uint8Array.from(await l.biasMask.read()) };
  }
  const architecture = JSON.stringify(model.layers.map(({ inputs, units, activation }) => ({ inputs, units, activation })));
  return encodeSafetensors(tensors, { ...extra, format: FORMAT, version: VERSION, architecture });
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
  const weights = specs.map((s, i) => ({
    ...s,
    weight: tensorArray(file, `layers.${i}.weight`, 'F32', [s.inputs, s.units]),
    bias: tensorArray(file, `layers.${i}.bias`, 'F32', [s.units]),
  }));
  for (const w of weights)
    for (const a of [w.weight, w.bias]) if (!a.every(Number.isFinite)) throw new DataFormatError('The model file holds NaN or infinite weights.');
  const model = MLP.fromWeights(device, weights);
  specs.forEach((s, i) => {
    const layer = model.layers[i]!;
    if (file.tensors.has(`layers.${i}.mask`)) layer.mask = device.tensor(Float32Array.from(maskValues(file, `layers.${i}.mask`, [s.inputs, s.units])), [s.inputs, s.units]);
    if (file.tensors.has(`layers.${i}.bias_mask`)) layer.biasMask = device.tensor(Float32Array.from(maskValues(file, `layers.${i}.bias_mask`, [s.units])));
  });
  return model;
}

function maskValues(file: ReturnType<typeof decodeSafetensors>, name: string, shape: number[]): Uint8Array {
  const m = tensorArray(file, name, 'U8', shape);
  if (m.some((v) => v > 1)) throw new DataFormatError(`${name} must hold only 0 and 1.`);
  return m;
}
