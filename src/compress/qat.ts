/**
 * Quantization-aware training as a training hook: float master copies of the weights take the
 * optimizer's updates; before each forward pass the layer weights are set to the fake-quantized
 * masters (parameters observed on the GPU, no readback), so forward and backward see quantized
 * weights, and after the update the float weights are put back, so scheduled changes between
 * steps (pruning) see and edit the float weights. Min-max, binary and ternary specs (the last two
 * recompute alpha every step, as XNOR-Net and TWN train). When training ends, the model holds the
 * quantized weights and their parameters (as after quantizeWeights).
 */
import { requireFolded } from './fold.js';
import type { Tensor } from '../gpu/tensor.js';
import { InvalidArgumentError } from '../errors.js';
import { copy } from '../kernels/elementwise.js';
import { fakeQuant } from '../kernels/quant.js';
import { signQuantize } from '../kernels/sign.js';
import type { TrainingHook } from '../nn/hooks.js';
import type { Model } from '../nn/model.js';
import { normalizeSpec, type QuantRequest } from '../nn/quant-spec.js';
import { observeWeight, quantizeLayers } from './quantize.js';

export function quantizationAware(request: QuantRequest): TrainingHook {
  const spec = normalizeSpec(request);
  const method = spec.method ?? 'minmax';
  if (method === 'kmeans')
    throw new InvalidArgumentError("k-means weight sharing is trained after clustering: quantizeWeights(model, { method: 'kmeans', bits }), then fit fine-tunes the shared values.");
  let model: Model;
  let masters: Tensor<'f32'>[] = [];
  return {
    name: 'quantizationAware',
    begin(run) {
      model = run.model;
      requireFolded(model, 'Quantization-aware training');
      if (model.layers.some((l) => l.quant?.codebook))
        throw new InvalidArgumentError('A model with shared (k-means) weights trains its shared values only; it cannot be quantized again while training.');
      masters = model.layers.map((l) => model.device.empty([l.inputs, l.units]));
    },
    beforeForward() {
      model.layers.forEach((l, i) => {
        const master = masters[i]!;
        copy(l.weight, master); // the float weights, as left by the last step and any hook since
        if (method === 'binary' || method === 'ternary') {
          signQuantize(master, { ternary: method === 'ternary', perChannel: spec.perChannel !== false, mask: l.mask, out: l.weight }).alpha.dispose();
          return;
        }
        const q = observeWeight(master, spec);
        fakeQuant(master, q, spec.perChannel === false ? 'tensor' : 'cols', l.weight);
        q.scale.dispose();
        q.zero.dispose();
      });
    },
    // The optimizer updates the masters with the gradients computed through the quantized weights.
    slots: (slots) =>
      slots.map((s) => {
        const i = model.layers.findIndex((l) => l.weight === s.param);
        return i >= 0 ? { ...s, param: masters[i]! } : s;
      }),
    afterUpdate() {
      model.layers.forEach((l, i) => copy(masters[i]!, l.weight));
    },
    end() {
      quantizeLayers(model, spec);
    },
    dispose() {
      for (const m of masters) m.dispose();
      masters = [];
    },
  };
}
