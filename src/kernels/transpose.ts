/** Host side of shaders/transpose.wgsl. */
import type { Tensor } from '../gpu/tensor.js';
import { output, requireDType, requireRank } from './launch.js';

/** out = x^T for a 2D f32 tensor x [rows, cols]; out is [cols, rows]. */
export function transpose(x: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  requireRank('transpose', 'x', x, 2);
  requireDType('transpose', 'x', x, 'f32');
  const [rows, cols] = x.shape as [number, number];
  const device = x.device;
  const target = output(device, [cols, rows], 'f32', out, 'transpose');
  device.dispatch(device.kernel('transpose'), 'transpose', { p: { rows, cols }, x, out: target }, [Math.ceil(rows / 16), Math.ceil(cols / 16)]);
  return target;
}
