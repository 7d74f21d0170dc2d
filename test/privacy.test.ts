import { describe, expect, it } from 'vitest';
import { auditPrivacy, compareLeakage, rocAuc, rocCurve } from '../src/validate/privacy.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { InvalidArgumentError, ShapeError } from '../src/errors.js';
import { Random } from '../src/random.js';
import { randomArray, relativeError, useDevice } from './helpers.js';
import { perSample } from '../src/kernels/metrics.js';

describe('attack scores (CPU definitions)', () => {
  it('AUC by ranks equals the pairwise probability with ties counted one half', () => {
    const r = new Random(1);
    for (let trial = 0; trial < 20; trial++) {
      const pos = Array.from({ length: 5 + r.int(30) }, () => r.int(8)); // few values: many ties
      const neg = Array.from({ length: 5 + r.int(30) }, () => r.int(8));
      let pairs = 0;
      for (const a of pos) for (const b of neg) pairs += a > b ? 1 : a === b ? 0.5 : 0;
      expect(rocAuc(pos, neg)).toBeCloseTo(pairs / (pos.length * neg.length), 12);
    }
  });

  it('the ROC curve scans every threshold; the advantage and TPR at low FPR follow from it', () => {
    const pos = [0.9, 0.8, 0.8, 0.3],
      neg = [0.8, 0.5, 0.2, 0.1];
    const { fpr, tpr } = rocCurve(pos, neg);
    expect(tpr).toEqual([0, 0.25, 0.75, 0.75, 1, 1, 1]);
    expect(fpr).toEqual([0, 0, 0.25, 0.5, 0.5, 0.75, 1]);
    // Brute force over thresholds between every pair of sorted distinct scores.
    const thresholds = [...new Set([...pos, ...neg, Infinity])];
    const best = Math.max(...thresholds.map((t) => pos.filter((s) => s >= t).length / 4 - neg.filter((s) => s >= t).length / 4));
    expect(Math.max(...tpr.map((t, i) => t - fpr[i]!))).toBe(best);
  });
});

describe('membership inference on the GPU', () => {
  const ctx = useDevice('llvmpipe');
  const randomLabelled = (rows: number, seed: number) => {
    const r = new Random(seed);
    return { features: randomArray(rows * 20, seed), rows, cols: 20, labels: Int32Array.from({ length: rows }, () => r.int(4)), classes: 4 };
  };

  it('per-sample losses and confidences match float64, and confident rows stay distinct (no f32 saturation)', async () => {
    const { device } = ctx;
    const rows: number[][] = [
      [20, 0, 0],
      [30, 0, 0],
      [30, 1, 0],
      [2, 1, 0],
      [0, 5, 1],
      [10, 10, 0],
    ];
    const labels = [0, 0, 0, 0, 2, 1];
    const samples = device.empty([4 * rows.length]);
    perSample(device.tensor(Float32Array.from(rows.flat()), [rows.length, 3]), device.tensor(Int32Array.from(labels)), samples, 0);
    const got = await samples.read();
    rows.forEach((z, r) => {
      const m = Math.max(...z);
      const tail = z.reduce((acc, v, c) => acc + (c === z.indexOf(m) ? 0 : Math.exp(v - m)), 0);
      const loss = Math.log(z.reduce((acc, v) => acc + Math.exp(v - z[labels[r]!]!), 0));
      const want = [loss, tail / (1 + tail), Math.exp(z[labels[r]!]! - m) / (1 + tail), z.indexOf(m) === labels[r] ? 1 : 0];
      expect(relativeError(Array.from(got.subarray(4 * r, 4 * r + 4)), want), `row ${r}`).toBeLessThan(1e-5);
    });
    expect(got[0]!).toBeGreaterThan(got[4]!); // e^-20-sized losses are told apart from e^-30-sized ones
    expect(got[4]!).toBeGreaterThan(0);
  });

  it('a model that memorized random labels leaks: AUC near 1; an unseen split: AUC near 0.5', async () => {
    const { device } = ctx;
    const members = randomLabelled(60, 1),
      nonMembers = randomLabelled(60, 2);
    const model = MLP.create(device, [20, 128, 4], { seed: 1 });
    await fit(model, members, { epochs: 300, batchSize: 20, learningRate: 0.05, optimizer: { type: 'adam' } });
    const leak = await auditPrivacy(model, members, nonMembers, { seed: 1 });
    expect(leak.members).toBe(60);
    expect(leak.trainAccuracy).toBe(1);
    expect(leak.generalizationGap).toBeGreaterThan(0.5);
    for (const a of leak.attacks.filter((x) => x.attack !== 'confidence')) expect(a.auc, a.attack).toBeGreaterThan(0.95);
    expect(leak.attacks[0]!.advantage).toBeGreaterThan(0.8);

    // Two halves of one unseen distribution: no membership at all. Null AUC standard error for
    // n = 500 a side is sqrt((2n + 1) / (12 n^2)) = 0.018; allow 4 of them.
    const halfA = randomLabelled(500, 3),
      halfB = randomLabelled(500, 4);
    const none = await auditPrivacy(model, halfA, halfB, { seed: 2 });
    for (const a of none.attacks) expect(Math.abs(a.auc - 0.5), a.attack).toBeLessThan(4 * Math.sqrt(1001 / (12 * 500 * 500)));
    model.dispose();
  });

  it('compares variants on the same rows, and refuses unusable input', async () => {
    const { device } = ctx;
    const data = randomLabelled(40, 5),
      held = randomLabelled(40, 6);
    const a = MLP.create(device, [20, 8, 4], { seed: 1 }),
      b = MLP.create(device, [20, 8, 4], { seed: 2 });
    const both = await compareLeakage({ dense: a, other: b }, data, held, { samples: 30 });
    expect(Object.keys(both)).toEqual(['dense', 'other']);
    expect(both.dense!.members).toBe(30);
    await expect(auditPrivacy(a, { ...data, cols: 10, features: data.features.slice(0, 400) }, held)).rejects.toThrow(ShapeError);
    await expect(auditPrivacy(a, randomLabelled(9, 7), held)).rejects.toThrow(/at least 10 per side/);
    const nan = randomLabelled(20, 8);
    nan.features[3] = NaN;
    await expect(auditPrivacy(a, nan, held)).rejects.toThrow(/feature NaN/);
    await expect(auditPrivacy(a, { ...data, labels: undefined, targets: new Float32Array(40), targetCols: 1 }, held)).rejects.toThrow(InvalidArgumentError);
    a.dispose();
    b.dispose();
  });
});
