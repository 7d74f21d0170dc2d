import type { Tensor } from '../gpu/tensor.js';
import { copy } from '../kernels/elementwise.js';

/** Copies of the parameters at the best epoch so far, kept on the GPU. */
export class BestWeights {
  epoch = 0;
  private value = Infinity;
  private readonly saved: Tensor<'f32'>[];

  constructor(private readonly params: Tensor<'f32'>[]) {
    this.saved = params.map((p) => p.device.empty(p.shape));
  }

  /** Saves the weights if `value` (lower is better) beats the best by more than minDelta. */
  offer(value: number, epoch: number, minDelta: number): boolean {
    if (!(value < this.value - minDelta)) return false;
    this.value = value;
    this.epoch = epoch;
    this.params.forEach((p, i) => copy(p, this.saved[i]));
    return true;
  }

  restore(): void {
    if (this.epoch > 0) this.saved.forEach((s, i) => copy(s, this.params[i]));
  }

  dispose(): void {
    for (const s of this.saved) s.dispose();
  }
}
