/** What a subcommand is: its options (for parsing and --help) and what it does. */
import { createDevice } from '../gpu/create-device.js';
import type { Device } from '../gpu/device.js';
import type { Backend } from '../gpu/backend.js';
import { BACKENDS } from '../gpu/backend.js';
import { stringOf, UsageError, type Options, type Values } from './args.js';
import { Output } from './output.js';

export interface Context {
  values: Values;
  positionals: string[];
  out: Output;
  /** The command line, for reports. */
  commandLine: string;
  /** Creates the device on first use; main destroys it after the command. */
  device(): Promise<Device>;
}

export interface Command {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  usage: string;
  /** More lines of --help. */
  description?: string;
  options: Options;
  /** How many positional arguments it takes (default 0). */
  positionals?: number;
  run(ctx: Context): Promise<number | void>;
}

export function backendOf(values: Values): Backend | undefined {
  const b = stringOf(values, 'backend');
  if (b !== undefined && !(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, not '${b}'`);
  return b as Backend | undefined;
}

/** A context whose device is created lazily and destroyed by dispose(). */
export function makeContext(values: Values, positionals: string[], commandLine: string): Context & { dispose(): void } {
  let device: Device | undefined;
  const backend = backendOf(values);
  return {
    values,
    positionals,
    commandLine,
    out: new Output({ quiet: !!values.quiet, json: !!values.json }),
    async device() {
      device ??= await createDevice(backend ? { backend } : {});
      return device;
    },
    dispose() {
      device?.destroy();
    },
  };
}
