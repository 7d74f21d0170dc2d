/**
 * Training a model whose layers share weights (k-means, Deep Compression section 3.1): the
 * assignment of weights to shared values is fixed, and each shared value c moves with the sum of
 * the gradients of the weights that share it, dL/dc = sum over {w : w shares c} of dL/dw. Per
 * step: the backward pass gives dL/dW as usual, one segmented reduction per layer turns it into
 * dL/dcodebook (kernels/sharing.ts), the optimizer steps the codebook (momentum, Adam and weight
 * decay apply to it as to any parameter), and the weights are set from the codebook again.
 * Pruned weights (index K) stay 0. Biases train as usual.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Slot } from '../kernels/optim.js';
import { clusterSums, shareWeights, type Clusters } from '../kernels/sharing.js';
import type { TrainingHook } from './hooks.js';
import type { DenseLayer } from './mlp.js';
import type { Model } from './model.js';

interface SharedLayer {
  layer: DenseLayer;
  clusters: Clusters;
  grad: Tensor<'f32'>;
}

export class SharedWeightTraining {
  private shared: SharedLayer[] = [];

  private constructor(private readonly model: Model) {}

  /** Training state for the model's k-means layers, or undefined when none shares weights. */
  static of(model: Model): SharedWeightTraining | undefined {
    return model.layers.some((l) => l.quant?.codebook) ? new SharedWeightTraining(model) : undefined;
  }

  /** Reads each layer's assignment once and uploads it cluster by cluster (a counting sort). */
  async prepare(): Promise<void> {
    const device = this.model.device;
    for (const layer of this.model.layers) {
      const q = layer.quant;
      if (!q?.codebook || !q.assignment) continue;
      const k = q.codebook.size;
      const assignment = await q.assignment.read();
      // A weight pruned after the sharing stays pruned: it leaves its cluster.
      if (layer.mask) {
        const mask = await layer.mask.read();
        let changed = false;
        mask.forEach((m, i) => m === 0 && assignment[i] !== k && ((assignment[i] = k), (changed = true)));
        if (changed) q.assignment.write(assignment);
      }
      const offsets = new Uint32Array(k + 1);
      for (const a of assignment) if (a < k) offsets[a + 1]!++;
      for (let c = 0; c < k; c++) offsets[c + 1]! += offsets[c]!;
      const fillAt = offsets.slice(0, k);
      const order = new Uint32Array(Math.max(1, offsets[k]!)); // a binding needs at least one element
      assignment.forEach((a, i) => a < k && (order[fillAt[a]!++] = i));
      this.shared.push({ layer, clusters: { order: device.tensor(order), offsets: device.tensor(offsets), count: k }, grad: device.empty([k]) });
    }
  }

  /** The optimizer's slots with each shared layer's weight replaced by its codebook and summed gradients. */
  slots(slots: Slot[]): Slot[] {
    return slots.map((s) => {
      const shared = this.shared.find((x) => x.layer.weight === s.param);
      if (!shared) return s;
      clusterSums(s.grad, shared.clusters, shared.grad);
      return { param: shared.layer.quant!.codebook!, grad: shared.grad };
    });
  }

  /** Sets the weights from the updated codebooks. */
  share(): void {
    for (const { layer } of this.shared) shareWeights(layer.quant!.codebook!, layer.quant!.assignment!, layer.weight);
  }

  dispose(): void {
    for (const s of this.shared) s.clusters.order.dispose(), s.clusters.offsets.dispose(), s.grad.dispose();
    this.shared = [];
  }
}

/**
 * The hook fit adds by itself for a model with shared (k-means) layers: the optimizer steps the
 * shared values, and the weights are set from them after every step and at the end (after early
 * stopping put the best shared values back).
 */
export function weightSharingHook(model: Model): TrainingHook | undefined {
  const sharing = SharedWeightTraining.of(model);
  if (!sharing) return undefined;
  return {
    name: 'weightSharing',
    begin: () => sharing.prepare(),
    slots: (slots) => sharing.slots(slots),
    afterUpdate: () => sharing.share(),
    end: () => sharing.share(),
    dispose: () => sharing.dispose(),
  };
}
