import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/mlp.js';
import { cascade, cascadeCurve, cascadePredict, chooseThreshold } from '../src/validate/cascade.js';
import { InvalidArgumentError, ShapeError } from '../src/errors.js';
import { randomArray, useDevice } from './helpers.js';

describe('compressed/dense cascade', () => {
  const ctx = useDevice('llvmpipe');

  it('the small model answers confident rows, the large one the rest; the curve and the choice follow', async () => {
    const { device } = ctx;
    const small = MLP.create(device, [6, 4, 3], { seed: 1 });
    const large = MLP.create(device, [6, 20, 3], { seed: 2 });
    const rows = 90;
    const x = randomArray(rows * 6, 3, -3, 3);
    const ps = await small.predict(x, { probabilities: true });
    const pl = await large.predict(x, { probabilities: true });
    const argmax = (p: Float32Array, r: number) => [0, 1, 2].reduce((b, c) => (p[r * 3 + c]! > p[r * 3 + b]! ? c : b), 0);
    const conf = (r: number) => Math.max(ps[r * 3]!, ps[r * 3 + 1]!, ps[r * 3 + 2]!);
    const sorted = Array.from({ length: rows }, (_, r) => conf(r)).sort((a, b) => a - b);
    const t = sorted[30]!; // a third of the rows fall below it
    const answer = await cascade(small, large, { threshold: t }).predict(x);
    expect(Array.from(answer.deferred)).toEqual(Array.from({ length: rows }, (_, r) => r).filter((r) => conf(r) < t));
    expect(answer.deferred.length).toBe(30);
    for (let r = 0; r < rows; r++) expect(answer.classes[r]).toBe(conf(r) < t ? argmax(pl, r) : argmax(ps, r));
    expect((await cascadePredict(small, large, x, { threshold: 0 })).deferred.length).toBe(0);

    // Labels the large model gets right: the curve rises with the threshold.
    const labels = Int32Array.from({ length: rows }, (_, r) => argmax(pl, r));
    const curve = await cascadeCurve(small, large, { features: x, rows, cols: 6, labels, classes: 3 }, { thresholds: [0, t, 1], batch: 64, rounds: 1 });
    expect(curve.large.accuracy).toBe(1);
    expect(curve.points.map((p) => p.deferred)).toEqual([0, 30 / rows, 1]);
    expect(curve.points[2]!.accuracy).toBe(1);
    expect(curve.points[0]!.accuracy).toBeCloseTo(curve.small.accuracy, 12);
    for (const p of curve.points) expect(p.rowsPerSecond).toBeGreaterThan(0);
    // Within 0 points of the large model: only threshold 1; within all: threshold 0 (fewest deferred).
    expect(chooseThreshold(curve, { maxDrop: 0 }).threshold).toBe(1);
    expect(chooseThreshold(curve, { maxDrop: 0.99 }).threshold).toBe(0);
    expect(() => cascade(small, MLP.create(device, [5, 3]), { threshold: 0.5 })).toThrow(ShapeError);
    expect(() => cascade(small, large, { threshold: 2 })).toThrow(InvalidArgumentError);
    small.dispose();
    large.dispose();
  });
});
