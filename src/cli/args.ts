/**
 * Command-line parsing on Node's util.parseArgs: each command declares its options once, with
 * help text and defaults; --help is generated from that. Bad arguments raise UsageError (exit 2).
 */
import { parseArgs } from 'node:util';
import { DECIMAL } from '../data/csv.js';

export class UsageError extends Error {}

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  short?: string;
  /** Shown in --help and returned when the option is absent. */
  default?: string | boolean;
  /** Placeholder in --help, e.g. FILE. */
  arg?: string;
}

export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | undefined>;

/** Options every command takes. */
export const COMMON: Options = {
  backend: { type: 'string', arg: 'NAME', help: 'WebGPU adapter: auto, hardware, llvmpipe, swiftshader (default: env SHRINKRAY_BACKEND, else auto)' },
  quiet: { type: 'boolean', short: 'q', help: 'print nothing but errors (and the --json result)' },
  json: { type: 'boolean', help: 'print the result as one JSON object on stdout; progress goes to stderr' },
  verbose: { type: 'boolean', help: "print stack traces on errors, and the GPU driver's own notices" },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export function parse(options: Options, argv: string[], positionalsAllowed = 0): { values: Values; positionals: string[] } {
  const all = { ...COMMON, ...options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(all).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
    });
  } catch (e) {
    const message = (e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    const unknown = /Unknown option '--([^']+)'/.exec(message);
    throw new UsageError(unknown ? `${message}${suggestion(unknown[1]!, Object.keys(all), '--')}` : message);
  }
  if (parsed.positionals.length > positionalsAllowed) throw new UsageError(`unexpected argument '${parsed.positionals[positionalsAllowed]}'`);
  const values: Values = {};
  for (const [k, o] of Object.entries(all)) values[k] = (parsed.values as Values)[k] ?? o.default;
  return { values, positionals: parsed.positionals };
}

/** Edit distance (insertions, deletions, substitutions), for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length]!;
}

/** "; did you mean 'x'?" for the nearest name within 2 edits (or one the word begins), else nothing. */
export function suggestion(word: string, names: string[], prefix = ''): string {
  const best = names.map((n) => ({ n, d: n.startsWith(word) ? 0 : editDistance(word, n) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? `; did you mean '${prefix}${best.n}'?` : '';
}

export function helpText(usage: string, summary: string, options: Options): string {
  const rows = Object.entries({ ...options, ...COMMON }).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(28)} ${o.help}${o.default !== undefined && o.type === 'string' ? ` (default ${o.default})` : ''}`;
  });
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${rows.join('\n')}`;
}

/** A number option within [min, max] (integers only when integer is set), written in decimal. */
export function numberOf(values: Values, name: string, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean; exclusiveMax?: boolean } = {}): number {
  const raw = values[name];
  const v = Number(raw);
  const { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false, exclusiveMax = false } = range;
  const bad =
    typeof raw !== 'string' || !DECIMAL.test(raw.trim()) || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || (exclusiveMax ? v >= max : v > max) || (exclusiveMin ? v <= min : v < min);
  if (bad) {
    const kind = integer ? 'an integer' : 'a number';
    const lo = min === -Infinity ? '' : `${exclusiveMin ? 'above' : 'from'} ${min}`;
    const hi = max === Infinity ? '' : `${lo ? ' ' : ''}${lo ? (exclusiveMax ? 'and below' : 'to') : exclusiveMax ? 'below' : 'at most'} ${max}`;
    throw new UsageError(`--${name} must be ${kind}${lo || hi ? ` ${lo}${hi}` : ''}, not '${raw}'`);
  }
  return v;
}

export function stringOf(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredString(values: Values, name: string, what: string): string {
  const v = stringOf(values, name);
  if (!v) throw new UsageError(`--${name} ${what} is required`);
  return v;
}

export function choiceOf<T extends string>(values: Values, name: string, choices: readonly T[]): T {
  const v = values[name];
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, not '${v}'`);
  return v as T;
}

/** Widths like "300,100" (possibly empty for no hidden layer). */
export function widthsOf(values: Values, name: string): number[] {
  const raw = stringOf(values, name) ?? '';
  if (raw.trim() === '') return [];
  return raw.split(',').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${name} must be comma-separated positive widths like 300,100, not '${raw}'`);
    return v;
  });
}
