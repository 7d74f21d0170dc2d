/** Host side of shaders/augment.wgsl: random rotations and shifts of a batch of NHWC images. */
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

/** Image `image`'s rotation in radians for a seed and largest angle: the shader's choice, on the host (24-bit uniform). */
export function angleOf(image: number, seed: number, rotate: number): number {
  const u = (pcg((pcg((seed ^ image) >>> 0) + 0x68e31da4) >>> 0) >>> 8) / 16777216;
  return (2 * u - 1) * rotate;
}

/**
 * y: each image of x [n, h * w * c] (rows of NHWC images of `shape` [h, w, c]) rotated about its
 * centre by its own angle in [-rotate, rotate] radians and moved by its own whole-pixel shift in
 * [-shift, shift] on both axes, chosen by `seed` (a 32-bit integer); pixels are sampled
 * bilinearly, 0 outside the image. Without rotation, whole pixels are copied exactly.
 */
export function augmentImages(x: F32, shape: readonly number[], options: { shift: number; rotate?: number }, seed: number, out?: F32): F32 {
  const { shift } = options;
  const rotate = options.rotate ?? 0;
  const [h, w, c] = shape as [number, number, number];
  if (shape.length !== 3 || x.size % (h * w * c) !== 0) throw new InvalidArgumentError(`augmentImages: rows of [h, w, c] images, got [${shape.join(', ')}] for ${x.size} values.`);
  if (!(Number.isInteger(shift) && shift >= 0)) throw new InvalidArgumentError(`augmentImages: shift must be a whole number of pixels >= 0, got ${shift}.`);
  if (!(rotate >= 0 && rotate <= Math.PI)) throw new InvalidArgumentError(`augmentImages: rotate must be an angle in [0, pi] radians, got ${rotate}.`);
  const y = output(x.device, x.shape, 'f32', out, 'augmentImages');
  dispatchLinear(x.device, 'augment', 'augment', { p: { n: x.size / (h * w * c), h, w, c, shift, seed: seed >>> 0, rotate }, x, y }, x.size);
  return y;
}
