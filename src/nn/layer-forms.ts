/**
 * How inference runs each compressed layer of an MLP. A pruned layer, by its shape of sparsity: as
 * its kept 4 x 4 blocks on row-major activations (kernels/block-sparse.ts) where few blocks hold
 * kept weights (layers pruned in blocks, compress/blocks.ts), or as column lists on transposed
 * activations (kernels/sparse.ts) where few weights are kept but scattered. Otherwise a layer
 * quantized to 8 bits or fewer with a scale per unit and no zero point runs on its packed integer
 * weights (kernels/packed.ts), and the rest dense. The forms are read back from the weights once
 * and made again only after a weight, mask, bias or scale was written (Device.writeStamp). Blocks
 * of a quantized layer hold its packed integers too (block-sparse.wgsl, QBITS).
 */
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { type BlockSparseWeight, blockFill, bsrOf, disposeBsr, packBlocks, uploadBsr } from '../kernels/block-sparse.js';
import { disposePacked, integerOf, packedBitsFor, packedOutputs, type PackedBits, type PackedWeight, unitScale, uploadPacked } from '../kernels/packed.js';
import { cscOf, type SparseWeight } from '../kernels/sparse.js';
import type { DenseLayer } from './mlp.js';

type F32 = Tensor<'f32'>;

export type LayerForm = { kind: 'sparse'; weight: SparseWeight } | { kind: 'block'; weight: BlockSparseWeight; bias: F32 } | { kind: 'packed'; weight: PackedWeight; bias: F32 };

/**
 * The choice, from llvmpipe's measured costs against the dense GEMM of the same layer
 * (bench/RESULTS.md): the block kernel takes about twice the dense time per unit of block fill
 * (the fraction of 4 x 4 blocks with a kept weight), the column-list kernel with its transposes
 * about 6 times the dense time per unit of density (sparseBelow).
 */
export const FORM_COSTS = {
  /**
   * Column lists for layers with at most this fraction of their weights kept... Measured in a
   * whole LeNet-300-100 forward pass over 1,024 rows, one layer pruned, its transposes included:
   * 784 x 300 ran 1.85x dense's speed at 4 % kept, 1.34x at 10 %, 1.12x at 14 %, 0.97x at 18 %
   * and 0.78x at 25 %; 300 x 100 1.04x at 4 %, 1.00x at 10 % (it was 0.3, so layers with 18-30 %
   * kept ran slower than dense: automated latency trials took 14-20 ms where dense took 11).
   */
  sparseBelow: 0.12,
  /** ...at this many rows or more: below, their transposes and texture copies cost more than they save. */
  sparseMinRows: 64,
  /** Blocks where at most this fraction of the blocks hold a kept weight... */
  blockFillBelow: 0.5,
  /** ...and the block fill is at most this many times the density (else column lists are cheaper). */
  blockPerKept: 2.7,
} as const;

export class LayerForms {
  private readonly forms = new Map<DenseLayer, { form: LayerForm | null; stamps: number[] }>();

  constructor(private readonly device: Device) {}

  private stampsOf(l: DenseLayer): number[] {
    return [l.weight, l.mask, l.bias, l.quant?.weight.scale].map((t) => (t ? this.device.writeStamp(t) : -1));
  }

  /** The layer's form if it was prepared and nothing was written since; null runs it dense. */
  of(l: DenseLayer): LayerForm | null {
    const entry = this.forms.get(l);
    if (!entry?.form) return null;
    const stamps = this.stampsOf(l);
    return entry.stamps.every((s, i) => s === stamps[i]) ? entry.form : null;
  }

  /** Makes the forms of the pruned and quantized layers that changed since (one readback each). */
  async prepare(layers: readonly DenseLayer[]): Promise<void> {
    for (const l of layers) {
      if (!l.mask && !l.quant) continue;
      const stamps = this.stampsOf(l);
      const entry = this.forms.get(l);
      if (entry?.stamps.every((s, i) => s === stamps[i])) continue;
      if (entry?.form) disposeForm(entry.form);
      this.forms.set(l, { form: await this.formOf(l), stamps });
    }
  }

