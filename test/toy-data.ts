/** A small classification problem for the tests: the angle of the first two features decides the class. */
import type { Dataset } from '../src/data/dataset.js';
import { Random } from '../src/random.js';

export function toyData(rows: number, cols: number, classes: number, seed: number): Dataset {
  const r = new Random(seed);
  const features = Float32Array.from({ length: rows * cols }, () => r.uniform(-1, 1));
  const labels = Int32Array.from({ length: rows }, (_, i) => {
    const a = features[i * cols]!,
      b = features[i * cols + 1]!;
    return Math.min(classes - 1, Math.floor(((Math.atan2(b, a) + Math.PI) / (2 * Math.PI)) * classes));
  });
  return { features, rows, cols, labels, classes };
}
