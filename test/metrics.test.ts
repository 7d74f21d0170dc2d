import { describe, expect, it } from 'vitest';
import { scoresFromConfusion, testMetrics, type ClassificationMetrics, type RegressionMetrics } from '../src/validate/metrics.js';
import { comparePredictions, compareModels, mcnemarExact } from '../src/validate/compare.js';
import { MLP } from '../src/nn/mlp.js';
import { Random } from '../src/random.js';
import { randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { refForward, toRef } from './reference-mlp.js';

describe('metric definitions', () => {
  it("precision, recall and F1 match scikit-learn's documented example", () => {
    // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
    const s = scoresFromConfusion([
      [2, 0, 0],
      [1, 0, 1],
      [0, 2, 0],
    ]);
    expect(s.precision.macro).toBeCloseTo(2 / 9, 12);
    expect(s.precision.micro).toBeCloseTo(1 / 3, 12);
    expect(s.precision.weighted).toBeCloseTo(2 / 9, 12);
    expect(s.recall.macro).toBeCloseTo(1 / 3, 12);
    expect(s.f1.macro).toBeCloseTo(0.8 / 3, 12);
    expect(s.f1.weighted).toBeCloseTo(0.8 / 3, 12);
    // classification_report of the same example: class 0 precision 0.67 recall 1.00 f1 0.80 support 2,
    // classes 1 and 2 all 0 with support 2.
    expect(s.perClass[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(s.perClass[0]!.f1).toBeCloseTo(0.8, 12);
    expect(s.perClass.map((c) => [c.recall, c.support])).toEqual([
      [1, 2],
      [0, 2],
      [0, 2],
    ]);
  });

  it("binary averages of a positive label (scikit-learn's average='binary', pos_label)", async () => {
    // y_true = [0, 1, 1, 0, 1], y_pred = [0, 1, 0, 1, 1]: precision_score(pos_label=1) = 2/3, recall 2/3.
    const s = scoresFromConfusion([
      [1, 1],
      [1, 2],
    ]);
    expect([s.perClass[1]!.precision, s.perClass[1]!.recall, s.perClass[1]!.f1]).toEqual([2 / 3, 2 / 3, 2 / 3]);
    expect([s.perClass[0]!.precision, s.perClass[0]!.recall]).toEqual([0.5, 0.5]);
  });

  it('averages skip classes absent from both labels and predictions', () => {
    const s = scoresFromConfusion([
      [3, 1, 0],
      [0, 4, 0],
      [0, 0, 0],
    ]);
    expect(s.precision.macro).toBeCloseTo((1 + 0.8) / 2, 12);
  });

  it("McNemar's exact test", () => {
    expect(mcnemarExact(10, 2)).toBeCloseTo(158 / 4096, 12); // 2 * P(X <= 2), X ~ Bin(12, 1/2)
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(0, 25)).toBeCloseTo(2 / 2 ** 25, 20);
  });

  it('comparison: agreement, difference, a bootstrap interval around it, seeded', () => {
    const r = new Random(1);
    const labels = Int32Array.from({ length: 2000 }, () => r.int(10));
    const a = labels.map((l) => (r.next() < 0.9 ? l : (l + 1) % 10));
    const b = labels.map((l, i) => (i % 10 === 0 ? (l + 1) % 10 : a[i]!));
    const c = comparePredictions(labels, a, b, { seed: 3 });
    expect(c.difference).toBeCloseTo(c.accuracyB - c.accuracyA, 12);
    expect(c.interval[0]).toBeLessThanOrEqual(c.difference);
    expect(c.interval[1]).toBeGreaterThanOrEqual(c.difference);
    expect(c.interval[1]).toBeLessThan(0); // B breaks 10 % of rows: a real loss, and the interval says so
    expect(c.pValue).toBeLessThan(1e-6);
    expect(comparePredictions(labels, a, b, { seed: 3 }).interval).toEqual(c.interval);
    // Each model's accuracy interval brackets it, about as wide as the normal approximation says.
    for (const [acc, [lo, hi]] of [
      [c.accuracyA, c.intervalA],
      [c.accuracyB, c.intervalB],
    ] as const) {
      expect(lo).toBeLessThan(acc);
      expect(hi).toBeGreaterThan(acc);
      const normal = 2 * 1.96 * Math.sqrt((acc * (1 - acc)) / labels.length);
      expect(hi - lo).toBeGreaterThan(0.8 * normal);
      expect(hi - lo).toBeLessThan(1.25 * normal);
    }
    const same = comparePredictions(labels, a, a);
    expect([same.difference, same.agreement, same.pValue, ...same.interval]).toEqual([0, 1, 1, 0, 0]);
    expect(() => comparePredictions(labels, a, b.subarray(1))).toThrow(/one prediction per label/);
  });
});

describe.each(testBackends())('metrics on the GPU (%s)', (backend) => {
  const ctx = useDevice(backend);

  it("top-k ranks tied outputs as scikit-learn's top_k_accuracy_score (higher class index first)", async () => {
    // Every row scores [.4, .4, .2]: sklearn gives 1/3 at k = 1 (only label 1 hits) and 2/3 at k = 2.
    const model = MLP.fromWeights(ctx.device, [{ inputs: 2, units: 3, activation: 'identity', weight: new Float32Array(6), bias: Float32Array.from([0.4, 0.4, 0.2]) }]);
    const data = { features: new Float32Array(6), rows: 3, cols: 2, labels: Int32Array.from([0, 1, 2]), classes: 3 };
    expect(((await testMetrics(model, data, { topK: 1 })) as ClassificationMetrics).topK!.accuracy).toBeCloseTo(1 / 3, 12);
    expect(((await testMetrics(model, data, { topK: 2 })) as ClassificationMetrics).topK!.accuracy).toBeCloseTo(2 / 3, 12);
    // Every row predicts class 0 (the first of the tied top scores, as numpy's argmax).
    const m = (await testMetrics(model, data, { positiveLabel: 0 })) as ClassificationMetrics;
    expect(m.binary).toEqual({ positive: 0, precision: 1 / 3, recall: 1, f1: 0.5, support: 1 });
    expect(m.perClass.map((c) => c.support)).toEqual([1, 1, 1]);
    await expect(testMetrics(model, data, { positiveLabel: 3 })).rejects.toThrow(/positiveLabel must be a class from 0 to 2/);
    model.dispose();
  });

  it('classification metrics match a float64 reference computed from the outputs', async () => {
    const { device } = ctx;
    const [rows, cols, C] = [1300, 12, 7];
    const r = new Random(2);
    const data = { features: randomArray(rows * cols, 3), rows, cols, labels: Int32Array.from({ length: rows }, () => r.int(C)), classes: C };
    const model = MLP.create(device, [cols, 20, C], { seed: 5 });
    const m = (await testMetrics(model, data, { topK: 3 })) as ClassificationMetrics;
    const z = refForward(await toRef(model), data.features, rows);
    const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    let top = 0,
      logLoss = 0;
    for (let i = 0; i < rows; i++) {
      const row = Array.from(z.subarray(i * C, (i + 1) * C));
      const label = data.labels[i]!;
      const pred = row.indexOf(Math.max(...row));
      confusion[label]![pred]!++;
      expect(m.predictions[i]).toBe(pred);
      if (row.filter((v, c) => v > row[label]! || (v === row[label]! && c > label)).length < 3) top++;
      const mx = Math.max(...row);
      logLoss += mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) - row[label]!;
    }
    expect(m.confusion).toEqual(confusion);
    expect(m.topK).toEqual({ k: 3, accuracy: top / rows });
    expect(relativeError([m.logLoss], [logLoss / rows])).toBeLessThan(1e-5);
    expect(m.accuracy).toBe(confusion.reduce((s, row, i) => s + row[i]!, 0) / rows);
    model.dispose();
  });

  it('regression metrics (MSE, MAE, R^2) match float64', async () => {
    const { device } = ctx;
    const [rows, cols, k] = [900, 5, 2];
    const data = { features: randomArray(rows * cols, 7), rows, cols, targets: randomArray(rows * k, 8, -2, 3), targetCols: k };
    const model = MLP.create(device, [cols, 8, k], { activation: 'tanh', seed: 2 });
    const m = (await testMetrics(model, data)) as RegressionMetrics;
    const z = refForward(await toRef(model), data.features, rows);
    let mse = 0,
      mae = 0,
      r2 = 0;
    for (let c = 0; c < k; c++) {
      let sq = 0,
        ab = 0,
        mean = 0,
        tot = 0;
      for (let i = 0; i < rows; i++) mean += data.targets[i * k + c]! / rows;
      for (let i = 0; i < rows; i++) {
        const d = z[i * k + c]! - data.targets[i * k + c]!;
        sq += d * d;
        ab += Math.abs(d);
        tot += (data.targets[i * k + c]! - mean) ** 2;
      }
      mse += sq / rows / k;
      mae += ab / rows / k;
      r2 += (1 - sq / tot) / k;
    }
    expect(relativeError([m.mse, m.mae, r2 === 0 ? 0 : m.r2], [mse, mae, r2])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('compareModels runs both models on one upload and finds a damaged copy worse', async () => {
    const { device } = ctx;
    const [rows, cols, C] = [800, 6, 3];
    const features = randomArray(rows * cols, 4);
    const labels = Int32Array.from({ length: rows }, (_, i) => (features[i * cols]! > 0.3 ? 2 : features[i * cols]! > -0.3 ? 1 : 0));
    const data = { features, rows, cols, labels, classes: C };
    const good = MLP.create(device, [cols, C], { seed: 1 });
    // A linear model that reads feature 0 with increasing weights per class, and a zeroed copy.
    const w = new Float32Array(cols * C);
    w.set([-8, 0, 8]);
    const sharp = MLP.fromWeights(device, [{ inputs: cols, units: C, activation: 'identity', weight: w, bias: new Float32Array([-3, 0, -3]) }]);
    const c = await compareModels(sharp, good, data, { seed: 1 });
    expect(c.accuracyA).toBeGreaterThan(0.9);
    expect(c.difference).toBeLessThan(0);
    expect(c.pValue).toBeLessThan(0.001);
    good.dispose();
    sharp.dispose();
  });
});