  private async formOf(l: DenseLayer): Promise<LayerForm | null> {
    const weight = await l.weight.read();
    if (l.mask) {
      const mask = await l.mask.read();
      let kept = 0;
      for (const m of mask) if (m !== 0) kept++;
      const density = kept / mask.length;
      const fill = blockFill(mask, l.inputs, l.units);
      if (fill <= FORM_COSTS.blockFillBelow && fill <= FORM_COSTS.blockPerKept * density) {
        const blocks = bsrOf(weight, l.inputs, l.units, mask);
        const quant = await integerQuant(l);
        const words = quant && packBlocks(blocks, quant.scale, quant.bits);
        return { kind: 'block', weight: uploadBsr(this.device, blocks, words ? { ...quant, words } : undefined), bias: await this.paddedBias(l, blocks.units) };
      }
      if (density <= FORM_COSTS.sparseBelow) {
        const csc = cscOf(weight, l.inputs, l.units, mask);
        return {
          kind: 'sparse',
          weight: { inputs: l.inputs, units: l.units, colptr: this.device.tensor(csc.colptr), entries: this.device.tensor(csc.entries, [csc.entries.length / 4, 4]), kept: csc.kept },
        };
      }
    }
    const packed = await packedOf(l, weight);
    if (!packed) return null;
    const w = uploadPacked(this.device, packed.q, packed.scale, l.inputs, l.units, packed.bits);
    return { kind: 'packed', weight: w, bias: await this.paddedBias(l, packedOutputs(w)) };
  }

  /** The layer's bias with zeros up to `width` values. */
  private async paddedBias(l: DenseLayer, width: number): Promise<F32> {
    const bias = new Float32Array(width);
    bias.set(await l.bias.read());
    return this.device.tensor(bias);
  }

  dispose(): void {
    for (const { form } of this.forms.values()) if (form) disposeForm(form);
    this.forms.clear();
  }
}

function disposeForm(form: LayerForm): void {
  if (form.kind === 'block') {
    disposeBsr(form.weight);
    form.bias.dispose();
  } else if (form.kind === 'packed') {
    disposePacked(form.weight);
    form.bias.dispose();
  } else {
    form.weight.colptr.dispose();
    form.weight.entries.dispose();
  }
}

/**
 * A quantized layer's per-unit scales and packed width, when its weights can run as packed
 * integers: one scale per unit (or one for all), every zero point 0 (min-max symmetric, binary,
 * ternary) and integers that fit 8 bits. Null for k-means codebooks and zero points.
 */
async function integerQuant(l: DenseLayer): Promise<{ scale: Float32Array; bits: PackedBits } | null> {
  const quant = l.quant;
  if (!quant || quant.spec.method === 'kmeans') return null;
  const bits = packedBitsFor(quant.weight.qmin, quant.weight.qmax);
  if (!bits) return null;
  const [scale, zero] = [await quant.weight.scale.read(), await quant.weight.zero.read()];
  if (zero.some((z) => z !== 0) || (scale.length !== 1 && scale.length !== l.units)) return null;
  return { scale, bits };
}

/** The layer's integer weights for packed inference (integerQuant), or null where a weight is not exactly q * scale (written after quantization). */
async function packedOf(l: DenseLayer, weight: Float32Array): Promise<{ q: Int8Array; scale: Float32Array; bits: PackedBits } | null> {
  const quant = await integerQuant(l);
  if (!quant) return null;
  const { scale, bits } = quant;
  const q = new Int8Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    const v = integerOf(weight[i]!, unitScale(scale, i % l.units), bits);
    if (v === null) return null;
    q[i] = v;
  }
  return { q, ...quant };
}
