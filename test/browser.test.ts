/**
 * The library in a real headless browser: Debian's Chromium driven by playwright-core, WebGPU on
 * SwiftShader (core level) and on ANGLE's OpenGL ES (compatibility level). The kernel reference
 * checks (test/browser/checks.ts, bundled with the browser build's rules) and a short training run
 * execute in the page.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
// @ts-expect-error: a plain .mjs build script without types
import { buildBrowser } from '../scripts/build-browser.mjs';
// @ts-expect-error: a plain .mjs script without types
import { buildDemo, serve } from '../scripts/demo.mjs';
// @ts-expect-error: a plain .mjs script without types
import { ANGLE_GLES_FLAGS, CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.mjs';

let dir: string;
let server: Server;
let origin: string;

/** Serves the bundle and a page that loads it, from a temporary folder. */
beforeAll(async () => {
  mkdirSync('node_modules/.cache', { recursive: true });
  dir = resolve(mkdtempSync('node_modules/.cache/shrinkray-page-'));
  await buildBrowser(join(dir, 'checks.js'), 'test/browser/checks.ts');
  const page = '<!doctype html><meta charset="utf-8"><title>shrinkray checks</title><script type="module" src="/checks.js"></script>';
  server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (req.url === '/checks.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(dir, 'checks.js')));
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  rmSync(dir, { recursive: true, force: true });
});

async function withPage<T>(flags: string[], fn: (page: import('playwright-core').Page) => Promise<T>, url = `${origin}/`, ready = () => 'shrinkrayChecks' in globalThis): Promise<T> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...flags], headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(ready, null, { timeout: 60_000 });
    const result = await fn(page);
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser.close();
  }
}

/** What the test page puts on globalThis (types only: evaluate() sends the function's source to the page). */
type InPage = { shrinkrayChecks: { runChecks(level?: string): Promise<unknown>; trainCheck(): Promise<unknown>; formatCheck(): Promise<unknown> } };
type Checks = {
  adapter: { backend: string; featureLevel: string; adapter: string; adapterNamed: boolean; cpuFallback: boolean; cpuProbe?: { blockMs: number; oneMs: number } };
  checks: { name: string; error: number; tolerance: number }[];
};

describe('in headless Chromium', () => {
  it('core level (SwiftShader): GEMM, loss and optimizer checks against float64, then a training run', async () => {
    await withPage([], async (page) => {
      const r = (await page.evaluate(() => (globalThis as unknown as InPage).shrinkrayChecks.runChecks())) as Checks;
      expect(r.adapter.backend).toBe('browser');
      expect(r.adapter.featureLevel).toBe('core');
      expect(r.checks.length).toBeGreaterThanOrEqual(30); // every GEMM version on 9 problems, 2 loss, 4 step, 2 compressed-inference checks
      expect(r.checks.filter((c) => c.name.startsWith('batch norm')).length).toBe(8); // batchNormChecks: inference, 3 weight gradients, 2 x (gamma, beta)
      for (const c of r.checks) expect(c.error, c.name).toBeLessThan(c.tolerance);
      const t = (await page.evaluate(() => (globalThis as unknown as InPage).shrinkrayChecks.trainCheck())) as { accuracy: number };
      expect(t.accuracy).toBeGreaterThan(0.85);
      // The compressed format's decoder in the bundle: the same predictions, the size is the bytes.
      const f = (await page.evaluate(() => (globalThis as unknown as InPage).shrinkrayChecks.formatCheck())) as { bytes: number; predicted: number; same: boolean };
      expect(f.same).toBe(true);
      expect(f.predicted).toBe(f.bytes);
    });
  }, 240_000);

  it('compatibility level (ANGLE on OpenGL ES): the same kernel checks', async () => {
    await withPage(ANGLE_GLES_FLAGS, async (page) => {
      const r = (await page.evaluate(() => (globalThis as unknown as InPage).shrinkrayChecks.runChecks('compatibility'))) as Checks;
      expect(r.adapter.featureLevel).toBe('compatibility');
      // Without --enable-webgpu-developer-features Chromium names no adapter: llvmpipe under ANGLE is told from a GPU by timing.
      expect(r.adapter.adapterNamed).toBe(false);
      expect(r.adapter.cpuFallback, JSON.stringify(r.adapter.cpuProbe)).toBe(true);
      expect(r.checks.filter((c) => c.name.startsWith('batch norm')).length).toBe(8);
      for (const c of r.checks) expect(c.error, c.name).toBeLessThan(c.tolerance);
    });
  }, 240_000);
});

