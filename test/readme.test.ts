import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

it("the README's first API example runs as written and the process exits by itself", () => {
  const readme = readFileSync('README.md', 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
  expect(code).toContain("from 'shrinkray'");
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-readme-'));
  try {
    const file = join(dir, 'example.mts'); // ESM outside our package too
    writeFileSync(file, code.replace("from 'shrinkray'", `from ${JSON.stringify(resolve('src/index.ts'))}`));
    const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SHRINKRAY_BACKEND: 'llvmpipe' },
    });
    expect(child.error, 'the example did not exit on its own').toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    // relu([1,2,3;4,5,6] [1,0;0,1;1,1] + [0.5,-10]) = relu([4.5,-5; 10.5,1])
    expect(child.stdout).toContain('Float32Array(4) [ 4.5, 0, 10.5, 1 ] Float32Array(1) [ 16 ]');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
