/**
 * Dawn's native notices on stderr. Opening an OpenGL ES adapter (llvmpipe) makes Dawn print two
 * lines, "Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16
 * to fit dynamic offset allocation limit." and the same for storage buffers: dawn::WarningLog
 * writes them to file descriptor 2 with fprintf, and no toggle or log level turns them off. They
 * say nothing a user can act on, so the command runs in a child process and its stderr is passed
 * on without them; everything else (errors, warnings, progress bars) passes unchanged.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Set in the child; SHRINKRAY_NATIVE_LOGS=1 runs in one process and shows the notices. */
const CHILD = 'SHRINKRAY_CLI_CHILD';
/** The child's stderr is a pipe; this tells it that the user's stderr is a terminal (progress bars). */
export const STDERR_TTY = 'SHRINKRAY_STDERR_TTY';

const NOTICE = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?\n/gm;
const NOTICE_START = 'Warning: maxDynamic';

/** Whether to run the command in a filtered child: not in the child itself, not when the user asked for native output or only for help. */
export function shouldFilter(args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[CHILD] === '1' || env.SHRINKRAY_NATIVE_LOGS === '1') return false;
  return !args.some((a) => a === '--verbose' || a === '--help' || a === '-h' || a === '--version' || a === '-V') && args[0] !== 'help';
}

/** A stream filter: text in, text out without the notices; a line is held back only while it may still become one. */
export function noticeFilter(): { push(text: string): string; end(): string } {
  let held = '';
  return {
    push(text) {
      const all = held + text;
      const cut = all.lastIndexOf('\n') + 1;
      const rest = all.slice(cut);
      // A partial line that may be a notice waits for its end; any other (a progress bar's \r update) goes now.
      const mayBeNotice = rest.startsWith(NOTICE_START) || NOTICE_START.startsWith(rest);
      held = mayBeNotice && rest !== '' ? rest : '';
      return all.slice(0, cut).replace(NOTICE, '') + (mayBeNotice ? '' : rest);
    },
    end() {
      const rest = held;
      held = '';
      return rest;
    },
  };
}

/** Runs this command again in a child with stderr filtered; resolves to its exit code (128 + n for a signal, as a shell reports it). */
export function runFiltered(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD]: '1', ...(process.stderr.isTTY ? { [STDERR_TTY]: '1' } : {}) },
  });
  const filter = noticeFilter();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    const out = filter.push(text);
    if (out) process.stderr.write(out);
  });
  // Ctrl-C in a terminal reaches both processes; a signal sent to this one alone is passed on (the child treats two at once as one).
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward(signal));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const rest = filter.end();
      if (rest) process.stderr.write(rest);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}
