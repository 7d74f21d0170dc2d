import { describe, expect, it } from 'vitest';
import { groupKFold, kFold, leaveOneOut, leavePOut, stratifiedKFold, trainTestSplit, type Split } from '../src/validate/split.js';
import { InvalidArgumentError } from '../src/errors.js';
import { Random } from '../src/random.js';

const arr = (a: Uint32Array) => Array.from(a);

/** Test folds never overlap and cover every sample exactly once; train is the complement. */
function expectPartition(splits: Split[], n: number): void {
  const seen = new Array<number>(n).fill(0);
  for (const { train, test } of splits) {
    for (const i of test) seen[i]!++;
    const inTest = new Set(test);
    expect(arr(train)).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => !inTest.has(i)));
  }
  expect(seen.every((c) => c === 1)).toBe(true);
}

describe('splitters (scikit-learn semantics)', () => {
  it("k-fold without shuffling gives scikit-learn's consecutive folds, the first n % k one larger", () => {
    const splits = kFold(3).split(10);
    expect(splits.map((s) => arr(s.test))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]);
    expect(arr(splits[0]!.train)).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('every splitter partitions the samples, shuffled or not, for many sizes and seeds', () => {
    const r = new Random(1);
    for (let trial = 0; trial < 40; trial++) {
      const n = 15 + r.int(50);
      const k = 2 + r.int(4);
      const labels = Int32Array.from({ length: n }, () => r.int(3));
      labels.set([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2].slice(0, n)); // every class has >= k members
      const groups = Int32Array.from({ length: n }, () => r.int(8));
      expectPartition(kFold(k, { shuffle: trial % 2 === 0, seed: trial }).split(n), n);
      expectPartition(stratifiedKFold(k, { shuffle: trial % 2 === 0, seed: trial, warn: () => {} }).split(n, labels), n);
      if (new Set(groups).size >= k) {
        const splits = groupKFold(k).split(n, groups);
        expectPartition(splits, n);
        for (const { train, test } of splits) {
          const testGroups = new Set(Array.from(test, (i) => groups[i]));
          expect(Array.from(train).some((i) => testGroups.has(groups[i]!))).toBe(false);
        }
      }
    }
    expectPartition(leaveOneOut().split(7), 7);
  });

  it('shuffled folds depend on the seed only', () => {
    const a = kFold(4, { shuffle: true, seed: 3 })
      .split(20)
      .map((s) => arr(s.test));
    expect(
      kFold(4, { shuffle: true, seed: 3 })
        .split(20)
        .map((s) => arr(s.test)),
    ).toEqual(a);
    expect(
      kFold(4, { shuffle: true, seed: 4 })
        .split(20)
        .map((s) => arr(s.test)),
    ).not.toEqual(a);
  });

  it("stratified k-fold matches scikit-learn's documented example and keeps class proportions", () => {
    const doc = stratifiedKFold(2).split(4, [0, 0, 1, 1]);
    expect(doc.map((s) => [arr(s.train), arr(s.test)])).toEqual([
      [
        [1, 3],
        [0, 2],
      ],
      [
        [0, 2],
        [1, 3],
      ],
    ]);
    const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : i < 90 ? 1 : 2));
    for (const { test } of stratifiedKFold(5, { shuffle: true, seed: 1 }).split(100, labels)) {
      const counts = [0, 0, 0];
      for (const i of test) counts[labels[i]!]!++;
      expect(counts).toEqual([14, 4, 2]);
    }
  });

  it("group k-fold matches scikit-learn's documented example", () => {
    const splits = groupKFold(2).split(6, [0, 0, 2, 2, 3, 3]);
    expect(splits.map((s) => [arr(s.train), arr(s.test)])).toEqual([
      [
        [2, 3],
        [0, 1, 4, 5],
      ],
      [
        [0, 1, 4, 5],
        [2, 3],
      ],
    ]);
  });

  it('group k-fold breaks ties among equal-sized groups as scikit-learn 1.2 does (higher group id first)', () => {
    // sklearn.model_selection.GroupKFold(3).split(X, groups=[0, 1, 2, 3]): test folds [0, 3], [2], [1].
    expect(
      groupKFold(3)
        .split(4, [0, 1, 2, 3])
        .map((s) => arr(s.test)),
    ).toEqual([[0, 3], [2], [1]]);
    // Sizes 2, 1, 1, 2 (groups 5, 6, 7, 8): 8 then 5 (both size 2, higher id first), then 7, then 6.
    expect(
      groupKFold(2)
        .split(6, [5, 5, 6, 7, 8, 8])
        .map((s) => arr(s.test)),
    ).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
  });

  it('leave-one-out and leave-p-out enumerate like scikit-learn', () => {
    expect(
      leaveOneOut()
        .split(3)
        .map((s) => arr(s.test)),
    ).toEqual([[0], [1], [2]]);
    expect(
      leavePOut(2)
        .split(4)
        .map((s) => arr(s.test)),
    ).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect(() => leavePOut(5).split(40)).toThrow(/658008 splits/);
  });

  it('train/test split: sizes as scikit-learn rounds them, stratified proportions', () => {
    const plain = trainTestSplit(10, { shuffle: false });
    expect([arr(plain.train), arr(plain.test)]).toEqual([
      [0, 1, 2, 3, 4, 5, 6],
      [7, 8, 9],
    ]);
    const shuffled = trainTestSplit(10, { seed: 2, testSize: 0.3 });
    expect(shuffled.test.length).toBe(3);
    expect([...shuffled.train, ...shuffled.test].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trainTestSplit(10, { trainSize: 0.55 }).train.length).toBe(5);
    const labels = Int32Array.from({ length: 40 }, (_, i) => (i < 30 ? 0 : 1));
    const s = trainTestSplit(40, { stratify: labels, testSize: 0.25, seed: 1 });
    // Each class within one sample of its exact share (7.5 and 2.5: a tie, broken by class order).
    const ones = Array.from(s.test, (i) => labels[i]).filter((l) => l === 1).length;
    expect(Math.abs(ones - 2.5)).toBeLessThan(1);
    expect(s.test.length).toBe(10);
    expect(s.train.length).toBe(30);
  });

  it('rejects bad settings like scikit-learn, and warns where it warns', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => kFold(1).split(10), /k must be an integer >= 2/],
      [() => kFold(11).split(10), /cannot be more than the 10 samples/],
      [() => kFold(2).split(0), /Cannot split 0 samples/],
      [() => stratifiedKFold(2).split(4, [0, 1, 1]), /one label per sample/],
      [() => stratifiedKFold(2).split(4, [1, 1, 1, 1]), /at least 2 classes/],
      [() => stratifiedKFold(3).split(4, [0, 0, 1, 1]), /cannot be greater than the number of members in each class/],
      [() => groupKFold(3).split(4, [0, 0, 1, 1]), /cannot be more than the 2 groups/],
      [() => trainTestSplit(10, { testSize: 0 }), /testSize must be/],
      [() => trainTestSplit(10, { testSize: 10 }), /testSize must be/],
      [() => trainTestSplit(10, { testSize: 1.5 }), /testSize must be/],
      [() => trainTestSplit(4, { shuffle: false, stratify: [0, 0, 1, 1] }), /needs shuffle = true/],
      [() => trainTestSplit(4, { stratify: [0, 1, 1, 1] }), /Class 0 has only 1 member/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(InvalidArgumentError);
      expect(f).toThrow(message);
    }
    const warnings: string[] = [];
    stratifiedKFold(3, { warn: (m) => warnings.push(m) }).split(7, [0, 0, 0, 0, 0, 1, 1]);
    expect(warnings).toEqual(['The least populated class has only 2 members, which is less than k = 3.']);
  });
});
