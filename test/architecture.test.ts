/**
 * The library's layers: each folder of src/ imports only from folders below it, so there is no
 * loop between folders (nn/ and io/ never import compress/), and the files that tend to grow stay
 * small enough to read (fit, the Device, every CLI command).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Bottom first; a folder may import from folders before it (and the root files errors.ts, random.ts). */
const LAYERS = ['gpu', 'kernels', 'data', 'nn', 'io', 'compress', 'validate', 'auto', 'queue', 'study', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

const files = sources('src');
const folderOf = (file: string) => {
  const parts = relative('src', file).split('/');
  return parts.length > 1 ? parts[0]! : 'root';
};

describe('architecture', () => {
  it('every import goes down the layers: no folder loop, nn/ and io/ never import compress/', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      if (from === 'root') continue; // api.ts, index.ts, browser.ts gather everything; errors.ts and random.ts import nothing of ours
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)) {
        const to = folderOf(relative('.', resolve(dirname(file), spec!)));
        if (to === from || to === 'root') continue;
        if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) wrong.push(`${file} imports ${spec} (${from} -> ${to})`);
      }
    }
    expect(files.length).toBeGreaterThan(80);
    expect(wrong).toEqual([]);
  });

  it('fit, the Device and every CLI command file stay under 150 lines', () => {
    const lines = (path: string) => readFileSync(path, 'utf8').split('\n').length;
    const train = readFileSync('src/nn/train.ts', 'utf8');
    const fit = train.slice(train.indexOf('export async function fit('));
    expect(fit.slice(0, fit.indexOf('\n}\n')).split('\n').length).toBeLessThan(150);
    expect(lines('src/gpu/device.ts')).toBeLessThan(150);
    const commands = readdirSync('src/cli/commands').map((f) => join('src/cli/commands', f));
    expect(commands.filter((f) => lines(f) >= 150)).toEqual([]);
  });
});
