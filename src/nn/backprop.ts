/**
 * Forward and backward passes of an MLP for one batch size, all on the GPU, in preallocated
 * tensors. For layer l with input a (a_0 = the batch x), weights W [in, out] and outputs y = f(z):
 *   dW = a^T delta,  db = column sums of delta,  delta_prev = (delta W^T) * f'(z_prev)
 * where f'(z_prev) comes from the stored outputs y_prev (fused into the backward GEMM's epilogue).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { type Activation, gemm } from '../kernels/gemm.js';
import { distillationLoss, lossForward, type LossKind } from '../kernels/loss.js';
import type { Slot } from '../kernels/optim.js';
import type { DenseLayer, MLP } from './mlp.js';

type F32 = Tensor<'f32'>;

/** The loss kernels take raw outputs (logits): the last layer must be linear. */
export function requireLogits(activation: Activation, loss: LossKind): void {
  if (activation !== 'identity') throw new InvalidArgumentError(`Training with ${loss} needs an identity (linear) last layer, not ${activation}: the loss takes the raw outputs (logits).`);
}

/** The parameters of `layers` with their gradients and masks, for an optimizer. */
export function slotsOf(layers: DenseLayer[], weightGrads: F32[], biasGrads: F32[]): Slot[] {
  return layers.flatMap((l, i) => [
    { param: l.weight, grad: weightGrads[i]!, mask: l.mask },
    { param: l.bias, grad: biasGrads[i]!, mask: l.biasMask },
  ]);
}

export class Backprop {
  /** The batch's inputs [B, inputs]; fill it (e.g. by gathering) before step(). */
  readonly x: F32;
  /** Outputs of every layer [B, units]; the last are the logits. */
  readonly outputs: F32[];
  /** dL/dz of every layer [B, units]. */
  private readonly deltas: F32[];
  readonly weightGrads: F32[];
  readonly biasGrads: F32[];

  constructor(
    readonly model: MLP,
    readonly batch: number,
    readonly loss: LossKind,
  ) {
    requireLogits(model.layers[model.layers.length - 1]!.activation, loss);
    const d = model.device;
    this.x = d.empty([batch, model.inputs]);
    this.outputs = model.layers.map((l) => d.empty([batch, l.units]));
    this.deltas = model.layers.map((l) => d.empty([batch, l.units]));
    this.weightGrads = model.layers.map((l) => d.empty([l.inputs, l.units]));
    this.biasGrads = model.layers.map((l) => d.empty([l.units]));
  }

  /**
   * Forward, loss (accumulated into stats) and backward for the batch in x with labels or
   * targets y. Leaves the gradients in weightGrads and biasGrads.
   */
  gradients(y: Tensor, stats: F32, options: { step?: number; labelSmoothing?: number; distill?: { teacher: F32; alpha: number; temperature: number; labelled: boolean } } = {}): void {
    const layers = this.model.layers;
    const last = layers.length - 1;
    this.model.forward(this.x, this.outputs);
    const z = this.outputs[last]!;
    const d = options.distill;
    if (d)
      distillationLoss({
        z,
        teacher: d.teacher,
        labels: d.labelled ? (y as Tensor<'i32'>) : undefined,
        stats,
        grad: this.deltas[last],
        alpha: d.alpha,
        temperature: d.temperature,
        step: options.step,
      });
    else lossForward(this.loss, { z, target: y, stats, grad: this.deltas[last], step: options.step, labelSmoothing: options.labelSmoothing });
    for (let l = last; l >= 0; l--) {
      const input = l === 0 ? this.x : this.outputs[l - 1]!;
      const delta = this.deltas[l]!;
      gemm(input, delta, { transA: true, out: this.weightGrads[l], columnSums: this.biasGrads[l] });
      if (l > 0) {
        const prev = layers[l - 1]!;
        gemm(delta, layers[l]!.weight, {
          transB: true,
          derivativeOf: { activation: prev.activation, output: this.outputs[l - 1]! },
          out: this.deltas[l - 1],
        });
      }
    }
  }

  /** The parameters with their gradients and masks, for an optimizer. */
  slots(): Slot[] {
    return slotsOf(this.model.layers, this.weightGrads, this.biasGrads);
  }

  dispose(): void {
    for (const t of [this.x, ...this.outputs, ...this.deltas, ...this.weightGrads, ...this.biasGrads]) t.dispose();
  }
}
