/**
 * How inference runs each pruned layer of an MLP, chosen by its shape of sparsity: as its kept 4 x
 * 4 blocks on row-major activations (kernels/block-sparse.ts) where few blocks hold kept weights
 * (layers pruned in blocks, compress/blocks.ts), as column lists on transposed activations
 * (kernels/sparse.ts) where few weights are kept but scattered, or dense. The forms are read back
 * from the weights and masks once and made again only after a weight, mask or bias was written
 * (Device.writeStamp).
 */
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { type BlockSparseWeight, blockFill, bsrOf, disposeBsr, uploadBsr } from '../kernels/block-sparse.js';
import { cscOf, type SparseWeight } from '../kernels/sparse.js';
import type { DenseLayer } from './mlp.js';

type F32 = Tensor<'f32'>;

export type PrunedForm = { kind: 'sparse'; weight: SparseWeight } | { kind: 'block'; weight: BlockSparseWeight; bias: F32 };

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

export class PrunedForms {
  private readonly forms = new Map<DenseLayer, { form: PrunedForm | null; stamps: number[] }>();

  constructor(private readonly device: Device) {}

  private stampsOf(l: DenseLayer): number[] {
    return [this.device.writeStamp(l.weight), this.device.writeStamp(l.mask!), this.device.writeStamp(l.bias)];
  }

  /** The layer's form if it was prepared and nothing was written since; null runs it dense. */
  of(l: DenseLayer): PrunedForm | null {
    const entry = this.forms.get(l);
    if (!entry?.form || !l.mask) return null;
    const stamps = this.stampsOf(l);
    return entry.stamps.every((s, i) => s === stamps[i]) ? entry.form : null;
  }

  /** Makes the forms of the pruned layers that changed since (one readback each). */
  async prepare(layers: readonly DenseLayer[]): Promise<void> {
    for (const l of layers) {
      if (!l.mask) continue;
      const stamps = this.stampsOf(l);
      const entry = this.forms.get(l);
      if (entry?.stamps.every((s, i) => s === stamps[i])) continue;
      if (entry?.form) disposeForm(entry.form);
      this.forms.set(l, { form: await this.formOf(l), stamps });
    }
  }

  private async formOf(l: DenseLayer): Promise<PrunedForm | null> {
    const [weight, mask] = [await l.weight.read(), await l.mask!.read()];
    let kept = 0;
    for (const m of mask) if (m !== 0) kept++;
    const density = kept / mask.length;
    const fill = blockFill(mask, l.inputs, l.units);
    if (fill <= FORM_COSTS.blockFillBelow && fill <= FORM_COSTS.blockPerKept * density) {
      const blocks = bsrOf(weight, l.inputs, l.units, mask);
      const bias = new Float32Array(blocks.units);
      bias.set(await l.bias.read());
      return { kind: 'block', weight: uploadBsr(this.device, blocks), bias: this.device.tensor(bias) };
    }
    if (density > FORM_COSTS.sparseBelow) return null;
    const csc = cscOf(weight, l.inputs, l.units, mask);
    return {
      kind: 'sparse',
      weight: { inputs: l.inputs, units: l.units, colptr: this.device.tensor(csc.colptr), entries: this.device.tensor(csc.entries, [csc.entries.length / 4, 4]), kept: csc.kept },
    };
  }

  dispose(): void {
    for (const { form } of this.forms.values()) if (form) disposeForm(form);
    this.forms.clear();
  }
}

function disposeForm(form: PrunedForm): void {
  if (form.kind === 'block') {
    disposeBsr(form.weight);
    form.bias.dispose();
  } else {
    form.weight.colptr.dispose();
    form.weight.entries.dispose();
  }
}
