import { describe, expect, it } from 'vitest';
import { crossValidate, standardizeInFold } from '../src/validate/cross-validate.js';
import { kFold, leaveOneOut, stratifiedKFold } from '../src/validate/split.js';
import { Standardizer } from '../src/data/csv.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { subset, type Dataset } from '../src/data/dataset.js';
import { iris } from './iris.js';
import { useDevice } from './helpers.js';

describe('validation in training and across folds', () => {
  const ctx = useDevice('llvmpipe');
  const data = (() => {
    const d = iris();
    return Standardizer.fit(d).transform(d);
  })();
  const fitOptions = { epochs: 40, batchSize: 16, learningRate: 0.05, optimizer: { type: 'sgd' as const, momentum: 0.9 }, seed: 1 };

  it('preprocessing is fitted inside each fold on its training rows only (no test row leaks into it)', async () => {
    const { device } = ctx;
    const raw = iris();
    // A feature whose scale differs wildly in the last 30 rows: global statistics would carry them into every fold.
    const features = raw.features.slice();
    for (let r = 120; r < 150; r++) features[r * 4] = features[r * 4]! * 1000;
    const leaky = { ...raw, features };
    const seen: number[][] = [];
    const spy = (train: Dataset) => {
      seen.push(Array.from({ length: train.rows }, (_, r) => train.features[r * 4]!));
      return standardizeInFold(train);
    };
    const splitter = kFold(5);
    const inFold = await crossValidate((fold) => MLP.create(device, [4, 8, 3], { seed: fold }), leaky, { splitter, fit: { ...fitOptions, epochs: 5 }, preprocess: spy });
    const splits = splitter.split(150);
    expect(seen).toHaveLength(5);
    splits.forEach(({ train }, f) => expect(seen[f]).toEqual(Array.from(train, (r) => features[r * 4]!))); // exactly the fold's training rows
    // Standardizing all rows first (the leak) gives other numbers for the fold whose test rows are the scaled ones.
    const global = await crossValidate((fold) => MLP.create(device, [4, 8, 3], { seed: fold }), Standardizer.fit(leaky).transform(leaky), { splitter, fit: { ...fitOptions, epochs: 5 } });
    expect(inFold.folds[4]!.scores.logLoss).not.toBeCloseTo(global.folds[4]!.scores.logLoss!, 3);
  });

  it('stratified 5-fold cross-validation of Iris: per-fold scores, mean and std, folds from one upload', async () => {
    const { device } = ctx;
    const uploadsBefore = device.memory().buffersCreated;
    const cv = await crossValidate((fold) => MLP.create(device, [4, 16, 3], { seed: fold }), data, { splitter: stratifiedKFold(5), fit: fitOptions });
    expect(cv.folds).toHaveLength(5);
    for (const f of cv.folds) {
      expect([f.trainRows, f.testRows]).toEqual([120, 30]);
      expect(f.scores.accuracy).toBeGreaterThan(0.8);
      expect(f.fitSeconds).toBeGreaterThan(0);
    }
    expect(cv.mean.accuracy).toBeGreaterThan(0.9);
    const accs = cv.folds.map((f) => f.scores.accuracy!);
    expect(cv.mean.accuracy).toBeCloseTo(accs.reduce((a, b) => a + b) / 5, 12);
    expect(cv.std.accuracy).toBeCloseTo(Math.sqrt(accs.reduce((a, b) => a + (b - cv.mean.accuracy!) ** 2, 0) / 5), 12);
    expect(device.memory().buffersCreated - uploadsBefore).toBeLessThan(200); // buffers are pooled across folds
  });

  it('fold scores equal training on the fold as its own dataset (index gathers change nothing)', async () => {
    const { device } = ctx;
    const [split] = kFold(3, { shuffle: true, seed: 2 }).split(data.rows);
    const cv = await crossValidate(() => MLP.create(device, [4, 8, 3], { seed: 7 }), data, { splitter: { name: 'first fold', split: () => [split!] }, fit: { ...fitOptions, epochs: 5 } });
    const model = MLP.create(device, [4, 8, 3], { seed: 7 });
    // The same rows in the same order: a fit on the subset shuffles positions identically.
    await fit(model, subset(data, split!.train), { ...fitOptions, epochs: 5 });
    expect(cv.folds[0]!.scores.accuracy).toBe((await evaluate(model, subset(data, split!.test))).accuracy);
    model.dispose();
  });

  it('a compression step runs inside each fold and its model is the one scored', async () => {
    const { device } = ctx;
    const seen: number[] = [];
    const cv = await crossValidate(() => MLP.create(device, [4, 8, 3], { seed: 1 }), data, {
      splitter: kFold(3, { shuffle: true, seed: 1 }),
      fit: { ...fitOptions, epochs: 10 },
      compress: async (model, fold) => {
        seen.push(fold);
        // "Compress" to a model that always predicts class 0: scored accuracy must collapse.
        const w = await model.read();
        return MLP.fromWeights(
          model.device,
          model.layers.map((l, i) => ({ ...l, weight: new Float32Array(w[i]!.weight.length), bias: Float32Array.from(w[i]!.bias, (_, j) => (i === model.layers.length - 1 && j === 0 ? 1 : 0)) })),
        );
      },
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(cv.mean.accuracy).toBeLessThan(0.5);
  });

  it('leave-one-out on a small sample runs one fold per row', async () => {
    const { device } = ctx;
    const small = subset(
      data,
      Array.from({ length: 24 }, (_, i) => i * 6),
    );
    const cv = await crossValidate(() => MLP.create(device, [4, 8, 3], { seed: 3 }), small, { splitter: leaveOneOut(), fit: { ...fitOptions, epochs: 15 } });
    expect(cv.folds).toHaveLength(24);
    expect(cv.folds.every((f) => f.testRows === 1 && (f.scores.accuracy === 0 || f.scores.accuracy === 1))).toBe(true);
    expect(cv.mean.accuracy).toBeGreaterThan(0.7);
  });

  it('bad data reaches no GPU work: NaN features, too many folds', async () => {
    const { device } = ctx;
    const make = () => MLP.create(device, [4, 8, 3]);
    const nan = { ...data, features: data.features.slice() };
    nan.features[9] = Infinity;
    await expect(crossValidate(make, nan, { splitter: kFold(3), fit: fitOptions })).rejects.toThrow(/feature Infinity at row 2, column 1/);
    await expect(crossValidate(make, data, { splitter: kFold(151), fit: fitOptions })).rejects.toThrow(/cannot be more than the 150 samples/);
  });

  it('validationSplit and early stopping restore the best epoch', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [4, 32, 3], { seed: 4 });
    let bestWeights: Float32Array | undefined;
    let bestLoss = Infinity;
    // Iris is sorted by species and validationSplit holds out the last rows: interleave them first.
    const interleaved = subset(
      data,
      Array.from({ length: 150 }, (_, i) => (i * 37) % 150),
    );
    const history = await fit(model, interleaved, {
      ...fitOptions,
      epochs: 200,
      learningRate: 0.3,
      validationSplit: 0.3,
      earlyStopping: { patience: 5 },
      onEpoch: async (e) => {
        if (e.valLoss! < bestLoss) {
          bestLoss = e.valLoss!;
          bestWeights = (await model.read())[0]!.weight;
        }
      },
    });
    expect(history.stoppedEarly).toBe(true);
    expect(history.loss.length).toBeLessThan(200);
    expect(history.bestEpoch).toBe(history.valLoss.indexOf(Math.min(...history.valLoss)) + 1);
    expect(history.loss.length - history.bestEpoch!).toBe(5);
    expect(Array.from((await model.read())[0]!.weight)).toEqual(Array.from(bestWeights!));
    await expect(fit(model, data, { ...fitOptions, earlyStopping: { patience: 2 } })).rejects.toThrow(/needs validationData or validationSplit/);
    model.dispose();
  });
});
