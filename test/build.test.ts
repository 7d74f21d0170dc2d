import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

it('npm run build emits JS and .d.ts that run under plain node without reading shaders/', () => {
  // Inside the project so that the built files resolve 'webgpu' from its node_modules.
  mkdirSync('node_modules/.cache', { recursive: true });
  const out = resolve(mkdtempSync('node_modules/.cache/shrinkray-dist-'));
  try {
    execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', out], { stdio: 'pipe' });
    for (const f of ['index.js', 'index.d.ts', 'gpu/shaders.generated.js', 'kernels/gemm.d.ts', 'cli/main.js']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    // The WGSL travels inside the JS: in the library, only the Node adapter finder (it checks that
    // SwiftShader's ICD file exists), the MNIST loader, the model-file helpers and the study's
    // report writers touch the file system (Node only; the CLI reads data, as a command does).
    const js = (readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('.js') && !f.startsWith('cli/'));
    const usingFs = js.filter((f) => /from ['"](node:)?fs(\/promises)?['"]/.test(readFileSync(join(out, f), 'utf8')));
    expect(usingFs.sort()).toEqual(['data/mnist.js', 'gpu/dawn.js', 'io/files.js', 'study/auto-report.js', 'study/default-study.js', 'study/report.js']);
    // The built command (package.json's bin) runs under plain node.
    const help = spawnSync(process.execPath, [join(out, 'cli/main.js'), 'inspect', '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('usage: shrinkray inspect');
    const script = join(out, 'check.mjs');
    writeFileSync(
      script,
      `import { createDevice, gemm } from './index.js';
       const d = await createDevice({ backend: 'llvmpipe' });
       const a = d.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
       console.log(Array.from(await gemm(a, a, { activation: 'relu' }).read()).join(','));
       d.destroy();`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, cwd: out });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('7,10,15,22');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
