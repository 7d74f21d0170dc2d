/** Host side of shaders/block-sparse.wgsl: layers pruned in 4 x 4 blocks, run on row-major activations. */
import { grid } from '../gpu/grid.js';
import type { Device } from '../gpu/device.js';
import type { Kernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { SHADERS } from '../gpu/shaders.generated.js';
import { ACTIVATIONS, STORAGE_TEXTURE_FEATURE, type Activation } from './gemm.js';
import { linearWorkgroup, placeholder, requireShape, rowChunks } from './launch.js';
import { sampledSource } from './sparse.js';

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
  values: F32;
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

export function uploadBsr(device: Device, host: ReturnType<typeof bsrOf>): BlockSparseWeight {
  return {
    inputs: host.inputs,
    units: host.units,
    gptr: device.tensor(host.gptr),
    kidx: device.tensor(host.kidx),
    values: device.tensor(host.values, [host.values.length / 4, 4]),
    blocks: host.gptr[host.gptr.length - 1]!,
  };
}

export function disposeBsr(w: BlockSparseWeight): void {
  w.gptr.dispose();
  w.kidx.dispose();
  w.values.dispose();
}

function blockKernel(device: Device): Kernel {
  if (device.llvmpipe && device.wgslFeatures.has(STORAGE_TEXTURE_FEATURE)) return device.kernel('block-sparse');
  return device.kernel('block-sparse-sampled', sampledSource(SHADERS['block-sparse']));
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
  const wg = Math.min(64, linearWorkgroup(device));
  const chunks = rowChunks(groups, blocks);
  device.dispatch(
    blockKernel(device),
    'bsr_mm',
    { p: { rows, k4: w.inputs / 4, groups, blocks }, tx: x, gptr: w.gptr, kidx: w.kidx, tw: w.values, bias4: options.bias ?? placeholder(device, 'f32'), y4: out },
    grid(Math.ceil(chunks.invocations / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension),
    { WG: wg, ACT: ACTIVATIONS[options.activation ?? 'identity'], HAS_BIAS: options.bias !== undefined, CHUNK: chunks.chunk },
  );
  return out;
}
