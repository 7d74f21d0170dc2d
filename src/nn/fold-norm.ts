/**
 * A batch norm folded into the layer before it, at inference: per output channel c,
 *   s = gamma / sqrt(running var + eps),  W'[:, c] = W[:, c] * s[c],  b'[c] = (b[c] - mean[c]) * s[c] + beta[c]
 * so act(BN(x W + b)) = act(x W' + b'). Sequential's inference and compress/fold.ts use it.
 */
import type { NormParams } from '../kernels/batchnorm.js';
import type { DenseLayer } from './mlp.js';

/** The folded weight [inputs, units] and bias [units] of `layer` and its batch norm, read back and computed in float64. */
export async function foldedWeights(layer: DenseLayer, norm: NormParams, eps: number): Promise<{ weight: Float32Array; bias: Float32Array }> {
  const [weight, bias, gamma, beta, running] = await Promise.all([layer.weight.read(), layer.bias.read(), norm.gamma.read(), norm.beta.read(), norm.running.read()]);
  const units = layer.units;
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(running[units + c]! + eps));
  return {
    weight: Float32Array.from(weight, (w, e) => w * scale[e % units]!),
    bias: Float32Array.from(bias, (b, c) => (b - running[c]!) * scale[c]! + beta[c]!),
  };
}
