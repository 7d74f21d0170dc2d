import { ShapeError } from '../errors.js';
import { grid } from '../gpu/grid.js';
import type { Device } from '../gpu/device.js';
import type { KernelArgs } from '../gpu/kernel.js';
import type { DType, Tensor } from '../gpu/tensor.js';

/** Threads per workgroup for 1D kernels: 256, or less where the device allows less. */
export function linearWorkgroup(device: Device): number {
  return Math.min(256, device.gpu.limits.maxComputeInvocationsPerWorkgroup, device.gpu.limits.maxComputeWorkgroupSizeX);
}

/**
 * Dispatches `entry` with one invocation per item (the shader folds a 2D grid back into a
 * linear index with num_workgroups and override WG).
 */
export function dispatchLinear(device: Device, family: string, entry: string, args: KernelArgs, items: number): void {
  const wg = linearWorkgroup(device);
  const groups = grid(Math.ceil(items / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension);
  device.dispatch(device.kernel(family), entry, args, groups, { WG: wg });
}

/**
 * Workgroups and the WG and CHUNK overrides of the block-sparse, packed and column-list kernels
 * for `groups` column groups (or units) by `blocks` row blocks (shaders/_chunk.wgsl): a group
 * takes 8 row blocks at a time, or 1 under 8 row blocks so the lanes take neighbouring groups
 * instead of idling.
 */
export function chunkedGrid(device: Device, groups: number, blocks: number): { workgroups: number[]; overrides: { WG: number; CHUNK: number } } {
  const WG = Math.min(64, linearWorkgroup(device));
  const CHUNK = blocks >= 8 ? 8 : 1;
  const invocations = groups * Math.ceil(blocks / CHUNK) * CHUNK;
  return { workgroups: grid(Math.ceil(invocations / WG), device.gpu.limits.maxComputeWorkgroupsPerDimension), overrides: { WG, CHUNK } };
}

/**
 * The ROW_QUADS override of a kernel that takes `perInvocation` rows an invocation (mat_nn 16,
 * packed 12, block-sparse 32): all its quads, or under that many rows only the quads the rows
 * fill (at batch 1 every lane had computed all of them from copies of its one row).
 */
export function rowQuads(rows: number, perInvocation: number): number {
  return Math.min(perInvocation, Math.ceil(rows / 4) * 4) / 4;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Returns `out`, or a new tensor of `shape`; checks a given out's shape and dtype. */
export function output<D extends DType>(device: Device, shape: readonly number[], dtype: D, out: Tensor<D> | undefined, op: string): Tensor<D> {
  if (!out) return device.empty(shape, dtype);
  if (!sameShape(out.shape, shape) || out.dtype !== dtype) throw new ShapeError(`${op}: out is ${out.dtype} [${out.shape.join(', ')}], expected ${dtype} [${shape.join(', ')}].`);
  return out;
}

export function requireShape(op: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (!sameShape(t.shape, shape)) throw new ShapeError(`${op}: ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`);
}

export function requireRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new ShapeError(`${op}: ${name} must have rank ${rank}, got shape [${t.shape.join(', ')}].`);
}

export function requireDType(op: string, name: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new ShapeError(`${op}: ${name} must be ${dtype}, got ${t.dtype}.`);
}

/** A and B of a matrix product: 2D f32 tensors. */
export function requireMatrices(op: string, a: Tensor, b: Tensor): void {
  requireRank(op, 'A', a, 2);
  requireRank(op, 'B', b, 2);
  requireDType(op, 'A', a, 'f32');
  requireDType(op, 'B', b, 'f32');
}

const placeholders = new WeakMap<Device, Map<string, Tensor>>();

/**
 * A small tensor for bindings a dispatch declares but does not use (a bias when there is none,
 * labels when alpha = 1): WebGPU still wants something bound. One per device, dtype and number;
 * a writable binding takes another number than the read ones of the same dispatch, since a
 * buffer may not be bound writable and read at once.
 */
export function placeholder<D extends DType>(device: Device, dtype: D, number = 0): Tensor<D> {
  let byKey = placeholders.get(device);
  if (!byKey) placeholders.set(device, (byKey = new Map()));
  const key = `${dtype}${number}`;
  let t = byKey.get(key) as Tensor<D> | undefined;
  if (!t || t.disposed) byKey.set(key, (t = device.empty([4], dtype)));
  return t;
}
