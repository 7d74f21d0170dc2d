/** Host side of shaders/transpose.wgsl: transpose and resize (cut or zero-pad) of 2D tensors. */
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../errors.js';
import { output, requireDType, requireRank } from './launch.js';

/** out = x^T for a 2D f32 tensor x [rows, cols]; out is [cols, rows]. */
export function transpose(x: Tensor<'f32'>, out?: Tensor<'f32'>): Tensor<'f32'> {
  requireRank('transpose', 'x', x, 2);
  requireDType('transpose', 'x', x, 'f32');
  const [rows, cols] = x.shape as [number, number];
  const device = x.device;
  const target = output(device, [cols, rows], 'f32', out, 'transpose');
  const p = { rows, cols, out_rows: cols, out_cols: rows };
  // Whole 4 x 4 blocks: vec4 loads and stores (shaders/transpose.wgsl).
  if (rows % 4 === 0 && cols % 4 === 0) device.dispatch(device.kernel('transpose'), 'transpose4', { p, x4: x, out4: target }, [Math.ceil(rows / 64), Math.ceil(cols / 64)]);
  else device.dispatch(device.kernel('transpose'), 'transpose', { p, x, out: target }, [Math.ceil(rows / 16), Math.ceil(cols / 16)]);
  return target;
}

/** x [rows, cols] cut or padded with zeros to [outRows, outCols] (a new tensor unless out is given). */
export function resize(x: Tensor<'f32'>, outRows: number, outCols: number, out?: Tensor<'f32'>): Tensor<'f32'> {
  requireRank('resize', 'x', x, 2);
  requireDType('resize', 'x', x, 'f32');
  const [rows, cols] = x.shape as [number, number];
  if (rows < 1 || cols < 1 || !Number.isInteger(outRows) || !Number.isInteger(outCols) || outRows < 1 || outCols < 1)
    throw new ShapeError(`resize: [${rows}, ${cols}] to [${outRows}, ${outCols}] needs positive whole sizes.`);
  const device = x.device;
  const target = output(device, [outRows, outCols], 'f32', out, 'resize');
  device.dispatch(device.kernel('transpose'), 'resize', { p: { rows, cols, out_rows: outRows, out_cols: outCols }, x, out: target }, [Math.ceil(outCols / 16), Math.ceil(outRows / 16)]);
  return target;
}
