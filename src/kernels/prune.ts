/** Host side of shaders/prune.wgsl: exact-count magnitude selection, masks by threshold, column norms, N:M. */
import { grid } from '../gpu/grid.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { linearWorkgroup, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

const base = { n: 0, cols: 1, base: 0, shift: 0, value_mask: 0, value_prefix: 0, index_mask: 0, index_prefix: 0, threshold: 0, power: 1, n_keep: 0, group: 1 };

function launch(device: Device, entry: string, args: Record<string, unknown>, items: number): void {
  const groups = grid(Math.ceil(items / 256), device.gpu.limits.maxComputeWorkgroupsPerDimension);
  device.dispatch(device.kernel('prune'), entry, args as never, groups);
}

/** A key (bits(|w|), global index): weights are ordered by magnitude, ties by index. */
export interface Key {
  bits: number;
  index: number;
}

/**
 * The k-th smallest key (0-based) over all weights of `parts` (each with the global index of its
 * first element), by radix select: one 256-bin histogram per key byte, read back (1 KB) to
 * choose the byte: four magnitude bytes, then the index bytes that can be non-zero.
 */
export async function selectKey(parts: { w: F32; base: number }[], k: number): Promise<Key> {
  const device = parts[0]!.w.device;
  const total = parts.reduce((s, p) => s + p.w.size, 0);
  if (!(Number.isInteger(k) && k >= 0 && k < total)) throw new RangeError(`selectKey: rank ${k} of ${total} keys`);
  const histogram = device.empty([256], 'u32');
  let rank = k;
  const key = { bits: 0, index: 0 };
  let valueMask = 0,
    indexMask = 0;
  const maxIndex = parts.reduce((m, p) => Math.max(m, p.base + p.w.size - 1), 0);
  const indexBytes = maxIndex < 2 ** 8 ? 1 : maxIndex < 2 ** 16 ? 2 : maxIndex < 2 ** 24 ? 3 : 4;
  try {
    for (let shift = 0; shift < 8; shift++) {
      if (shift >= 4 && shift < 8 - indexBytes) {
        indexMask = (indexMask | (0xff << (24 - 8 * (shift - 4)))) >>> 0; // high index bytes are all 0
        continue;
      }
      histogram.write(new Uint32Array(256));
      for (const p of parts)
        launch(
          device,
          'key_histogram',
          {
            p: { ...base, n: p.w.size, base: p.base, shift, value_mask: valueMask, value_prefix: key.bits, index_mask: indexMask, index_prefix: key.index },
            wr: p.w,
            histogram,
          },
          p.w.size,
        );
      const h = await histogram.read();
      let byte = 0;
      while (rank >= h[byte]!) rank -= h[byte++]!;
      if (shift < 4) {
        const s = 24 - 8 * shift;
        key.bits = (key.bits | (byte << s)) >>> 0;
        valueMask = (valueMask | (0xff << s)) >>> 0;
      } else {
        const s = 24 - 8 * (shift - 4);
        key.index = (key.index | (byte << s)) >>> 0;
        indexMask = (indexMask | (0xff << s)) >>> 0;
      }
    }
    return key;
  } finally {
    histogram.dispose();
  }
}

/** Prunes (mask 0, weight 0) every weight whose key is <= `key`; already-pruned weights stay pruned. */
export function maskBelow(w: F32, mask: F32, globalBase: number, key: Key): void {
  requireShape('maskBelow', 'mask', mask, w.shape);
  launch(w.device, 'mask_below', { p: { ...base, n: w.size, base: globalBase, value_prefix: key.bits, index_prefix: key.index }, w, mask }, w.size);
}

/** Prunes every weight with |w| <= threshold. */
export function maskValue(w: F32, mask: F32, threshold: number): void {
  requireShape('maskValue', 'mask', mask, w.shape);
  launch(w.device, 'mask_value', { p: { ...base, n: w.size, threshold }, w, mask }, w.size);
}

/** Sum over rows of |w| (power 1) or w^2 (power 2) for each column of w [rows, cols]. */
export function columnNorms(w: F32, power: 1 | 2): F32 {
  requireRank('columnNorms', 'w', w, 2);
  const cols = w.shape[1]!;
  const norms = w.device.empty([cols]);
  const wg = linearWorkgroup(w.device);
  w.device.dispatch(w.device.kernel('prune'), 'column_norms', { p: { ...base, n: w.size, cols, power }, wr: w, norms }, [Math.ceil(cols / wg)]);
  return norms;
}

/** mask[i, j] *= keep[j]; the weight follows. */
export function columnMask(w: F32, mask: F32, keep: F32): void {
  requireShape('columnMask', 'mask', mask, w.shape);
  requireShape('columnMask', 'keep', keep, [w.shape[1]!]);
  launch(w.device, 'column_mask', { p: { ...base, n: w.size, cols: w.shape[1]! }, w, mask, keep }, w.size);
}

/** mask *= m (a 0/1 tensor of the weight's shape); the weight follows. */
export function applyMask(w: F32, mask: F32, m: F32): void {
  requireShape('applyMask', 'mask', mask, w.shape);
  requireShape('applyMask', 'm', m, w.shape);
  launch(w.device, 'apply_mask', { p: { ...base, n: w.size }, w, mask, keep: m }, w.size);
}

/** Keeps the n largest |w| of each group of m consecutive rows in every column (m <= 32). */
export function nmMask(w: F32, mask: F32, n: number, m: number): void {
  requireShape('nmMask', 'mask', mask, w.shape);
  const [rows, cols] = w.shape as [number, number];
  const items = Math.ceil(rows / m) * cols;
  launch(w.device, 'nm_mask', { p: { ...base, n: w.size, cols, n_keep: n, group: m }, w, mask }, items);
}
