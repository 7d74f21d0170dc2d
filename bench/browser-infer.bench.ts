/**
 * BENCH_ONLY=browser-infer npm run bench: the infer benchmark's forward passes in headless
 * Chromium (Debian's, through playwright-core), on navigator.gpu: SwiftShader (Dawn's Vulkan
 * backend, core level) and ANGLE's OpenGL ES on Mesa (compatibility level). The same models
 * (INFER_MODELS=DIR, default shrinkray-report) and the same 1,024 MNIST test rows; each variant
 * against our dense model in the same page, as best-time ratios and medians of the rounds' own
 * ratios (bench/rounds.ts). ROUNDS (default 5) timed rounds after a warm-up.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { loadMnist } from '../src/data/mnist.js';
import { formatDescription } from '../src/gpu/describe.js';
import type { DeviceDescription } from '../src/gpu/adapter.js';
// @ts-expect-error: a plain .mjs build script without types
import { buildBrowser } from '../scripts/build-browser.mjs';
// @ts-expect-error: a plain .mjs script without types
import { serve } from '../scripts/demo.mjs';
// @ts-expect-error: a plain .mjs script without types
import { ANGLE_GLES_FLAGS, CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.mjs';
import { fmt } from './common.js';
import type { VariantTimes } from './browser/infer-page.js';
import { reportVariants } from './infer.bench.js';
import { best, paired } from './rounds.js';

const ROWS = 1024;
// Without --enable-webgpu-developer-features Chromium hides the ANGLE adapter's name (llvmpipe
// underneath) and createDevice tells it from a GPU by timing (gpu/runs-like-cpu.ts); with
// the flag the table names the adapter.
const ADAPTERS: { level: 'core' | 'compatibility'; flags: string[] }[] = [
  { level: 'core', flags: [] },
  { level: 'compatibility', flags: [...ANGLE_GLES_FLAGS, '--enable-webgpu-developer-features'] },
];

export async function benchBrowserInfer(): Promise<void> {
  const dir = resolve(process.env.INFER_MODELS ?? 'shrinkray-report');
  if (!existsSync(join(dir, 'models'))) {
    console.log(`no models in ${dir}/models: run \`npm start\` (or set INFER_MODELS to a report directory) first`);
    return;
  }
  const rounds = Number(process.env.ROUNDS ?? 5);
  const variants = reportVariants(dir);
  // The page, its data and the report's model files in one folder, served as the demo is.
  const out = resolve('node_modules/.cache/shrinkray-bench/browser-infer');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await buildBrowser(join(out, 'page.js'), 'bench/browser/infer-page.ts');
  writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><title>shrinkray infer bench</title><script type="module" src="/page.js"></script>');
  writeFileSync(join(out, 'variants.json'), JSON.stringify(variants));
  writeFileSync(join(out, 'rows.bin'), loadMnist('test').features.subarray(0, ROWS * 784));
  for (const v of variants) {
    mkdirSync(dirname(join(out, v.file)), { recursive: true });
    copyFileSync(join(dir, v.file), join(out, v.file));
  }
  const server: Server = await serve(out, 0);
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    for (const adapter of ADAPTERS) {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...adapter.flags], headless: true });
      try {
        const page = await browser.newPage();
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => 'shrinkrayInferBench' in globalThis, null, { timeout: 60_000 });
        const r = (await page.evaluate(
          ([level, n]) => (globalThis as unknown as { shrinkrayInferBench: { timeVariants(l: string, n: number): Promise<unknown> } }).shrinkrayInferBench.timeVariants(level as string, n as number),
          [adapter.level, rounds] as const,
        )) as { adapter: DeviceDescription; variants: VariantTimes[] };
        print(r, rounds, variants);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}

function print(r: { adapter: DeviceDescription; variants: VariantTimes[] }, rounds: number, list: { name: string; accuracy?: number }[]): void {
  console.log(`\nin headless Chromium: ${formatDescription(r.adapter)}`);
  console.log(`forward over ${ROWS} MNIST test rows (read back), best of ${rounds}; predict() on one row; ratios of the best times, then the median of the rounds' own ratios`);
  console.log('| variant | layers run as | accuracy | batch 1024 (ms) | rows/s | vs our dense | batch 1 (ms) |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  const dense = r.variants[0]!;
  for (const v of r.variants) {
    const b = best(v.batch);
    const accuracy = list.find((l) => l.name === v.name)?.accuracy;
    console.log(
      `| ${v.name} | ${v.forms.join(', ')} | ${accuracy === undefined ? '' : `${fmt(accuracy * 100)} %`} | ${fmt(b)} | ${Math.round((ROWS / b) * 1000).toLocaleString('en-US')} | **${fmt(best(dense.batch) / b)}x / ${fmt(paired(dense.batch, v.batch))}x** | ${fmt(best(v.single), 3)} |`,
    );
  }
}
