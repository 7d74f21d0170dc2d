/** Model files for the CLI: safetensors with the standardization (CSV data) kept in the metadata. */
import { readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { MLP } from '../nn/mlp.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { modelFromSafetensors } from '../io/model-file.js';
import { saveModel } from '../io/files.js';
import type { Options } from './args.js';

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
  const bytes = new Uint8Array(readFileSync(path));
  const metadata = decodeSafetensors(bytes).metadata;
  const model = modelFromSafetensors(device, bytes);
  const standardizer = metadata.standardize ? (JSON.parse(metadata.standardize) as Standardization) : undefined;
  return { model, metadata, standardizer, fileBytes: bytes.length };
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
