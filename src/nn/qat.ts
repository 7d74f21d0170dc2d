import type { Tensor } from '../gpu/tensor.js';
import { copy } from '../kernels/elementwise.js';
import { fakeQuant } from '../kernels/quant.js';
import type { Slot } from '../kernels/optim.js';
import { signQuantize } from '../kernels/sign.js';
import { observeWeight, quantizeLayers } from '../compress/quantize.js';
import type { QuantSpec } from './quant-spec.js';
import type { MLP } from './mlp.js';

/**
 * Quantization-aware training: float master copies of the weights take the optimizer's updates;
 * before each step the layer weights are set to the fake-quantized masters (parameters observed
 * on the GPU, no readback), so forward and backward see quantized weights. Min-max, binary and
 * ternary specs (the last two recompute alpha every step, as XNOR-Net and TWN train).
 */
export class FakeQuantTraining {
  private masters: Tensor<'f32'>[];

  constructor(
    private readonly model: MLP,
    private readonly spec: QuantSpec,
  ) {
    this.masters = model.layers.map((l) => copy(l.weight));
  }

  quantize(): void {
    const method = this.spec.method ?? 'minmax';
    this.model.layers.forEach((l, i) => {
      if (method === 'binary' || method === 'ternary') {
        signQuantize(this.masters[i]!, { ternary: method === 'ternary', perChannel: this.spec.perChannel !== false, mask: l.mask, out: l.weight }).alpha.dispose();
        return;
      }
      const q = observeWeight(this.masters[i]!, this.spec);
      fakeQuant(this.masters[i]!, q, this.spec.perChannel === false ? 'tensor' : 'cols', l.weight);
      q.scale.dispose();
      q.zero.dispose();
    });
  }

  /** The optimizer updates the masters with the gradients computed through the quantized weights. */
  slots(slots: Slot[]): Slot[] {
    return slots.map((s) => {
      const i = this.model.layers.findIndex((l) => l.weight === s.param);
      return i >= 0 ? { ...s, param: this.masters[i]! } : s;
    });
  }

  restoreMasters(): void {
    this.model.layers.forEach((l, i) => copy(this.masters[i]!, l.weight));
  }

  captureMasters(): void {
    this.model.layers.forEach((l, i) => copy(l.weight, this.masters[i]!));
  }

  /** Leaves the model with its final quantized weights and their parameters. */
  finish(): void {
    this.restoreMasters();
    quantizeLayers(this.model, this.spec);
    for (const m of this.masters) m.dispose();
    this.masters = [];
  }
}