describe('the demo page (npm run demo), driven in headless Chromium', () => {
  it.each(['mlp', 'cnn'])(
    '%s: trains with live charts, prunes and quantizes into variants, and classifies a drawn digit',
    async (arch) => {
      const demoDir = join(dir, `demo-${arch}`);
      await buildDemo(demoDir);
      const demo = await serve(demoDir, 0);
      const url = `http://127.0.0.1:${(demo.address() as { port: number }).port}/?epochs=2&rows=1000&arch=${arch}`;
      try {
        await withPage(
          [],
          async (page) => {
            const state = (s: string) =>
              page.waitForFunction((want) => document.getElementById('status')!.dataset.state === want || document.getElementById('status')!.dataset.state === 'error', s, { timeout: 180_000 });
            await page.click('#train');
            await state('trained');
            expect(await page.textContent('#status')).toMatch(/^trained: test accuracy \d+\.\d %$/);
            // The live curves: a loss line and an accuracy line, one point per epoch each.
            expect(await page.locator('#curves svg [aria-roledescription="line mark"]').count()).toBe(2);
            expect(await page.locator('#curves svg [aria-roledescription="point"]').count()).toBe(4);
            await page.click('#compress');
            await state('compressed');
            const names = await page.locator('#variants tbody tr td:first-child').allTextContents();
            expect(names).toEqual(['dense', 'int8', arch === 'cnn' ? 'pruned 70 %' : 'pruned 90 %', 'pruned + int4', 'pruned + k-means 4-bit']);
            expect(await page.locator('#pareto svg [aria-roledescription="point"]').count()).toBe(5);
            expect(await page.locator('#pareto svg [aria-roledescription="rule mark"]').count()).toBe(5); // each with its interval
            // Sizes are the models' file bytes: each compression step makes the file smaller.
            const bytes = (await page.locator('#variants tbody tr td:nth-child(2)').allTextContents()).map((t) => Number(t.replace(/[, B]/g, '')));
            // (The network's files carry its layer list and, dense, its batch norms: a larger share of a smaller file.)
            expect(bytes[1]).toBeLessThan(bytes[0]! / (arch === 'cnn' ? 3 : 3.5));
            expect(bytes[3]).toBeLessThan(bytes[2]!);
            expect(bytes[2]).toBeLessThan(bytes[0]! / (arch === 'cnn' ? 2.5 : 5)); // 30 % or 10 % of the weights kept
            for (const acc of await page.locator('#variants tbody tr td:nth-child(3)').allTextContents()) expect(parseFloat(acc)).toBeGreaterThan(50);
            // Predict on an empty pad asks for a digit instead of answering.
            await page.click('#predict');
            await state('empty');
            expect(await page.textContent('#status')).toMatch(/draw a digit/);
            expect(await page.locator('#variants tbody tr td.digit').allTextContents()).toEqual(['–', '–', '–', '–', '–']);
            // Draw a "1": a vertical stroke on the pad.
            await page.locator('#pad').scrollIntoViewIfNeeded();
            const box = (await page.locator('#pad').boundingBox())!;
            await page.mouse.move(box.x + 140, box.y + 40);
            await page.mouse.down();
            for (let y = 40; y <= 240; y += 10) await page.mouse.move(box.x + 140 + (y - 40) / 20, box.y + y);
            await page.mouse.up();
            const ink = await page.evaluate(() => {
              const pad = document.getElementById('pad') as HTMLCanvasElement;
              return pad
                .getContext('2d')!
                .getImageData(0, 0, pad.width, pad.height)
                .data.filter((v, i) => i % 4 === 0 && v > 0).length;
            });
            expect(ink).toBeGreaterThan(1000); // the stroke is on the pad
            await page.click('#predict');
            await state('predicted');
            const digits = await page.locator('#variants tbody tr td.digit').allTextContents();
            expect(digits).toHaveLength(5);
            for (const d of digits) expect(d).toMatch(/^[0-9]$/);
            expect(digits.filter((d) => d === '1').length).toBeGreaterThanOrEqual(4);
            // A confident answer, not the near-uniform output of an empty image.
            expect(parseFloat((await page.locator('#variants tbody tr td.confidence').allTextContents())[0]!)).toBeGreaterThan(40);
            const shot = await page.screenshot({ path: join(process.env.SHRINKRAY_SCREENSHOT_DIR ?? dir, `demo-${arch}.png`), fullPage: true });
            expect(shot.subarray(1, 4).toString()).toBe('PNG');
            // The chart regions hold drawn charts, not blank boxes (a blank box compresses to little).
            for (const id of ['#curves', '#pareto']) expect((await page.locator(id).screenshot()).length, id).toBeGreaterThan(8000);
          },
          url,
          () => document.getElementById('status')?.dataset.state === 'ready',
        );
      } finally {
        await new Promise((ok) => demo.close(ok));
      }
    },
    300_000,
  );
});
