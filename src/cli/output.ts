/**
 * What the CLI prints: human lines on stdout (stderr under --json, so stdout holds only the JSON
 * result), and progress bars with an ETA (cli-progress) on stderr when it is a terminal; plain
 * start and end lines when it is not (logs, CI). --quiet silences all but errors.
 */
import cliProgress from 'cli-progress';

import type { Progress, StudyLog } from '../study/progress.js';
import { STDERR_TTY } from './native-notices.js';

export interface OutputOptions {
  quiet?: boolean;
  json?: boolean;
  /** Bars need a terminal; default: whether stderr is one. */
  interactive?: boolean;
}

export class Output implements StudyLog {
  readonly quiet: boolean;
  readonly json: boolean;
  /** Whether progress bars are drawn (else plain lines). */
  readonly interactive: boolean;

  constructor(options: OutputOptions = {}) {
    this.quiet = !!options.quiet;
    this.json = !!options.json;
    // Under the notice filter (native-notices.ts) stderr is a pipe to a terminal.
    this.interactive = options.interactive ?? (!!process.stderr.isTTY || process.env[STDERR_TTY] === '1');
  }

  /** A line for people. */
  log(line: string): void {
    if (this.quiet) return;
    (this.json ? process.stderr : process.stdout).write(`${line}\n`);
  }

  /** A warning: the command goes on, but something the user should know is odd (stderr; not under --quiet). */
  warn(line: string): void {
    if (!this.quiet) process.stderr.write(`warning: ${line}\n`);
  }

  /** The command's result: JSON on stdout under --json, else nothing (the lines said it). */
  result(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A progress bar over `total` units of `task`. */
  progress(task: string, total: number, unit: string): Progress {
    const started = performance.now();
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
    if (this.quiet) return { update() {}, done() {} };
    if (!this.interactive) {
      this.log(`${task}: ${total} ${unit} ...`);
      return { update() {}, done: (summary) => this.log(`${task}: done in ${elapsed()}${summary ? `, ${summary}` : ''}`) };
    }
    const bar = new cliProgress.SingleBar(
      {
        format: `${task.padEnd(22)} {bar} {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted} {info}`,
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true, // drawn only when interactive: a terminal, maybe behind the notice filter's pipe
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, fields) =>
        bar.update(done, {
          info: fields
            ? Object.entries(fields)
                .map(([k, v]) => `${k} ${v}`)
                .join(' ')
            : '',
        }),
      done: (summary) => {
        bar.stop();
        this.log(`${task}: done in ${elapsed()}${summary ? `, ${summary}` : ''}`);
      },
    };
  }
}
