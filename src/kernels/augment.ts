/** Host side of shaders/augment.wgsl: random shifts of a batch of NHWC images. */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { pcg } from './hash.js';
import { dispatchLinear, output } from './launch.js';

type F32 = Tensor<'f32'>;

/** Image `image`'s shift [rows, columns] for a seed: the shader's choice, on the host (for references). */
export function shiftOf(image: number, seed: number, shift: number): [number, number] {
  const axis = (a: number) => (pcg(pcg((seed ^ (2 * image + a)) >>> 0)) % (2 * shift + 1)) - shift;
  return [axis(0), axis(1)];
}

/**
 * y: each image of x [n, h * w * c] (rows of NHWC images of `shape` [h, w, c]) moved by its own
 * whole-pixel shift in [-shift, shift] on both axes, chosen by `seed` (a 32-bit integer), with 0
 * where nothing moved in.
 */
export function shiftImages(x: F32, shape: readonly number[], shift: number, seed: number, out?: F32): F32 {
  const [h, w, c] = shape as [number, number, number];
  if (shape.length !== 3 || x.size % (h * w * c) !== 0) throw new InvalidArgumentError(`shiftImages: rows of [h, w, c] images, got [${shape.join(', ')}] for ${x.size} values.`);
  if (!(Number.isInteger(shift) && shift >= 0)) throw new InvalidArgumentError(`shiftImages: shift must be a whole number of pixels >= 0, got ${shift}.`);
  const y = output(x.device, x.shape, 'f32', out, 'shiftImages');
  dispatchLinear(x.device, 'augment', 'shift', { p: { n: x.size / (h * w * c), h, w, c, shift, seed: seed >>> 0 }, x, y }, x.size);
  return y;
}
