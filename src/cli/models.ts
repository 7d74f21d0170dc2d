/**
 * Model files for the CLI: safetensors with what the data needs kept in the metadata: the
 * standardization of CSV features (`standardize`) and the class names of CSV labels (`classes`,
 * in the order of the model's outputs), so new data is scaled and labelled as the training data
 * was.
 */
import type { Device } from '../gpu/device.js';
import type { MLP } from '../nn/mlp.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { Standardizer } from '../data/csv.js';
import { DataFormatError } from '../errors.js';
import { layersWithoutWeights, modelFromSafetensors } from '../io/model-file.js';
import { checkOutput, readModelFile, saveModel } from '../io/files.js';
import { stringOf, type Options, type Values } from './args.js';
import type { Output } from './output.js';

export interface Standardization {
  mean: number[];
  std: number[];
}

export interface OpenedModel {
  model: MLP;
  metadata: Record<string, string>;
  standardizer?: Standardization;
  /** The labels' class names, output by output (CSV data with text labels). */
  classNames?: string[];
  /** The file as read. */
  bytes: Uint8Array;
  fileBytes: number;
}

function metadataJson(path: string, metadata: Record<string, string>, key: string): unknown {
  try {
    return JSON.parse(metadata[key]!);
  } catch {
    throw new DataFormatError(`${path}: the '${key}' metadata is not valid JSON.`);
  }
}

/** Reads a model file with its metadata; `out` hears of layers with no weights left. */
export function openModel(device: Device, path: string, out?: Output): OpenedModel {
  const bytes = readModelFile(path);
  let metadata: Record<string, string>;
  try {
    metadata = decodeSafetensors(bytes).metadata;
  } catch (e) {
    if (e instanceof DataFormatError) throw new DataFormatError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
  // A model trained on CSV features keeps their standardization; without it, new rows would be scored unscaled.
  if (metadata.standardize === undefined && /\.csv$/i.test(metadata.data ?? ''))
    throw new DataFormatError(`${path}: trained on ${metadata.data} but its standardization record is missing, so its inputs cannot be scaled as in training.`);
  let standardizer: Standardization | undefined;
  if (metadata.standardize !== undefined) {
    const raw = metadataJson(path, metadata, 'standardize') as { mean?: unknown; std?: unknown } | null;
    try {
      const s = Standardizer.of({ mean: raw?.mean as number[], std: raw?.std as number[] });
      standardizer = { mean: Array.from(s.mean), std: Array.from(s.std) };
    } catch (e) {
      throw new DataFormatError(`${path}: the standardization in its metadata is unusable (${(e as Error).message})`);
    }
  }
  let classNames: string[] | undefined;
  if (metadata.classes !== undefined) {
    const raw = metadataJson(path, metadata, 'classes');
    if (!Array.isArray(raw) || !raw.every((c) => typeof c === 'string') || new Set(raw).size !== raw.length)
      throw new DataFormatError(`${path}: the 'classes' metadata must list distinct class names.`);
    classNames = raw as string[];
  }
  let model: MLP;
  try {
    model = modelFromSafetensors(device, bytes);
  } catch (e) {
    // The library reads bytes; the command knows the path, so the message names it.
    if (e instanceof DataFormatError) throw new DataFormatError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
  if (standardizer && standardizer.mean.length !== model.inputs) throw new DataFormatError(`${path}: its standardization has ${standardizer.mean.length} columns, the model ${model.inputs} inputs.`);
  const empty = layersWithoutWeights(bytes);
  if (empty.length > 0) out?.warn(`${path}: layer ${empty.map((i) => i + 1).join(', ')} ${empty.length > 1 ? 'have' : 'has'} every weight pruned, so the model answers the same for every input.`);
  if (classNames && classNames.length > model.outputs) throw new DataFormatError(`${path}: ${classNames.length} class names for ${model.outputs} outputs.`);
  return { model, metadata, standardizer, classNames, bytes, fileBytes: bytes.length };
}

/** The options through which commands read files. */
const INPUT_OPTIONS = ['model', 'data', 'test', 'images', 'labels', 'test-images', 'test-labels', 'teacher', 'from', 'small', 'large'];

/**
 * The output path of option `name`, checked before any work (its folder exists and is writable,
 * it is no directory or device, it is none of the command's input files).
 */
export function outputOf(values: Values, name: string, path = stringOf(values, name)!): string {
  const inputs = INPUT_OPTIONS.flatMap((k) => (typeof values[k] === 'string' ? String(values[k]).split(',') : []));
  checkOutput(path, inputs);
  return path;
}

/** Options of every command that writes a model. */
export const SAVE_OPTIONS: Options = {
  float16: { type: 'boolean', help: 'store float weights and biases in half precision (half the bytes)' },
};

/** Writes the model file (compressed format) and returns its byte length. */
export async function writeModel(model: MLP, path: string, info: { standardizer?: Standardization | undefined; classNames?: string[] | undefined; data?: string | undefined; note?: string; float16?: boolean } = {}): Promise<number> {
  const metadata: Record<string, string> = { created: new Date().toISOString() };
  if (info.standardizer) metadata.standardize = JSON.stringify(info.standardizer);
  if (info.classNames) metadata.classes = JSON.stringify(info.classNames);
  if (info.data) metadata.data = info.data;
  if (info.note) metadata.note = info.note;
  return saveModel(model, path, metadata, { float16: info.float16 });
}
