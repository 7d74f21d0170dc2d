/**
 * BENCH_ONLY=browser-infer npm run bench: the infer benchmark's forward passes in headless
 * Chromium (Debian's, through playwright-core), on navigator.gpu: SwiftShader (Dawn's Vulkan
 * backend, core level) and ANGLE's OpenGL ES on Mesa (compatibility level). The same models
 * (INFER_MODELS=DIR, default shrinkray-report) and the same 1,024 MNIST test rows; each variant
 * against our dense model in the same page, as best-time ratios and medians of the rounds' own
 * ratios (bench/rounds.ts). ROUNDS (default 5) timed rounds after a warm-up.
 */
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { loadMnist } from '../src/data/mnist.js';
import { formatDescription } from '../src/gpu/describe.js';
import type { DeviceDescription } from '../src/gpu/adapter.js';
// @ts-expect-error: a plain .mjs build script without types
import { buildBrowser } from '../scripts/build-browser.mjs';
import { fmt } from './common.js';
import type { VariantTimes } from './browser/infer-page.js';
import { reportVariants } from './infer.bench.js';
import { best, paired } from './rounds.js';

const ROWS = 1024;
const CHROMIUM = process.env.SHRINKRAY_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
// Without --enable-webgpu-developer-features Chromium hides the ANGLE adapter's name (llvmpipe
// underneath), so the library takes it for a GPU and runs the GEMM kernel meant for one: the
// dense model took 409 ms there against 15-20 ms as a CPU adapter (bench/RESULTS.md).
const ADAPTERS: { level: 'core' | 'compatibility'; flags: string[] }[] = [
  { level: 'core', flags: [] },
  { level: 'compatibility', flags: ['--use-angle=gles-egl', '--use-webgpu-adapter=opengles', '--enable-webgpu-developer-features'] },
];

export async function benchBrowserInfer(): Promise<void> {
  const dir = resolve(process.env.INFER_MODELS ?? 'shrinkray-report');
  if (!existsSync(join(dir, 'models'))) {
    console.log(`no models in ${dir}/models: run \`npm start\` (or set INFER_MODELS to a report directory) first`);
    return;
  }
  const rounds = Number(process.env.ROUNDS ?? 5);
  const variants = reportVariants(dir);
  const out = resolve('node_modules/.cache/shrinkray-bench/browser-infer');
  mkdirSync(out, { recursive: true });
  await buildBrowser(join(out, 'page.js'), 'bench/browser/infer-page.ts');
  const rows = loadMnist('test').features.slice(0, ROWS * 784);
  const files: Record<string, { type: string; body: () => Buffer | string }> = {
    '/': { type: 'text/html', body: () => '<!doctype html><meta charset="utf-8"><title>shrinkray infer bench</title><script type="module" src="/page.js"></script>' },
    '/page.js': { type: 'text/javascript', body: () => readFileSync(join(out, 'page.js')) },
    '/variants.json': { type: 'application/json', body: () => JSON.stringify(variants) },
    '/rows.bin': { type: 'application/octet-stream', body: () => Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength) },
  };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const known = files[path];
    if (known) return void res.writeHead(200, { 'content-type': known.type }).end(known.body());
    // The model files named in variants.json, and nothing else of the report's folder.
    const model = variants.find((v) => `/${v.file}` === path);
    if (model) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(join(dir, model.file)));
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    for (const adapter of ADAPTERS) {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...adapter.flags], headless: true });
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
