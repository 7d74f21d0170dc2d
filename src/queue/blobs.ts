/**
 * Content-addressed blobs in Redis: a trial's model file and data set are stored once under the
 * SHA-256 of their bytes, and workers fetch (and keep) them by that name. Blobs expire after a
 * week unused.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DataFormatError } from '../errors.js';

const PREFIX = 'shrinkray:blob:';
const TTL_SECONDS = 7 * 24 * 3600;

export function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Stores the bytes (unless Redis has them) and returns their hash. */
export async function putBlob(redis: Redis, bytes: Uint8Array): Promise<string> {
  const hash = hashOf(bytes);
  const key = PREFIX + hash;
  if (!(await redis.exists(key))) await redis.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', TTL_SECONDS);
  else await redis.expire(key, TTL_SECONDS);
  return hash;
}

export async function getBlob(redis: Redis, hash: string): Promise<Uint8Array> {
  const value = await redis.getBuffer(PREFIX + hash);
  if (!value) throw new DataFormatError(`Blob ${hash.slice(0, 12)} is not in Redis (expired or never stored): start the sweep again.`);
  const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (hashOf(bytes) !== hash) throw new DataFormatError(`Blob ${hash.slice(0, 12)} does not match its hash.`);
  return bytes;
}
