/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string:
 * string}}), then the raw little-endian tensor bytes, offsets relative to the data start.
 * Decoding checks every rule before trusting a number: the header fits the file, the JSON is an
 * object of well-formed entries, each tensor's bytes equal its dtype size times its element
 * count, and the tensors cover the data exactly, without gaps or overlaps. Pure (no file
 * system): works in browsers too.
 * A file whose metadata has `checksum` = "crc32:" and 8 hex digits must match the CRC-32 of its
 * data section (shrinkray writes one; other writers' files without it are read as they are).
 */
import { DataFormatError } from '../errors.js';
import { crc32 } from './crc32.js';

const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 } as const;
export type SafeDType = keyof typeof DTYPE_BYTES;
/** The dtypes shrinkray reads and writes as typed arrays. */
export type ArrayDType = 'F32' | 'F16' | 'I32' | 'U32' | 'I8' | 'U8';
export type SafeArray = Float32Array | Uint16Array | Int32Array | Uint32Array | Int8Array | Uint8Array;
interface ArrayOf {
  F32: Float32Array;
  /** Raw IEEE half-precision bits (io/float16.ts converts them). */
  F16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  I8: Int8Array;
  U8: Uint8Array;
}

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** The raw bytes (a view into the file). */
  bytes: Uint8Array;
}

export interface SafeFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Headers beyond this are refused (the reference implementation's limit is 100 MB). */
const MAX_HEADER = 100_000_000;

function fail(message: string): never {
  throw new DataFormatError(`safetensors: ${message}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Decodes and checks a file; `verifyChecksum: false` skips the CRC (to inspect a damaged file). */
export function decodeSafetensors(file: Uint8Array, options: { verifyChecksum?: boolean } = {}): SafeFile {
  if (file.length < 8) fail(`${file.length} bytes is too short for the 8-byte header length.`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, file.length - 8))) fail(`the header claims ${n64} bytes but the file has ${file.length - 8} after the length.`);
  const n = Number(n64);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n));
  } catch {
    fail('the header is not valid UTF-8.');
  }
  if (!text.startsWith('{')) fail("the header must start with '{'.");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message}).`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header must be a JSON object.');
  const data = file.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: { name: string; info: SafeTensor; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ must be an object.');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string (the format allows strings only).`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor '${name}' must be an object.`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) fail(`tensor '${name}' has unknown dtype ${JSON.stringify(t.dtype)}.`);
    if (!Array.isArray(t.shape) || !t.shape.every(isInt)) fail(`tensor '${name}' needs a shape of non-negative integers.`);
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isInt) || (offsets[0] as number) > (offsets[1] as number))
      fail(`tensor '${name}' needs data_offsets [begin, end] with 0 <= begin <= end.`);
    const [begin, end] = offsets as [number, number];
    let count = 1;
    for (const d of t.shape as number[]) {
      count *= d;
      if (count > Number.MAX_SAFE_INTEGER) fail(`tensor '${name}' has an absurd shape.`);
    }
    const dtype = t.dtype as SafeDType;
    if (count * DTYPE_BYTES[dtype] !== end - begin)
      fail(`tensor '${name}': ${dtype} [${(t.shape as number[]).join(', ')}] needs ${count * DTYPE_BYTES[dtype]} bytes but its offsets span ${end - begin}.`);
    if (end > data.length) fail(`tensor '${name}' ends at byte ${end} of a ${data.length}-byte data section.`);
    entries.push({ name, begin, end, info: { dtype, shape: [...(t.shape as number[])], bytes: data.subarray(begin, end) } });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) fail(e.begin < at ? `tensor '${e.name}' overlaps the one before it.` : `a gap of ${e.begin - at} bytes before tensor '${e.name}'.`);
    at = e.end;
  }
  if (at !== data.length) fail(`the tensors cover ${at} bytes but the data section has ${data.length}.`);
  if (metadata.checksum !== undefined && options.verifyChecksum !== false) {
    const m = /^crc32:([0-9a-f]{8})$/.exec(metadata.checksum);
    if (!m) fail(`the checksum ${JSON.stringify(metadata.checksum)} is not of the form crc32:XXXXXXXX.`);
    const actual = crc32(data);
    if (actual !== parseInt(m![1]!, 16)) fail(`the tensor data does not match its checksum (crc32 ${hex8(actual)}, the file says ${m![1]}): the file is corrupt.`);
  }
  return { tensors: new Map(entries.map((e) => [e.name, e.info])), metadata };
}

const CTOR: Record<ArrayDType, new (b: ArrayBuffer, o: number, l: number) => SafeArray> = {
  F32: Float32Array,
  F16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  I8: Int8Array,
  U8: Uint8Array,
};

/** The tensor as a typed array (copied, so alignment never matters), checking its dtype. */
export function tensorArray<D extends ArrayDType>(file: SafeFile, name: string, dtype: D, shape?: number[]): ArrayOf[D] {
  const t = file.tensors.get(name);
  if (!t) fail(`tensor '${name}' is missing.`);
  if (t.dtype !== dtype) fail(`tensor '${name}' is ${t.dtype}, expected ${dtype}.`);
  if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) fail(`tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`);
  const copy = new Uint8Array(t.bytes); // a copy: a Node Buffer's slice() would share its pool
  return new CTOR[dtype](copy.buffer, 0, copy.length / DTYPE_BYTES[dtype]) as ArrayOf[D];
}

export interface TensorToWrite {
  dtype: ArrayDType;
  shape: number[];
  data: SafeArray;
}

const hex8 = (v: number) => v.toString(16).padStart(8, '0');

/**
 * Encodes tensors and string metadata; the header is padded to 8 bytes. Tensors are laid out
 * widest dtype first (in the given order within a width), so every tensor is aligned to its
 * element size. With `checksum`, the metadata gains the data section's CRC-32.
 */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}, options: { checksum?: boolean } = {}): Uint8Array {
  const entries: Record<string, unknown> = {};
  const width = (t: TensorToWrite) => DTYPE_BYTES[t.dtype];
  const ordered = Object.entries(tensors)
    .map(([name, t], i) => ({ name, t, i }))
    .sort((a, b) => width(b.t) - width(a.t) || a.i - b.i);
  let offset = 0;
  for (const { name, t } of ordered) {
    if (name === '__metadata__') fail("'__metadata__' is reserved.");
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) fail(`tensor '${name}': ${t.data.length} values for shape [${t.shape.join(', ')}].`);
    if (CTOR[t.dtype] !== t.data.constructor) fail(`tensor '${name}': ${t.data.constructor.name} data for dtype ${t.dtype}.`);
    const bytes = count * DTYPE_BYTES[t.dtype];
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const { t } of ordered) {
    // Little-endian on every platform JavaScript runs on in practice; typed arrays use the host order.
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    data.set(raw, at);
    at += raw.length;
  }
  const meta = options.checksum ? { ...metadata, checksum: `crc32:${hex8(crc32(data))}` } : metadata;
  const header = Object.keys(meta).length ? { __metadata__: meta, ...entries } : entries;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}
