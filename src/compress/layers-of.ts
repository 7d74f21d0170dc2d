/** Which layers a compression step works on: all of them, or the given ones (checked, in order). */
import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../nn/model.js';

export function layersOf(model: Model, layers: readonly number[] | undefined): number[] {
  const all = model.layers.map((_, i) => i);
  if (!layers) return all;
  for (const i of layers) if (!all.includes(i)) throw new InvalidArgumentError(`No layer ${i}: the model has layers 0 to ${all.length - 1}.`);
  return [...new Set(layers)].sort((a, b) => a - b);
}
