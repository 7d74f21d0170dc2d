/** Host side of shaders/sparse.wgsl: pruned layers as column lists (CSC), run on transposed activations. */
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { chunkedGrid, placeholder, requireShape } from './launch.js';
import { texturedKernel } from './textured.js';

type F32 = Tensor<'f32'>;

/**
 * A weight [inputs, units] by columns: unit n's kept inputs are the entry pairs colptr[n] ..
 * colptr[n + 1] of `entries`, each a vec4 (k, w, k', w') with k an exact float; a column's
 * entries are padded to an even count with (0, 0).
 */
export interface SparseWeight {
  inputs: number;
  units: number;
  /** [units + 1] u32, in entry pairs */
  colptr: Tensor<'u32'>;
  /** [pairs, 4] f32 */
  entries: Tensor<'f32'>;
  kept: number;
}

/** The kept weights (mask 1, or nonzero without a mask) of w [inputs, units], by columns, on the CPU. */
export function cscOf(weight: Float32Array, inputs: number, units: number, mask?: Float32Array): { colptr: Uint32Array; entries: Float32Array; kept: number } {
  const keep = (i: number) => (mask ? mask[i] !== 0 : weight[i] !== 0);
  const count = new Uint32Array(units);
  for (let k = 0; k < inputs; k++) for (let n = 0; n < units; n++) if (keep(k * units + n)) count[n]!++;
  const colptr = new Uint32Array(units + 1);
  for (let n = 0; n < units; n++) colptr[n + 1] = colptr[n]! + Math.ceil(count[n]! / 2);
  const entries = new Float32Array(Math.max(1, colptr[units]!) * 4); // a binding needs an element
  const at = Array.from(colptr.subarray(0, units), (c) => c * 2); // next free entry (half a pair) of each unit
  let kept = 0;
  for (let k = 0; k < inputs; k++)
    for (let n = 0; n < units; n++)
      if (keep(k * units + n)) {
        const e = at[n]!++;
        entries[2 * e] = k;
        entries[2 * e + 1] = weight[k * units + n]!;
        kept++;
      }
  return { colptr, entries, kept };
}

/** Rows of a transposed activation are held in whole vec4s. */
export const rowsPadded = (rows: number) => Math.ceil(rows / 4) * 4;

/**
 * out^T [units, rowsPadded] = act(W^T x^T + bias) for xt = x^T [inputs, rowsPadded(rows)] (rows
 * beyond `rows` hold anything; their outputs are not meaningful).
 */
export function sparseForwardT(xt: F32, w: SparseWeight, rows: number, options: { bias?: F32; activation?: Activation; out?: F32 } = {}): F32 {
  const rp = rowsPadded(rows);
  requireShape('sparseForwardT', 'xt', xt, [w.inputs, rp]);
  if (options.bias) requireShape('sparseForwardT', 'bias', options.bias, [w.units]);
  const device = xt.device;
  const out = options.out ?? device.empty([w.units, rp]);
  requireShape('sparseForwardT', 'out', out, [w.units, rp]);
  const rows4 = rp / 4;
  const blocks = Math.ceil(rows4 / 8);
  const launch = chunkedGrid(device, w.units, blocks);
  device.dispatch(
    texturedKernel(device, 'sparse'),
    'spmm_t',
    { p: { units: w.units, rows4, blocks }, xt, colptr: w.colptr, te: w.entries, bias: options.bias ?? placeholder(device, 'f32'), out4: out },
    launch.workgroups,
    { ...launch.overrides, ACT: ACTIVATIONS[options.activation ?? 'identity'], HAS_BIAS: options.bias !== undefined },
  );
  return out;
}
