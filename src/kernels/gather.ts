/** Host side of shaders/gather.wgsl: picks rows of a matrix by an index tensor (mini-batches). */
import type { Tensor } from '../gpu/tensor.js';
import { output, requireDType, requireRank } from './launch.js';

/**
 * out[r, :] = x[index[r], :]. x is [rows, cols] f32, index is [count] u32; out is [count, cols].
 * An index >= rows gives a row of zeros.
 */
export function gatherRows(x: Tensor<'f32'>, index: Tensor<'u32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  requireRank('gatherRows', 'x', x, 2);
  requireDType('gatherRows', 'x', x, 'f32');
  requireRank('gatherRows', 'index', index, 1);
  requireDType('gatherRows', 'index', index, 'u32');
  const [rows, cols] = x.shape as [number, number];
  const count = index.size;
  const device = x.device;
  const target = output(device, [count, cols], 'f32', out, 'gatherRows');
  const vec = cols % 4 === 0;
  const width = vec ? cols / 4 : cols;
  const suffix = vec ? '4' : '';
  const args = { p: { rows, cols: width, count }, [`x${suffix}`]: x, index, [`out${suffix}`]: target };
  device.dispatch(device.kernel('gather'), vec ? 'gather_rows4' : 'gather_rows', args, [Math.ceil(width / 64), Math.ceil(count / 4)]);
  return target;
}
