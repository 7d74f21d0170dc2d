/**
 * Model files for the CLI: read and written with their data record (io/model-metadata.ts: the
 * standardization of CSV features, the class names), errors naming the file, and the output
 * paths checked before any work.
 */
import type { Device } from '../gpu/device.js';
import { MLP } from '../nn/mlp.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { DataFormatError, InvalidArgumentError } from '../errors.js';
import { layersWithoutWeights, readModel } from '../io/model-file.js';
import { checkOutput, readModelFile, saveModel } from '../io/files.js';
import { infoOf, metadataOf, type ModelInfo } from '../io/model-metadata.js';
import { stringOf, type Options, type Values } from './args.js';
import type { Output } from './output.js';
import type { Model } from '../nn/model.js';

export interface OpenedModel extends ModelInfo {
  model: Model;
  metadata: Record<string, string>;
  /** The file as read. */
  bytes: Uint8Array;
  fileBytes: number;
}

/** Reads a model file with its data record (io/model-metadata.ts); `out` hears of layers with no weights left. Errors name the file. */
export function openModel(device: Device, path: string, out?: Output): OpenedModel {
  const bytes = readModelFile(path);
  let opened: Omit<OpenedModel, 'bytes' | 'fileBytes'>;
  let model: Model | undefined;
  try {
    const metadata = decodeSafetensors(bytes).metadata;
    model = readModel(device, bytes);
    opened = { model, metadata, ...infoOf(metadata, model.inputs, model.outputs) };
  } catch (e) {
    model?.dispose();
    // The library reads bytes; the command knows the path, so the message names it.
    if (e instanceof DataFormatError) throw new DataFormatError(`${path}: ${e.message}`, { cause: e });
    throw e;
  }
  const empty = layersWithoutWeights(bytes);
  if (empty.length > 0) out?.warn(`${path}: layer ${empty.map((i) => i + 1).join(', ')} ${empty.length > 1 ? 'have' : 'has'} every weight pruned, so the model answers the same for every input.`);
  return { ...opened, bytes, fileBytes: bytes.length };
}

/** The model of a file as an MLP, for what works on MLPs only so far; a network is refused with what it is. */
export function requireMlp(model: Model, file: string, what: string): MLP {
  if (model instanceof MLP) return model;
  throw new InvalidArgumentError(`${what} works on MLPs so far; ${file} holds a convolutional network (${model.describe()}).`);
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

/** Writes the model file (compressed format) with its data record and returns its byte length. */
export async function writeModel(model: Model, path: string, info: ModelInfo & { float16?: boolean } = {}): Promise<number> {
  return saveModel(model, path, metadataOf(info), { float16: info.float16 });
}
