/**
 * Whether a device runs kernels as a CPU adapter does, measured, for adapters that give no name
 * to tell (backend.ts: isCpuAdapter reads names). Chromium hides the adapter's vendor,
 * architecture and description unless it runs with --enable-webgpu-developer-features; WebGPU
 * over ANGLE on a CPU's OpenGL (Mesa llvmpipe) then looked like a GPU, and a dense forward pass
 * ran the GEMM version meant for GPUs: 408.7 ms against 15.1 (bench/RESULTS.md, session 14).
 */
import type { Device } from './device.js';

/** The product timed: n^3 with n = 128, where a GPU runs either version in about one launch's time. */
const SIZE = 128;
/** How much faster the blocked version must run for the device to count as a CPU: a GPU's two launches differ by noise, far under this. */
const MARGIN = 2;

/**
 * Times shaders/probe.wgsl's product with a 4 x 4 block an invocation against one output an
 * invocation, best of three after a warm-up each, and says whether the block is at least twice
 * as fast, as on CPU adapters.
 */
export async function runsLikeCpu(device: Device): Promise<boolean> {
  const values = Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i % 7) / 7);
  const [a, b, c] = [device.tensor(values, [SIZE, SIZE]), device.tensor(values, [SIZE, SIZE]), device.empty([SIZE, SIZE])];
  const kernel = device.kernel('probe');
  const time = async (entry: 'one_output' | 'block_4x4', args: object, invocations: number): Promise<number> => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 4; round++) {
      const start = performance.now();
      device.dispatch(kernel, entry, { p: { n: SIZE }, ...args }, [Math.ceil(invocations / 64)]);
      await device.sync();
      if (round > 0) best = Math.min(best, performance.now() - start);
    }
    return best;
  };
  try {
    const block = await time('block_4x4', { a4: a, b4: b, c4: c }, (SIZE * SIZE) / 16);
    const one = await time('one_output', { a1: a, b1: b, c1: c }, SIZE * SIZE);
    return block * MARGIN < one;
  } finally {
    for (const t of [a, b, c]) t.dispose();
  }
}
