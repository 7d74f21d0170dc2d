/**
 * Whether a device runs our kernels as a CPU adapter does, measured, for adapters that give no
 * name to tell (backend.ts: isCpuAdapter reads names). Chromium hides the adapter's vendor,
 * architecture and description unless it runs with --enable-webgpu-developer-features; WebGPU
 * over ANGLE on a CPU's OpenGL (Mesa llvmpipe) then looked like a GPU, and a dense forward pass
 * ran the GEMM version meant for GPUs: 408.7 ms against 15.1 (bench/RESULTS.md, session 14).
 */
import type { Device } from '../gpu/device.js';
import { gemm, type GemmVariant } from './gemm.js';

/** The product timed: 128^3, where on CPU adapters the versions differ 7x (llvmpipe) to 12x (SwiftShader) and a GPU runs either in one launch's time. */
const SIZE = 128;
/** How much faster the CPU version must run for the device to count as a CPU: a GPU's two launches differ by noise, far under this. */
const MARGIN = 2;

/**
 * Times the GEMM version CPU adapters run (mat_nn: 16 x 8 outputs an invocation, read as
 * textures) against the one GPUs run on small products (naive: one output an invocation), best
 * of three after a warm-up each, and says whether the first is at least twice as fast. About
 * 30 ms on llvmpipe, 140 ms on SwiftShader.
 */
export async function runsLikeCpu(device: Device): Promise<boolean> {
  const values = Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i % 7) / 7);
  const a = device.tensor(values, [SIZE, SIZE]);
  const time = async (variant: GemmVariant): Promise<number> => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 4; round++) {
      const start = performance.now();
      const c = gemm(a, a, { variant });
      await device.sync();
      if (round > 0) best = Math.min(best, performance.now() - start);
      c.dispose();
    }
    return best;
  };
  try {
    const cpuVersion = await time('mat_nn');
    const gpuVersion = await time('naive');
    return cpuVersion * MARGIN < gpuVersion;
  } finally {
    a.dispose();
  }
}
