import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without types
import { buildBrowser } from '../scripts/build-browser.mjs';

it('the browser bundle is one ESM file with the whole API and no Node built-ins or Dawn', async () => {
  mkdirSync('node_modules/.cache', { recursive: true });
  const dir = resolve(mkdtempSync('node_modules/.cache/shrinkray-browser-'));
  try {
    const out = join(dir, 'shrinkray.browser.js');
    await buildBrowser(out);
    expect(existsSync(out)).toBe(true);
    const code = readFileSync(out, 'utf8');
    // No static or dynamic import or require of anything: everything is inside the bundle.
    expect(code).not.toMatch(/\bimport\s*\(|\brequire\s*\(|^\s*import\s.+\sfrom\s/m);
    for (const m of builtinModules) expect(code.includes(`"node:${m}"`) || code.includes(`from "${m}"`), m).toBe(false);
    expect(code).not.toContain('dawn.node');
    expect(code).toContain('navigator'); // the browser path of createDevice
    expect(code).toContain('fn gemm_mat_nn'); // the WGSL travels inside
    for (const name of ['createDevice', 'gemm', 'fit', 'prune', 'quantizeWeights', 'crossValidate', 'auditPrivacy', 'modelFromSafetensors', 'huffmanDecode', 'compressedSize'])
      expect(code, name).toMatch(new RegExp(`\\b${name}\\b`));
    expect(code).not.toMatch(/\bloadMnist\b|\bsaveModel\b/); // Node-only, in the Node entry
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('package.json points browsers at the bundle and Node at the Node entry', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  expect(pkg.exports['.'].browser).toBe('./dist/shrinkray.browser.js');
  expect(pkg.exports['.'].node).toBe('./dist/index.js');
  expect(pkg.scripts.build).toContain('build-browser.mjs');
});
