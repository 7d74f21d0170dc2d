import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

/** Every ```ts block of the README, in order. */
function blocks(): string[] {
  return [...readFileSync('README.md', 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Runs code as the README gives it (importing 'shrinkray' from this checkout) in an empty folder. */
function run(code: string, env: Record<string, string> = {}, timeout = 60_000) {
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-readme-'));
  try {
    const file = join(dir, 'example.mts'); // ESM outside our package too
    writeFileSync(file, code.replaceAll("from 'shrinkray'", `from ${JSON.stringify(resolve('src/index.ts'))}`));
    // tsx from this checkout: the example's folder has no node_modules.
    return spawnSync(process.execPath, ['--import', pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href, file], {
      cwd: dir,
      encoding: 'utf8',
      timeout,
      env: { ...process.env, SHRINKRAY_BACKEND: 'llvmpipe', ...env },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it("the README's first API example runs as written and the process exits by itself", () => {
  const code = blocks()[0]!;
  expect(code).toContain("from 'shrinkray'");
  const child = run(code);
  expect(child.error, 'the example did not exit on its own').toBeUndefined();
  expect(child.status, child.stderr).toBe(0);
  // relu([1,2,3;4,5,6] [1,0;0,1;1,1] + [0.5,-10]) = relu([4.5,-5; 10.5,1])
  expect(child.stdout).toContain('Float32Array(4) [ 4.5, 0, 10.5, 1 ] Float32Array(1) [ 16 ]');
});

it("the README's train, compress and importance examples run as written, one after the other (on 2,000 MNIST rows)", () => {
  const [, train, compress, importance] = blocks();
  expect(train).toContain('loadMnist');
  const child = run([train, compress, importance].join('\n'), { SHRINKRAY_MNIST_LIMIT: '2000' }, 240_000);
  expect(child.error, 'the examples did not finish on their own').toBeUndefined();
  expect(child.status, child.stderr).toBe(0);
  expect(child.stdout).toMatch(/epoch: 1,/); // onEpoch printed
  expect(child.stdout).toContain('totalBytes'); // compressedSize printed
}, 300_000);

it("the README's convolutional-network example runs as written (on 2,000 MNIST rows)", () => {
  const code = blocks().find((b) => b.includes('Sequential.create'))!;
  const child = run(code, { SHRINKRAY_MNIST_LIMIT: '2000' }, 120_000);
  expect(child.error, 'the example did not finish on its own').toBeUndefined();
  expect(child.status, child.stderr).toBe(0);
  const [accuracy, bytes] = child.stdout.trim().split(' ').map(Number);
  expect(accuracy).toBeGreaterThan(0.8); // one epoch on 2,000 images, pruned to 10 % and int8
  expect(bytes).toBeLessThan(431_080 * 4 * 0.2); // a fifth of the float32 weights' bytes, or less
}, 180_000);

it("the README's batch norm example runs as written (on 2,000 MNIST rows): folding keeps the accuracy", () => {
  const code = blocks().find((b) => b.includes('foldBatchNorm('))!;
  const child = run(code, { SHRINKRAY_MNIST_LIMIT: '2000' }, 120_000);
  expect(child.error, 'the example did not finish on its own').toBeUndefined();
  expect(child.status, child.stderr).toBe(0);
  const [net, folded] = child.stdout.trim().split(' ').map(Number);
  expect(net).toBeGreaterThan(0.8); // one epoch on 2,000 images
  expect(Math.abs(folded! - net!)).toBeLessThan(0.01); // folded and int8: within a point
}, 180_000);

it("the README's automated-compression example runs as written (on 2,000 MNIST rows)", () => {
  const code = blocks().find((b) => b.includes('autoCompress('))!;
  const child = run(code, { SHRINKRAY_MNIST_LIMIT: '2000' }, 240_000);
  expect(child.error, 'the example did not finish on its own').toBeUndefined();
  expect(child.status, child.stderr).toBe(0);
  const [, bytes] = child.stdout.trim().match(/ (\d+) (?:true|false)$/) ?? [];
  expect(Number(bytes)).toBeLessThan(1_067_256 / 4); // the dense file's quarter, or less
}, 300_000);

it("the README's own-WGSL example runs as written", () => {
  const code = blocks().find((b) => b.includes("device.kernel('saxpy'"))!;
  expect(code).toContain("device.kernel('saxpy'");
  const child = run(code);
  expect(child.status, child.stderr).toBe(0);
  expect(child.stdout).toContain('Float32Array(3) [ 12, 24, 36 ]');
});
