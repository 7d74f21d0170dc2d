/** Host side of shaders/block-sparse.wgsl: layers pruned in 4 x 4 blocks, run on row-major activations. */
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { chunkedGrid, placeholder, requireShape, rowQuads } from './launch.js';
import { texturedKernel } from './textured.js';
import { integerOf, type PackedBits, unitScale } from './packed.js';

type F32 = Tensor<'f32'>;

/**
 * A weight [inputs, units] as its 4 x 4 blocks that hold a kept weight, by column group: the
 * blocks of units 4g..4g+3 are gptr[g] .. gptr[g + 1]; block j covers inputs 4 kidx[j]..+3 and
 * its values are rows 4j..4j+3 of `values` [blocks * 4, 4]. Inputs and units are padded to whole
 * blocks with zeros (`inputs` and `units` say the padded widths).
 */
export interface BlockSparseWeight {
  inputs: number;
  units: number;
  gptr: Tensor<'u32'>;
  kidx: Tensor<'u32'>;
  /** Float blocks; absent when the blocks are packed integers. */
  values?: F32;
  /** Integer blocks (packBlocks) with a scale per (padded) unit: w = q * scale. */
  packed?: { bits: PackedBits; words: Tensor<'u32'>; scale: F32 };
  blocks: number;
}

/** The host arrays of a BlockSparseWeight for w [inputs, units] (kept: mask 1, or nonzero without a mask). */
export function bsrOf(weight: Float32Array, inputs: number, units: number, mask?: Float32Array): { gptr: Uint32Array; kidx: Uint32Array; values: Float32Array; inputs: number; units: number } {
  const keep = (i: number) => (mask ? mask[i] !== 0 : weight[i] !== 0);
  const [gi, gu] = [Math.ceil(inputs / 4), Math.ceil(units / 4)];
  const gptr = new Uint32Array(gu + 1);
  const kidx: number[] = [];
  const values: number[] = [];
  for (let g = 0; g < gu; g++) {
    for (let b = 0; b < gi; b++) {
      const cells: number[] = [];
      let any = false;
      for (let r = 0; r < 4; r++)
        for (let c = 0; c < 4; c++) {
          const [k, n] = [4 * b + r, 4 * g + c];
          const inside = k < inputs && n < units && keep(k * units + n);
          any ||= inside;
          cells.push(inside ? weight[k * units + n]! : 0);
        }
      if (!any) continue;
      kidx.push(b);
      values.push(...cells);
    }
    gptr[g + 1] = kidx.length;
  }
  // A binding needs an element: a layer with no kept block gets one zero block no group points at.
  return { gptr, kidx: Uint32Array.from(kidx.length ? kidx : [0]), values: Float32Array.from(values.length ? values : new Array(16).fill(0)), inputs: gi * 4, units: gu * 4 };
}

/** The fraction of a weight's 4 x 4 blocks (padded shape) holding a kept weight (mask 1): the block kernel's work against dense. */
export function blockFill(mask: Float32Array, inputs: number, units: number): number {
  const gu = Math.ceil(units / 4);
  const held = new Uint8Array(Math.ceil(inputs / 4) * gu);
  for (let k = 0; k < inputs; k++) for (let n = 0; n < units; n++) if (mask[k * units + n] !== 0) held[(k >> 2) * gu + (n >> 2)] = 1;
  return held.reduce((a, b) => a + b, 0) / held.length;
}

/**
 * The blocks of `host` as packed integers (block-sparse.wgsl, QBITS) for a scale per unit (one
 * value, or host.units of them; padded units hold zeros): null when a value is not exactly an
 * integer of the width times its unit's scale (a layer not quantized so, or written since).
 */
export function packBlocks(host: ReturnType<typeof bsrOf>, scale: ArrayLike<number>, bits: PackedBits): Uint32Array | null {
  const blocks = host.values.length / 16;
  const words = new Uint32Array(bits === 8 ? blocks * 4 : Math.ceil(blocks / 2) * 4);
  const mask = (1 << bits) - 1;
  const groupOf = new Uint32Array(blocks);
  for (let g = 0; g + 1 < host.gptr.length; g++) groupOf.fill(g, host.gptr[g]!, host.gptr[g + 1]!);
  for (let j = 0; j < blocks; j++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) {
        const v = host.values[16 * j + 4 * r + c]!;
        const unit = 4 * groupOf[j]! + c;
        const q = integerOf(v, unitScale(scale, unit), bits);
        if (q === null) return null;
        // 8 bits: row r is u32 4j + r, byte c; 4 bits: rows 0-1 and 2-3 are u32s 2j and 2j + 1, nibbles 4 (r % 2) + c.
        const [word, shift] = bits === 8 ? [4 * j + r, 8 * c] : [2 * j + (r >> 1), 4 * (4 * (r & 1) + c)];
        words[word] = (words[word]! | ((q & mask) << shift)) >>> 0;
      }
  return words;
}

/** Uploads the blocks as floats, or as the packed integers of packBlocks with their per-unit scales. */
export function uploadBsr(device: Device, host: ReturnType<typeof bsrOf>, packed?: { bits: PackedBits; words: Uint32Array; scale: ArrayLike<number> }): BlockSparseWeight {
  const common = { inputs: host.inputs, units: host.units, gptr: device.tensor(host.gptr), kidx: device.tensor(host.kidx), blocks: host.gptr[host.gptr.length - 1]! };
  if (!packed) return { ...common, values: device.tensor(host.values, [host.values.length / 4, 4]) };
  const scale = new Float32Array(host.units);
  for (let n = 0; n < host.units; n++) scale[n] = unitScale(packed.scale, n);
  return { ...common, packed: { bits: packed.bits, words: device.tensor(packed.words), scale: device.tensor(scale) } };
}

export function disposeBsr(w: BlockSparseWeight): void {
  w.gptr.dispose();
  w.kidx.dispose();
  w.values?.dispose();
  w.packed?.words.dispose();
  w.packed?.scale.dispose();
}

/** y [rows, w.units] = act(x w + bias) for x [rows, w.inputs] (the padded widths); bias has w.units values. */
export function blockSparseForward(x: F32, w: BlockSparseWeight, options: { bias?: F32; activation?: Activation; out?: F32 } = {}): F32 {
  const rows = x.shape[0]!;
  requireShape('blockSparseForward', 'x', x, [rows, w.inputs]);
  if (options.bias) requireShape('blockSparseForward', 'bias', options.bias, [w.units]);
  const device = x.device;
  const out = options.out ?? device.empty([rows, w.units]);
  requireShape('blockSparseForward', 'out', out, [rows, w.units]);
  const groups = w.units / 4;
  const blocks = Math.ceil(rows / 32);
  const launch = chunkedGrid(device, groups, blocks);
  device.dispatch(
    texturedKernel(device, 'block-sparse'),
    'bsr_mm',
    {
      p: { rows, k4: w.inputs / 4, groups, blocks },
      tx: x,
      gptr: w.gptr,
      kidx: w.kidx,
      tw: w.values ?? placeholder(device, 'f32'),
      tq: w.packed?.words ?? placeholder(device, 'u32'),
      scale4: w.packed?.scale ?? placeholder(device, 'f32', 1),
      bias4: options.bias ?? placeholder(device, 'f32'),
      y4: out,
    },
    launch.workgroups,
    { ...launch.overrides, ACT: ACTIVATIONS[options.activation ?? 'identity'], HAS_BIAS: options.bias !== undefined, QBITS: w.packed?.bits ?? 0, ROW_QUADS: rowQuads(rows, 32) },
  );
  return out;
}
