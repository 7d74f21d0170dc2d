/** Host side of shaders/gather.wgsl: picks rows by an index tensor (mini-batches from a dataset on the GPU). */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { output, placeholder, requireDType, requireRank, requireShape } from './launch.js';

export interface GatherOptions {
  /** First entry of index to use (default 0). */
  offset?: number;
  /** How many rows to gather (default: the rest of index after offset). */
  count?: number;
}

function span(index: Tensor<'u32'>, options: GatherOptions): { offset: number; count: number } {
  requireRank('gather', 'index', index, 1);
  requireDType('gather', 'index', index, 'u32');
  const offset = options.offset ?? 0;
  const count = options.count ?? index.size - offset;
  if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 1 || offset + count > index.size)
    throw new ShapeError(`gather: offset ${offset} and count ${count} do not fit an index of ${index.size} entries.`);
  return { offset, count };
}

/**
 * out[r, :] = x[index[offset + r], :] for f32 x [rows, cols]; out is [count, cols].
 * An index >= rows gives a row of zeros.
 */
export function gatherRows(x: Tensor<'f32'>, index: Tensor<'u32'>, options: GatherOptions & { out?: Tensor<'f32'> } = {}): Tensor<'f32'> {
  requireRank('gatherRows', 'x', x, 2);
  requireDType('gatherRows', 'x', x, 'f32');
  const { offset, count } = span(index, options);
  const [rows, cols] = x.shape as [number, number];
  const device = x.device;
  const target = output(device, [count, cols], 'f32', options.out, 'gatherRows');
  const vec = cols % 4 === 0;
  const width = vec ? cols / 4 : cols;
  const suffix = vec ? '4' : '';
  const args = { p: { rows, cols: width, count, offset, scale: 1 }, [`x${suffix}`]: x, index, [`out${suffix}`]: target };
  device.dispatch(device.kernel('gather'), vec ? 'gather_rows4' : 'gather_rows', args, [Math.ceil(width / 64), Math.ceil(count / 4)]);
  return target;
}

/** out[r] = labels[index[offset + r]] for i32 labels [rows]; out is [count]. */
export function gatherLabels(labels: Tensor<'i32'>, index: Tensor<'u32'>, options: GatherOptions & { out?: Tensor<'i32'> } = {}): Tensor<'i32'> {
  requireRank('gatherLabels', 'labels', labels, 1);
  requireDType('gatherLabels', 'labels', labels, 'i32');
  const { offset, count } = span(index, options);
  const device = labels.device;
  const target = output(device, [count], 'i32', options.out, 'gatherLabels');
  const groups = Math.ceil(count / 64);
  device.dispatch(device.kernel('gather'), 'gather_i32', { p: { rows: labels.size, cols: 1, count, offset, scale: 1 }, xi: labels, index, outi: target }, [
    Math.min(groups, 65535),
    Math.ceil(groups / 65535),
  ]);
  return target;
}

/**
 * Rows of bytes packed four to a u32 (`packed` is [rows, cols / 4] u32, little-endian), gathered
 * and converted: out[r, j] = byte(index[offset + r], j) * scale; out is [count, cols] f32. With
 * `labels`, the same rows' labels (`from` [rows] i32) go to `labels.out` [count] in the same
 * dispatch, as gatherLabels would write them.
 */
export function gatherBytes(
  packed: Tensor<'u32'>,
  index: Tensor<'u32'>,
  scale: number,
  options: GatherOptions & { out?: Tensor<'f32'>; labels?: { from: Tensor<'i32'>; out: Tensor<'i32'> } } = {},
): Tensor<'f32'> {
  requireRank('gatherBytes', 'packed', packed, 2);
  requireDType('gatherBytes', 'packed', packed, 'u32');
  const { offset, count } = span(index, options);
  const [rows, words] = packed.shape as [number, number];
  const device = packed.device;
  const target = output(device, [count, words * 4], 'f32', options.out, 'gatherBytes');
  const labels = options.labels;
  if (labels) {
    requireShape('gatherBytes', 'labels.from', labels.from, [rows]);
    requireDType('gatherBytes', 'labels.from', labels.from, 'i32');
    requireShape('gatherBytes', 'labels.out', labels.out, [count]);
    requireDType('gatherBytes', 'labels.out', labels.out, 'i32');
  }
  // 16 bytes per invocation where a row holds whole groups of them (MNIST's 784 do).
  const wide = words % 4 === 0;
  const cols = wide ? words / 4 : words;
  device.dispatch(
    device.kernel('gather'),
    wide ? 'gather_bytes16' : 'gather_bytes',
    {
      p: { rows, cols, count, offset, scale },
      [wide ? 'xu4' : 'xu']: packed,
      index,
      out4: target,
      labels: labels?.from ?? placeholder(device, 'i32'),
      label_out: labels?.out ?? placeholder(device, 'i32', 1),
    },
    [Math.ceil(cols / 64), Math.ceil(count / 4)],
    { LABELS: labels !== undefined },
  );
  return target;
}
