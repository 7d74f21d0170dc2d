/**
 * Batch norm folding: at inference a batch norm is an affine map per channel, so it folds into the
 * convolution or dense layer before it (which has no activation of its own, nn/sequential.ts;
 * the formula in nn/fold-norm.ts), and the layer takes the batch norm's activation. The folded model computes what the original
 * computes at inference, with fewer stages and no batch norm parameters. Quantization and weight
 * sharing work on folded weights (as PyTorch's fuse_modules before quantization, and TF Model
 * Optimization's folding): they refuse a model that still has batch norms.
 */
import { InvalidArgumentError } from '../errors.js';
import { foldedWeights } from '../nn/fold-norm.js';
import type { DenseLayer } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { type LayerSpec, normSettings, placeStages, Sequential } from '../nn/sequential.js';

/** Whether the model has batch norm stages. */
export const hasBatchNorm = (model: Model): boolean => model instanceof Sequential && model.norms.length > 0;

/** Throws for a model with batch norms: `what` needs them folded first. */
export function requireFolded(model: Model, what: string): void {
  if (hasBatchNorm(model))
    throw new InvalidArgumentError(`${what} works on folded weights: fold the batch norms into the layers before them first (foldBatchNorm(model) returns that model; the CLI folds by itself).`);
}

/** The model itself when it has no batch norm, else a new one with them folded (foldBatchNorm): dispose that one when it is not the given model. */
export async function withBatchNormFolded(model: Model): Promise<Model> {
  return model instanceof Sequential && hasBatchNorm(model) ? foldBatchNorm(model) : model;
}

/**
 * A new model with every batch norm folded into the layer before it; the given model is left as
 * it is. Masks stay (a pruned weight scaled is still 0); a quantized layer before a batch norm is
 * refused (its grid would not survive the scaling: quantize after folding).
 */
export async function foldBatchNorm(model: Sequential): Promise<Sequential> {
  const device = model.device;
  const specs: LayerSpec[] = [];
  const folds = new Map<number, number>(); // layer index -> stage index of its batch norm
  for (const [i, s] of model.stages.entries()) {
    if (s.spec.type !== 'batchNorm') {
      specs.push(s.spec);
      continue;
    }
    const before = model.stages[i - 1]!;
    const layer = model.layers[before.param!]!;
    if (layer.quant) throw new InvalidArgumentError(`Layer ${before.param} is quantized: fold its batch norm before quantizing, not after.`);
    specs[specs.length - 1] = { ...(before.spec as LayerSpec & { type: 'conv2d' | 'dense' }), activation: s.activation };
    folds.set(before.param!, i);
  }
  const layers: DenseLayer[] = await Promise.all(
    model.layers.map(async (l, p) => {
      const at = folds.get(p);
      const stage = at === undefined ? undefined : model.stages[at]!;
      const { weight, bias } = stage ? await foldedWeights(l, model.norms[stage.norm!]!, normSettings(stage).eps) : { weight: await l.weight.read(), bias: await l.bias.read() };
      const folded: DenseLayer = { inputs: l.inputs, units: l.units, activation: stage?.activation ?? l.activation, weight: device.tensor(weight, [l.inputs, l.units]), bias: device.tensor(bias) };
      if (l.mask) folded.mask = device.tensor(await l.mask.read(), [l.inputs, l.units]);
      // A folded bias takes the batch norm's shift, so a pruned bias is pruned no longer.
      if (l.biasMask && !stage) folded.biasMask = device.tensor(await l.biasMask.read());
      return folded;
    }),
  );
  return new Sequential(device, [...model.inputShape], placeStages(model.inputShape, specs), layers);
}
