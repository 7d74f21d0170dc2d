/** The --queue option: a Redis URL (or SHRINKRAY_QUEUE) that sends trials to `shrinkray worker`s. */
import { connectionOf } from '../queue/connection.js';
import { stringOf, UsageError, type Options, type Values } from './args.js';

export const QUEUE_OPTION: Options = {
  queue: { type: 'string', arg: 'URL', help: 'run the trials on workers through Redis: redis://HOST:PORT (or set SHRINKRAY_QUEUE)' },
};

/** The queue URL, checked; undefined to run in this process. */
export function queueOf(values: Values): string | undefined {
  const url = stringOf(values, 'queue') ?? process.env.SHRINKRAY_QUEUE;
  if (!url) return undefined;
  try {
    connectionOf(url);
  } catch (e) {
    throw new UsageError(`--queue: ${(e as Error).message}`);
  }
  return url;
}
