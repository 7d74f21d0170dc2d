/**
 * Data augmentation for image models, as a training hook: each batch's images are rotated by a
 * random small angle about their centre and shifted by a random whole number of pixels on both
 * axes (torchvision's RandomAffine degrees and translate; bilinear, the uncovered border 0), on
 * the GPU, before the forward pass. Angles and shifts follow the hook's seed and the step, so a
 * run repeats exactly. Evaluation and prediction see the images as they are.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { augmentImages } from '../kernels/augment.js';
import { copy } from '../kernels/elementwise.js';
import { mixSeeds } from '../kernels/hash.js';
import type { TrainingHook } from './hooks.js';
import { Sequential } from './sequential.js';

export interface ImageAugmentation {
  /** Largest shift in pixels on each axis (e.g. 2 on MNIST's 28 x 28). */
  shift: number;
  /** Largest rotation in degrees either way (default 0: none; e.g. 10). */
  rotate?: number;
  /** Seed of the shifts (default 0). */
  seed?: number;
}

export function imageAugmentation(options: ImageAugmentation): TrainingHook {
  const { shift } = options;
  const degrees = options.rotate ?? 0;
  if (!(Number.isInteger(shift) && shift >= 0)) throw new InvalidArgumentError(`imageAugmentation: shift must be a whole number of pixels >= 0, got ${shift}.`);
  if (!(degrees >= 0 && degrees <= 180)) throw new InvalidArgumentError(`imageAugmentation: rotate must be in [0, 180] degrees, got ${degrees}.`);
  const transform = { shift, rotate: (degrees * Math.PI) / 180 };
  let shape: number[] = [];
  const shifted = new Map<number, Tensor<'f32'>>(); // per batch size
  return {
    name: 'imageAugmentation',
    begin({ model, data }) {
      const image = model instanceof Sequential && model.inputShape.length === 3 ? model.inputShape : data.data.imageShape;
      if (image?.length !== 3) throw new InvalidArgumentError('imageAugmentation shifts images: the model must take [h, w, c] images, or the data must say its imageShape.');
      shape = image;
    },
    batch(x, run) {
      const rows = x.shape[0]!;
      let out = shifted.get(rows);
      if (!out) shifted.set(rows, (out = x.device.empty(x.shape)));
      augmentImages(x, shape, transform, mixSeeds(options.seed ?? 0, run.step), out);
      copy(out, x);
    },
    dispose() {
      for (const t of shifted.values()) t.dispose();
      shifted.clear();
    },
  };
}
