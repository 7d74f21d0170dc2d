/** Model files for the CLI: safetensors with the standardization (CSV data) kept in the metadata. */
import type { Device } from '../gpu/device.js';
import type { MLP } from '../nn/mlp.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { modelFromSafetensors } from '../io/model-file.js';
import { checkOutput, readModelFile, saveModel } from '../io/files.js';
import { stringOf, type Options, type Values } from './args.js';

export interface Standardization {
  mean: number[];
  std: number[];
}

export interface OpenedModel {
  model: MLP;
  metadata: Record<string, string>;
  standardizer?: Standardization;
  fileBytes: number;
}

export function openModel(device: Device, path: string): OpenedModel {
  const bytes = readModelFile(path);
  const metadata = decodeSafetensors(bytes).metadata;
  const model = modelFromSafetensors(device, bytes);
  const standardizer = metadata.standardize ? (JSON.parse(metadata.standardize) as Standardization) : undefined;
  return { model, metadata, standardizer, fileBytes: bytes.length };
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
export async function writeModel(model: MLP, path: string, info: { standardizer?: Standardization | undefined; data?: string | undefined; note?: string; float16?: boolean } = {}): Promise<number> {
  const metadata: Record<string, string> = { created: new Date().toISOString() };
  if (info.standardizer) metadata.standardize = JSON.stringify(info.standardizer);
  if (info.data) metadata.data = info.data;
  if (info.note) metadata.note = info.note;
  return saveModel(model, path, metadata, { float16: info.float16 });
}
