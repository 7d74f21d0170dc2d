/**
 * Node only: model files on disk. Writes are atomic: the bytes go to a temporary file beside the
 * target, are flushed to disk (fsync), and the file is renamed over the target, so a reader sees
 * the old file or the whole new one. A symlink is written through (its target is replaced, the
 * link stays); anything that is not a regular file (a directory, a device, a FIFO) is refused,
 * never replaced; an existing file keeps its permissions. Temporary files that an interrupted
 * write (kill -9) left behind are removed by the next write to the same path.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync, accessSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { DenseSpec, MLP } from '../nn/mlp.js';
import { modelFromSafetensors, modelToSafetensors, type EncodeOptions } from './model-file.js';
import type { Model } from '../nn/model.js';

/** Model files larger than this are refused before reading (a wrong path to a huge file or device). */
export const MAX_MODEL_FILE = 2 ** 31;

function kindOf(path: string): string {
  const st = statSync(path);
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
}

/**
 * Where a write to `path` lands, checked before any work: the link's target for a symlink; an
 * existing target must be a regular file, and the folder must exist and be writable. Inputs
 * (files the command reads) may not be the output. Returns the real target path.
 */
export function checkOutput(path: string, inputs: string[] = []): string {
  let target = resolve(path);
  if (existsSync(target) || isLink(target)) {
    try {
      target = realpathSync(target);
    } catch {
      throw new FileError(`${path} is a symlink to a missing file; refusing to write through it.`);
    }
    if (!statSync(target).isFile()) throw new FileError(`${path} is ${kindOf(target)}, not a file; refusing to replace it.`);
  }
  const dir = dirname(target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FileError(`Cannot write ${path}: the folder ${dirname(path)} does not exist.`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new FileError(`Cannot write ${path}: the folder ${dirname(path)} is not writable.`);
  }
  for (const input of inputs) {
    let real: string;
    try {
      real = realpathSync(input);
    } catch {
      continue; // a missing input is reported when it is read
    }
    if (real === target) throw new FileError(`${path} is also an input of this command; writing it would replace what is being read. Choose another output.`);
  }
  return target;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Removes `target`'s temporary files whose writing process is gone. */
function removeStale(target: string): void {
  const name = basename(target);
  const dir = dirname(target);
  const pattern = /^\.?(.*)\.(\d+)\.[0-9a-f]{8}\.tmp$/;
  for (const entry of readdirSync(dir)) {
    const m = pattern.exec(entry);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(dir, entry), { force: true });
  }
}

/** Writes bytes to path so that readers see the old file or the whole new one, never a part. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const target = checkOutput(path);
  const mode = existsSync(target) ? statSync(target).mode & 0o7777 : undefined;
  removeStale(target);
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode ?? 0o666);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new FileError(`Cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, { cause: e });
  }
}

/**
 * Writes the model in the compressed format (io/model-file.ts), atomically; returns the file's
 * byte length, which compressedSize(model, { metadata, ...options }) gives beforehand.
 */
export async function saveModel(model: Model, path: string, metadata: Record<string, string> = {}, options: EncodeOptions = {}): Promise<number> {
  checkOutput(path);
  const bytes = await modelToSafetensors(model, metadata, options);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

/** A model file's bytes: a regular file of sane size, refused before reading otherwise. */
export function readModelFile(path: string): Uint8Array {
  const st = statSync(path); // a missing file: ENOENT, reported as such
  if (!st.isFile()) throw new FileError(`${path} is ${kindOf(path)}, not a model file.`);
  if (st.size > MAX_MODEL_FILE) throw new FileError(`${path} has ${st.size} bytes, more than a model file may (${MAX_MODEL_FILE}).`);
  return new Uint8Array(readFileSync(path));
}

/** Reads a model file (async, as everything that touches files; saveModel's counterpart). With `expected`, another architecture is a ShapeError. */
export async function loadModel(device: Device, path: string, expected?: DenseSpec[]): Promise<MLP> {
  return modelFromSafetensors(device, readModelFile(path), expected);
}
