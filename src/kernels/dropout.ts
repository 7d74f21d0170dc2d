/** Host side of shaders/dropout.wgsl: inverted dropout for training, with the mask kept for the backward pass. */
import type { Tensor } from '../gpu/tensor.js';
import { InvalidArgumentError } from '../errors.js';
import { pcg } from './hash.js';
import { mul } from './elementwise.js';
import { dispatchLinear, output } from './launch.js';

type F32 = Tensor<'f32'>;

/** Whether element i of a dropout with this rate and seed is dropped: the shader's test, on the host (for references). */
export function dropped(i: number, seed: number, rate: number): boolean {
  return pcg((i ^ pcg(seed >>> 0)) >>> 0) < threshold(rate);
}

const threshold = (rate: number) => Math.min(2 ** 32 - 1, Math.round(rate * 2 ** 32));

/**
 * y = x * keep, keep[i] = 0 (dropped with probability `rate`) or 1 / (1 - rate); `seed` (a 32-bit
 * integer) decides which, so the same seed drops the same elements.
 */
export function dropout(x: F32, rate: number, seed: number, out: { y?: F32; keep?: F32 } = {}): { y: F32; keep: F32 } {
  if (!(rate >= 0 && rate < 1)) throw new InvalidArgumentError(`dropout: rate must be in [0, 1), got ${rate}.`);
  const y = output(x.device, x.shape, 'f32', out.y, 'dropout');
  const keep = output(x.device, x.shape, 'f32', out.keep, 'dropout');
  dispatchLinear(x.device, 'dropout', 'dropout_forward', { p: { n: x.size, seed: seed >>> 0, threshold: threshold(rate), scale: 1 / (1 - rate) }, x, y, keep }, x.size);
  return { y, keep };
}

/** dx = dy * keep (keep from the forward pass): an elementwise product. */
export const dropoutBackward = (dy: F32, keep: F32, out?: F32): F32 => mul(dy, keep, out);
