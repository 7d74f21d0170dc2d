/**
 * The Redis connection and the job queue's name. BullMQ (with ioredis) is an optional peer
 * dependency: only queue users install it. Connections retry forever (BullMQ's workers need
 * maxRetriesPerRequest: null), so a Redis restart is waited out, not fatal.
 */
import { InvalidArgumentError, MissingPackageError } from '../errors.js';

export const QUEUE_NAME = 'shrinkray-trials';

export type BullMQ = typeof import('bullmq');

export async function bullmq(): Promise<BullMQ> {
  try {
    return await import('bullmq');
  } catch {
    throw new MissingPackageError('Queues need the npm package bullmq, which is not installed: npm install bullmq (about 6 MB with ioredis).');
  }
}

/** ioredis options from redis://[user:password@]host:port[/db]. */
export function connectionOf(url: string): { host: string; port: number; db?: number; username?: string; password?: string; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`The queue must be a URL like redis://127.0.0.1:6379, got '${url}'.`);
  }
  if (u.protocol !== 'redis:') throw new InvalidArgumentError(`The queue must be a redis:// URL, got '${url}'.`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) throw new InvalidArgumentError(`The database in '${url}' must be a whole number.`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(db === undefined ? {} : { db }),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
}
