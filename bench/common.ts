/** Shared by the benchmarks: the device under test, TF.js's WebGPU backend on the same GPUDevice, and timing. */
import { Bench } from 'tinybench';
import { createDevice } from '../src/gpu/create-device.js';
import type { Device } from '../src/gpu/device.js';
import { formatDescription } from '../src/gpu/describe.js';
import type { Backend } from '../src/gpu/backend.js';

export type Tf = typeof import('@tensorflow/tfjs-core');

/** The device named by SHRINKRAY_BACKEND (default: what createDevice picks), described on stdout. */
export async function benchDevice(): Promise<Device> {
  const device = await createDevice({ backend: (process.env.SHRINKRAY_BACKEND as Backend | undefined) ?? 'auto' });
  console.log(`adapter: ${formatDescription(device.describe())}`);
  console.log(`date: ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
  return device;
}

/**
 * TF.js 4.22's WebGPU backend built on our own GPUDevice, so both libraries run on the very same
 * adapter and device in the same process.
 */
export async function tfOnDevice(device: Device): Promise<Tf> {
  // TF.js only checks that navigator.gpu exists (Node 20 has no navigator); it then uses the
  // GPUDevice we hand it and never calls navigator.gpu itself.
  (globalThis as { navigator?: unknown }).navigator ??= { userAgent: 'node', gpu: {} };
  const tf = await import('@tensorflow/tfjs-core');
  if (!gradientsRegistered) await registerTfGradients();
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Its kernels are registered under the name 'webgpu': replace that backend's factory with ours.
  // (A benchmark earlier in the same process may have removed it already.)
  if (tf.engine().registryFactory.webgpu) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device.gpu, device.adapter?.info));
  await tf.setBackend('webgpu');
  await tf.ready();
  return tf;
}

/**
 * Mean seconds per call of each task, measured with tinybench, after one untimed warm-up call
 * each (it compiles the pipelines) unless warm is false.
 */
export async function timeTasks(tasks: Record<string, () => Promise<unknown>>, options: { time?: number; iterations?: number; warm?: boolean } = {}): Promise<Record<string, number>> {
  const bench = new Bench({ time: options.time ?? 400, iterations: options.iterations ?? 3, warmup: false });
  for (const [name, fn] of Object.entries(tasks)) {
    if (options.warm ?? true) await fn();
    bench.add(name, fn);
  }
  await bench.run();
  const out: Record<string, number> = {};
  for (const task of bench.tasks) {
    const r = task.result as { state?: string; latency?: { mean: number }; error?: unknown };
    if (!r.latency) throw new Error(`benchmark task ${task.name} failed: ${String(r.error)}`);
    out[task.name] = r.latency.mean / 1000;
  }
  return out;
}

/**
 * TF.js's wasm backend (XNNPACK, one thread in Node), registered beside the WebGPU one: the
 * fastest TF.js backend on a machine without a GPU. Null where its package is absent (GPU runs).
 */
export async function tfWasm(tf: Tf): Promise<boolean> {
  try {
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    const require = createRequire(import.meta.url);
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

let gradientsRegistered = false;
/** For bundles (bench/device) that import TF.js's gradients themselves. */
export function markTfGradientsRegistered(): void {
  gradientsRegistered = true;
}

/**
 * tfjs-core's Node build registers no gradients, and its ESM files use directory imports that
 * Node refuses; esbuild bundles them once. TF.js keeps its gradient registry on globalThis, so
 * the bundle's registrations reach the tfjs-core we imported.
 */
async function registerTfGradients(): Promise<void> {
  const { build } = await import('esbuild');
  const { createRequire } = await import('node:module');
  const outfile = 'node_modules/.cache/shrinkray-bench/tfjs-gradients.mjs';
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'error' });
  const { pathToFileURL } = await import('node:url');
  const { resolve } = await import('node:path');
  await import(pathToFileURL(resolve(outfile)).href);
  gradientsRegistered = true;
}

export function fmt(x: number, digits = 2): string {
  return x.toFixed(digits);
}
