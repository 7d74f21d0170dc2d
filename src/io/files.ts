/** Node only: model files on disk, written atomically (a temporary file, then rename). */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Device } from '../gpu/device.js';
import type { DenseSpec, MLP } from '../nn/mlp.js';
import { modelFromSafetensors, modelToSafetensors, type EncodeOptions } from './model-file.js';

/** Writes bytes to path so that readers see the old file or the whole new one, never a part. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, bytes, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes the model in the compressed format (io/model-file.ts), atomically; returns the file's
 * byte length, which compressedSize(model, { metadata, ...options }) gives beforehand.
 */
export async function saveModel(model: MLP, path: string, metadata: Record<string, string> = {}, options: EncodeOptions = {}): Promise<number> {
  const bytes = await modelToSafetensors(model, metadata, options);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

export function loadModel(device: Device, path: string, expected?: DenseSpec[]): MLP {
  return modelFromSafetensors(device, new Uint8Array(readFileSync(path)), expected);
}
