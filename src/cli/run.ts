/**
 * The shrinkray command (runs on import; main.ts is the entry). With no command it runs the whole
 * job (train, prune, quantize, distil, compare, report) on MNIST; `shrinkray COMMAND --help`
 * documents each command.
 * Exit codes: 0 done, 1 an error (a missing or bad file, bad data, a GPU problem), 2 bad usage.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShrinkrayError } from '../errors.js';
import { helpText, parse, suggestion, UsageError } from './args.js';
import { makeContext, type Command } from './command.js';
import { pipeline } from './commands/pipeline.js';
import { train } from './commands/train.js';
import { evaluateCommand } from './commands/evaluate.js';
import { pruneCommand } from './commands/prune.js';
import { quantizeCommand } from './commands/quantize.js';
import { distillCommand } from './commands/distill.js';
import { cv } from './commands/cv.js';
import { inspect } from './commands/inspect.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { audit } from './commands/audit.js';
import { importance } from './commands/importance.js';
import { simplifyCommand } from './commands/simplify.js';
import { bench } from './commands/bench.js';
import { devices } from './commands/devices.js';
import { cascadeCommand } from './commands/cascade.js';
import { autoCommand } from './commands/auto.js';
import { sweepCommand } from './commands/sweep.js';
import { workerCommand } from './commands/worker.js';

const COMMANDS: Command[] = [
  pipeline,
  train,
  evaluateCommand,
  pruneCommand,
  quantizeCommand,
  distillCommand,
  importance,
  simplifyCommand,
  autoCommand,
  cascadeCommand,
  cv,
  sweepCommand,
  workerCommand,
  inspect,
  exportCommand,
  importCommand,
  audit,
  bench,
  devices,
];

function overview(): string {
  return [
    'usage: shrinkray [COMMAND] [options]     (no command: the whole job on MNIST; --quick for a short run)',
    '',
    'Train, compress and validate neural networks with WGSL compute shaders on WebGPU.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    "'shrinkray help COMMAND' (or 'shrinkray COMMAND --help') shows a command's options; --version the version.",
  ].join('\n');
}

/** The version in shrinkray's package.json, found upwards from this file (src/cli or dist/cli). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'shrinkray' && pkg.version) return pkg.version;
    } catch {
      // not here: one folder up
    }
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    console.log(`shrinkray ${version()}`);
    return 0;
  }
  // 'shrinkray help [COMMAND]' is 'shrinkray [COMMAND] --help'.
  if (argv[0] === 'help') return main(argv[1] ? [argv[1], '--help'] : ['--help']);
  const named = argv[0] && !argv[0].startsWith('-') ? COMMANDS.find((c) => c.name === argv[0]) : undefined;
  if (argv[0] && !argv[0].startsWith('-') && !named)
    throw new UsageError(
      `unknown command '${argv[0]}'${suggestion(
        argv[0],
        COMMANDS.map((c) => c.name),
      )} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`,
    );
  const command = named ?? pipeline;
  const rest = named ? argv.slice(1) : argv;
  const { values, positionals } = parse(command.options, rest, command.positionals ?? 0);
  if (values.help) {
    console.log(
      named
        ? helpText(command.usage, [command.summary, command.description].filter(Boolean).join('\n\n'), command.options)
        : `${overview()}\n\n${helpText(pipeline.usage, pipeline.description!, pipeline.options)}`,
    );
    return 0;
  }
  const ctx = makeContext(values, positionals, ['shrinkray', ...argv].join(' '));
  try {
    return (await command.run(ctx)) ?? 0;
  } finally {
    ctx.dispose();
  }
}

function describeError(e: unknown): string {
  if (e instanceof ShrinkrayError) return `${e.name}: ${e.message}`;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT' && err.path) return `no such file: ${err.path}`;
  if (err?.code === 'EACCES' && err.path) return `permission denied: ${err.path}`;
  if (err?.code === 'EISDIR' && err.path) return `a directory, not a file: ${err.path}`;
  return err?.message ?? String(e);
}

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid" while Dawn probes for a GPU where the
 * variable is unset (containers, CI); a private runtime folder keeps the command's output clean.
 */
function runtimeDirForMesa(): void {
  if (process.env.XDG_RUNTIME_DIR || process.platform !== 'linux') return;
  const dir = join(tmpdir(), `shrinkray-runtime-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // Only cosmetic: without it Mesa prints a warning and works the same.
  }
}

const argv = process.argv.slice(2);
runtimeDirForMesa();
main(argv).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`shrinkray: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`shrinkray: ${describeError(e)}`);
    if (argv.includes('--verbose') && e instanceof Error) console.error(e.stack);
    process.exitCode = 1;
  },
);
