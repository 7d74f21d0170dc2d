/**
 * Host side of shaders/splitk.wgsl: C = A^T B split along K, for GPUs, where one thread per
 * output of a small, deep product (a convolution's weight gradient) leaves the chip idle. The
 * H200 trained LeNet-5 at 0.52x TF.js WebGPU before this (bench/RESULTS.md); CPU adapters keep the
 * blocked GEMMs, whose threads are few anyway.
 */
import { ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { output, placeholder, requireMatrices, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** K per slice: long enough that a thread's loop hides a load's latency, short enough for many slices. */
const CHUNK = 256;
const MAX_SPLITS = 256;

/** Whether `gemm` splits A^T B along K: on a GPU, for at most 64 Ki outputs and a K of 4,096 or more. */
export function useSplitK(gpu: boolean, M: number, N: number, K: number, transA: boolean, transB: boolean): boolean {
  return gpu && transA && !transB && M * N <= 65_536 && K >= 4096;
}

/** C [M, N] = A^T B for A [K, M] and B [K, N], with B's column sums [N] in `columnSums` when given. */
export function gemmSplitK(a: F32, b: F32, options: { out?: F32; columnSums?: F32; splits?: number } = {}): F32 {
  requireMatrices('gemmSplitK', a, b);
  const [K, M] = a.shape as [number, number];
  const [K2, N] = b.shape as [number, number];
  if (K !== K2) throw new ShapeError(`gemmSplitK: A^T is [${M}, ${K}] but B is [${K2}, ${N}]; inner sizes must match.`);
  if (options.columnSums) requireShape('gemmSplitK', 'columnSums', options.columnSums, [N]);
  const device: Device = a.device;
  const splits = Math.max(1, Math.min(options.splits ?? Math.ceil(K / CHUNK), MAX_SPLITS, K));
  const chunk = Math.ceil(K / splits);
  const sums = options.columnSums ? 1 : 0;
  const rows = M + sums;
  const c = output(device, [M, N], 'f32', options.out, 'gemmSplitK');
  const partial = device.empty([splits, rows, N]);
  const p = { M, N, K, chunk, splits: Math.ceil(K / chunk), sums };
  const kernel = device.kernel('splitk');
  device.dispatch(kernel, 'splitk_partial', { p, a, b, partial }, [Math.ceil((rows * N) / 64), p.splits]);
  device.dispatch(kernel, 'splitk_sum', { p, partial_in: partial, c, sums: options.columnSums ?? placeholder(device, 'f32', 1) }, [Math.ceil((rows * N) / 64)]);
  partial.dispose();
  return c;
}
