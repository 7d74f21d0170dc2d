/** Host side of shaders/reduce.wgsl: sum, min and max over all elements, rows or columns. */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { grid } from '../gpu/grid.js';
import type { Tensor } from '../gpu/tensor.js';
import { linearWorkgroup, output, requireDType, requireRank } from './launch.js';

type F32 = Tensor<'f32'>;

/** Operation codes shared with the OP override in shaders/reduce.wgsl. */
export const REDUCE_OPS = { sum: 0, min: 1, max: 2 } as const;
export type ReduceOp = keyof typeof REDUCE_OPS;
export type ReduceAxis = 'all' | 'rows' | 'cols';

/** Elements each workgroup of the first reduce_all pass folds, at most. */
const ALL_CHUNK = 4096;

function powerOfTwoWorkgroup(t: F32): number {
  return 2 ** Math.floor(Math.log2(linearWorkgroup(t.device)));
}

function reduceRows(x: F32, rows: number, cols: number, n: number, op: ReduceOp, out: F32): F32 {
  const device = x.device;
  const WG = powerOfTwoWorkgroup(x);
  const groups = grid(rows, device.gpu.limits.maxComputeWorkgroupsPerDimension);
  device.dispatch(device.kernel('reduce'), 'reduce_rows', { p: { rows, cols, n }, x, out }, groups, { OP: REDUCE_OPS[op], WG });
  return out;
}

/**
 * Reduces x with op: 'all' gives shape [1]; 'rows' one value per row of a 2D x ([rows]);
 * 'cols' one value per column ([cols]).
 */
export function reduce(x: F32, op: ReduceOp, axis: ReduceAxis = 'all', out?: F32): F32 {
  requireDType('reduce', 'x', x, 'f32');
  if (!(op in REDUCE_OPS)) throw new InvalidArgumentError(`reduce: unknown op '${op}' (use sum, min, max).`);
  if (x.size === 0) throw new ShapeError(`reduce: cannot ${op} an empty tensor [${x.shape.join(', ')}].`);
  const device = x.device;
  if (axis === 'all') {
    const target = output(device, [1], 'f32', out, 'reduce');
    const groups = Math.min(256, Math.ceil(x.size / ALL_CHUNK));
    if (groups === 1) return reduceRows(x, 1, x.size, x.size, op, target);
    const chunk = Math.ceil(x.size / groups);
    const partial = reduceRows(x, groups, chunk, x.size, op, device.empty([groups]));
    reduceRows(partial, 1, groups, groups, op, target);
    partial.dispose(); // safe: the pool reuses it only for work recorded after this point
    return target;
  }
  requireRank('reduce', 'x', x, 2);
  const [rows, cols] = x.shape as [number, number];
  if (axis === 'rows') return reduceRows(x, rows, cols, x.size, op, output(device, [rows], 'f32', out, 'reduce'));
  if (axis !== 'cols') throw new InvalidArgumentError(`reduce: unknown axis '${axis}' (use all, rows, cols).`);
  const target = output(device, [cols], 'f32', out, 'reduce');
  const WG = linearWorkgroup(device);
  device.dispatch(device.kernel('reduce'), 'reduce_cols', { p: { rows, cols, n: x.size }, x, out: target }, [Math.ceil(cols / WG)], {
    OP: REDUCE_OPS[op],
    WG,
  });
  return target;
}

export const sum = (x: F32, axis: ReduceAxis = 'all', out?: F32): F32 => reduce(x, 'sum', axis, out);
export const min = (x: F32, axis: ReduceAxis = 'all', out?: F32): F32 => reduce(x, 'min', axis, out);
export const max = (x: F32, axis: ReduceAxis = 'all', out?: F32): F32 => reduce(x, 'max', axis, out);
