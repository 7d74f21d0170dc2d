/**
 * Whether a device runs kernels as a CPU adapter does, measured, for adapters that give no name
 * to tell (backend.ts: isCpuAdapter reads names). Chromium hides the adapter's vendor,
 * architecture and description unless it runs with --enable-webgpu-developer-features; WebGPU
 * over ANGLE on a CPU's OpenGL (Mesa llvmpipe) then looked like a GPU, and a dense forward pass
 * ran the GEMM version meant for GPUs: 408.7 ms against 15.1 (bench/RESULTS.md, session 14).
 */
import type { Device } from './device.js';
import type { KernelArgs } from './kernel.js';

/** The product timed: n^3 with n = 128, where a GPU runs either version in about one launch's time. */
const SIZE = 128;
/** How much faster the blocked version must run for the device to count as a CPU: a GPU's two launches differ by noise, far under this. */
const MARGIN = 2;
/** Timed rounds after a warm-up; each round times both versions, in turn first, so that a burst of load elsewhere falls on both. */
const ROUNDS = 5;
/**
 * Products a round submits before it waits: the wait costs about a millisecond in Chromium
 * (ANGLE on llvmpipe), as much as one blocked product, and one product a round read 2.5x there
 * against 3.6x in Node.
 */
const REPEATS = 4;

/** What the probe measured: the best round of each version, and the verdict. */
export interface CpuProbe {
  /** Milliseconds of REPEATS products with a 4 x 4 block an invocation (the best round, launches and wait included). */
  blockMs: number;
  /** Milliseconds of REPEATS products with one output an invocation. */
  oneMs: number;
  /** Whether the blocked product ran at least MARGIN times as fast, as on CPU adapters. */
  cpu: boolean;
}

/**
 * Times shaders/probe.wgsl's product with a 4 x 4 block an invocation against one output an
 * invocation, in alternating rounds after a warm-up, and keeps each one's best round.
 */
export async function probeCpu(device: Device): Promise<CpuProbe> {
  const values = Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i % 7) / 7);
  const [a, b, c] = [device.tensor(values, [SIZE, SIZE]), device.tensor(values, [SIZE, SIZE]), device.empty([SIZE, SIZE])];
  const kernel = device.kernel('probe');
  const versions: { entry: string; args: KernelArgs; invocations: number; best: number }[] = [
    { entry: 'block_4x4', args: { a4: a, b4: b, c4: c }, invocations: (SIZE * SIZE) / 16, best: Number.POSITIVE_INFINITY },
    { entry: 'one_output', args: { a1: a, b1: b, c1: c }, invocations: SIZE * SIZE, best: Number.POSITIVE_INFINITY },
  ];
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const v of round % 2 ? versions : [...versions].reverse()) {
        const start = performance.now();
        for (let r = 0; r < REPEATS; r++) device.dispatch(kernel, v.entry, { p: { n: SIZE }, ...v.args }, [Math.ceil(v.invocations / 64)]);
        await device.sync();
        if (round > 0) v.best = Math.min(v.best, performance.now() - start);
      }
    }
  } finally {
    for (const t of [a, b, c]) t.dispose();
  }
  const [blockMs, oneMs] = versions.map((v) => v.best) as [number, number];
  return { blockMs, oneMs, cpu: blockMs * MARGIN < oneMs };
}
