/**
 * The one shared kernel-test helper: devices for each CPU adapter present, seeded random
 * inputs, NaN-poisoned outputs (an unwritten element fails), and a relative-error check
 * against a float64 reference written plainly in the test.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { createDevice } from '../src/gpu/create-device.js';
import type { Device } from '../src/gpu/device.js';
import type { Backend } from '../src/gpu/backend.js';
import { swiftShaderIcd } from '../src/gpu/dawn.js';
import { Random } from '../src/random.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { resize } from '../src/kernels/transpose.js';

/** Adapters the kernel tests run on: llvmpipe always; SwiftShader when Chromium's ICD is installed. */
export function testBackends(): Backend[] {
  const only = process.env.SHRINKRAY_TEST_BACKENDS;
  if (only) return only.split(',') as Backend[];
  return swiftShaderIcd() ? ['llvmpipe', 'swiftshader'] : ['llvmpipe'];
}

/** Creates a device before the suite's tests and destroys it after; read `.device` inside tests. */
export function useDevice(backend: Backend = 'llvmpipe'): { device: Device } {
  const holder = {} as { device: Device };
  beforeAll(async () => {
    holder.device = await createDevice({ backend });
  });
  afterAll(() => holder.device?.destroy());
  return holder;
}

export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = new Random(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.uniform(lo, hi);
  return a;
}

/** A tensor filled with NaN, so an element the kernel fails to write shows up in the check. */
export function poisoned(device: Device, shape: number[]): Tensor<'f32'> {
  const size = shape.reduce((a, b) => a * b, 1);
  return device.tensor(new Float32Array(size).fill(NaN), shape);
}

/**
 * Zeros every weight of w [K, N] outside the 4 x 4 blocks kept at random with probability
 * `fill` (seeded); the first group of units keeps no block (a group with no blocks at all), unless
 * N <= 4 and fill is 1 (then every block is kept).
 */
export function keepRandomBlocks(w: Float32Array | Int32Array, K: number, N: number, fill: number, seed: number): void {
  const keep = randomArray(Math.ceil(K / 4) * Math.ceil(N / 4), seed, 0, 1);
  const gc = Math.ceil(N / 4);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) if (!((keep[Math.floor(k / 4) * gc + Math.floor(n / 4)]! < fill && n >= 4) || (N <= 4 && fill === 1))) w[k * N + n] = 0;
}

/**
 * tanh(x w + bias) in float64 for x [rows, K] and w(k, n) over N units, laid out [rows, width]
 * (width >= N: the kernels' padded columns, where the sum is 0).
 */
export function refTanhLayer(x: ArrayLike<number>, rows: number, K: number, N: number, w: (k: number, n: number) => number, bias: ArrayLike<number>, width = N): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++)
    for (let n = 0; n < width; n++) {
      let s = n < N ? bias[n]! : 0;
      for (let k = 0; k < K && n < N; k++) s += x[r * K + k]! * w(k, n);
      out.push(Math.tanh(s));
    }
  return out;
}

/**
 * A tanh layer kernel against float64: `layer` runs on x [rows, K] zero-padded to `kp` inputs and
 * the bias zero-padded to `np` units, into a NaN-poisoned out [rows, np]; out must be
 * refTanhLayer's values (weight(k, n) the layer's weights) within 1e-5.
 */
export async function expectTanhLayer(
  device: Device,
  s: { x: Float32Array; rows: number; K: number; N: number; kp: number; np: number; bias: Float32Array; weight: (k: number, n: number) => number },
  layer: (x: Tensor<'f32'>, bias: Tensor<'f32'>, out: Tensor<'f32'>) => void,
): Promise<void> {
  const out = poisoned(device, [s.rows, s.np]);
  layer(resize(device.tensor(s.x, [s.rows, s.K]), s.rows, s.kp), resize(device.tensor(s.bias, [1, s.N]), 1, s.np).reshape([s.np]), out);
  expect(relativeError(await out.read(), refTanhLayer(s.x, s.rows, s.K, s.N, s.weight, s.bias, s.np))).toBeLessThan(1e-5);
}

/** ||actual - expected|| / ||expected||, Infinity when anything is not finite or lengths differ. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(a)) return Infinity;
    num += (a - e) ** 2;
    den += e * e;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Reads `tensor` and asserts its relative error against the float64 reference. */
export async function expectClose(tensor: Tensor, expected: ArrayLike<number>, tolerance = 1e-6): Promise<void> {
  const actual = await tensor.read();
  expect(actual.length).toBe(expected.length);
  const err = relativeError(actual, expected);
  expect(err, `relative error ${err}`).toBeLessThan(tolerance);
}

/** [rows, cols] row-major as [cols, rows] (PyTorch's Linear [out, in] as ONNX Gemm's [in, out]). */
export function transposeOf(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}
