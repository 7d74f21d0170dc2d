/**
 * Splitters with scikit-learn's semantics, so results can be cross-checked: without shuffling
 * they give exactly scikit-learn's folds; with shuffling they use shrinkray's seeded Random (the
 * folds then differ from NumPy's, the properties do not). A split is two ascending index arrays.
 */
import { InvalidArgumentError } from '../errors.js';
import { Random } from '../random.js';

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
}

export interface ShuffleOptions {
  shuffle?: boolean;
  seed?: number;
}

/** Something that splits n samples (with labels or groups when it needs them) into folds. */
export interface Splitter {
  readonly name: string;
  split(n: number, labels?: ArrayLike<number>): Split[];
}

/** Warnings scikit-learn would raise (a class smaller than k...), reported instead of printed. */
export type WarningSink = (message: string) => void;

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`Cannot split ${n} samples: need at least 1.`);
}

function checkK(k: number, n: number, what = 'samples'): void {
  if (!Number.isInteger(k) || k < 2) throw new InvalidArgumentError(`k must be an integer >= 2, got ${k}.`);
  if (k > n) throw new InvalidArgumentError(`k = ${k} folds cannot be more than the ${n} ${what}.`);
}

/** Splits from a fold number per sample: fold i is the test set of split i. */
function fromFolds(folds: Int32Array, k: number): Split[] {
  const splits: Split[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    folds.forEach((g, i) => (g === f ? test : train).push(i));
    splits.push({ train: Uint32Array.from(train), test: Uint32Array.from(test) });
  }
  return splits;
}

/**
 * KFold: consecutive folds (after an optional seeded shuffle); the first n % k folds hold one
 * sample more.
 */
export function kFold(k: number, options: ShuffleOptions = {}): Splitter {
  return {
    name: `${k}-fold${options.shuffle ? ' (shuffled)' : ''}`,
    split(n) {
      checkCount(n);
      checkK(k, n);
      const order = Uint32Array.from({ length: n }, (_, i) => i);
      if (options.shuffle) new Random(options.seed ?? 0).shuffle(order);
      const folds = new Int32Array(n);
      let start = 0;
      for (let f = 0; f < k; f++) {
        const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
        for (let i = start; i < start + size; i++) folds[order[i]!] = f;
        start += size;
      }
      return fromFolds(folds, k);
    },
  };
}

/** LeaveOneOut = KFold(n): every sample is the test set once. */
export function leaveOneOut(): Splitter {
  return { name: 'leave-one-out', split: (n) => (checkCount(n), n < 2 ? invalidLoo() : kFold(n).split(n)) };
}

function invalidLoo(): never {
  throw new InvalidArgumentError('Leave-one-out needs at least 2 samples.');
}

/** LeavePOut: every set of p samples is the test set once (C(n, p) splits; for small n). */
export function leavePOut(p: number, options: { maxSplits?: number } = {}): Splitter {
  const maxSplits = options.maxSplits ?? 100_000;
  return {
    name: `leave-${p}-out`,
    split(n) {
      checkCount(n);
      if (!Number.isInteger(p) || p < 1 || p >= n) throw new InvalidArgumentError(`p must be an integer from 1 to n - 1 = ${n - 1}, got ${p}.`);
      let count = 1;
      for (let i = 0; i < p; i++) count = (count * (n - i)) / (i + 1);
      if (count > maxSplits) throw new InvalidArgumentError(`Leave-${p}-out of ${n} samples makes ${Math.round(count)} splits (over ${maxSplits}); use k-fold.`);
      const splits: Split[] = [];
      const pick = Array.from({ length: p }, (_, i) => i);
      for (;;) {
        const inTest = new Set(pick);
        splits.push({
          train: Uint32Array.from({ length: n }, (_, i) => i).filter((i) => !inTest.has(i)),
          test: Uint32Array.from(pick),
        });
        // Next combination in lexicographic order, as itertools.combinations.
        let i = p - 1;
        while (i >= 0 && pick[i] === n - p + i) i--;
        if (i < 0) return splits;
        pick[i]!++;
        for (let j = i + 1; j < p; j++) pick[j] = pick[j - 1]! + 1;
      }
    },
  };
}

/**
 * StratifiedKFold (scikit-learn >= 0.22): classes are taken in order of first appearance; the
 * sorted labels are dealt round-robin to the folds, so each fold keeps the class proportions.
 * More folds than samples in every class is an error; more than the smallest class is a warning.
 */
export function stratifiedKFold(k: number, options: ShuffleOptions & { warn?: WarningSink } = {}): Splitter {
  return {
    name: `stratified ${k}-fold${options.shuffle ? ' (shuffled)' : ''}`,
    split(n, labels) {
      checkCount(n);
      if (!labels || labels.length !== n) throw new InvalidArgumentError(`Stratified k-fold needs one label per sample (${labels?.length ?? 0} labels for ${n} samples).`);
      checkK(k, n);
      const first = new Map<number, number>();
      Array.from(labels).forEach((l) => first.has(l) || first.set(l, first.size));
      const encoded = Int32Array.from(labels, (l) => first.get(l)!);
      const classes = first.size;
      const counts = new Array<number>(classes).fill(0);
      for (const c of encoded) counts[c]!++;
      if (classes < 2) throw new InvalidArgumentError('Stratified k-fold needs at least 2 classes (scikit-learn would not stratify one class either).');
      if (counts.every((c) => c < k)) throw new InvalidArgumentError(`k = ${k} cannot be greater than the number of members in each class.`);
      const least = Math.min(...counts);
      if (least < k) (options.warn ?? console.warn)(`The least populated class has only ${least} members, which is less than k = ${k}.`);
      const sorted = Int32Array.from(encoded).sort();
      // allocation[f][c]: how many of class c fold f receives (sorted labels dealt round-robin).
      const allocation = Array.from({ length: k }, () => new Array<number>(classes).fill(0));
      sorted.forEach((c, i) => allocation[i % k]![c]!++);
      const random = new Random(options.seed ?? 0);
      const folds = new Int32Array(n);
      for (let c = 0; c < classes; c++) {
        const forClass: number[] = [];
        for (let f = 0; f < k; f++) for (let j = 0; j < allocation[f]![c]!; j++) forClass.push(f);
        if (options.shuffle) random.shuffle(forClass);
        let next = 0;
        encoded.forEach((e, i) => e === c && (folds[i] = forClass[next++]!));
      }
      return fromFolds(folds, k);
    },
  };
}

/**
 * GroupKFold: a group never spans two folds. Groups go, largest first, to the fold with the
 * fewest samples so far (scikit-learn's greedy balancing). `labels` here are the group ids.
 * Among groups of equal size the one with the higher id goes first: scikit-learn takes
 * `argsort(sizes)[::-1]`, and numpy's default sort orders equal sizes by index for up to 16
 * groups (it sorts short arrays by insertion), so the reversal puts higher ids first. Past 16
 * groups numpy's quicksort is not stable and scikit-learn's order of ties depends on the numpy
 * build; this rule stays the same there.
 */
export function groupKFold(k: number): Splitter {
  return {
    name: `group ${k}-fold`,
    split(n, groups) {
      checkCount(n);
      if (!groups || groups.length !== n) throw new InvalidArgumentError(`Group k-fold needs one group id per sample (${groups?.length ?? 0} for ${n} samples).`);
      const ids = [...new Set(Array.from(groups))].sort((a, b) => a - b);
      checkK(k, ids.length, 'groups');
      const index = new Map(ids.map((g, i) => [g, i]));
      const sizes = new Array<number>(ids.length).fill(0);
      for (const g of Array.from(groups)) sizes[index.get(g)!]!++;
      const byLargest = ids.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || b - a);
      const load = new Array<number>(k).fill(0);
      const foldOfGroup = new Int32Array(ids.length);
      for (const g of byLargest) {
        const lightest = load.indexOf(Math.min(...load));
        load[lightest]! += sizes[g]!;
        foldOfGroup[g] = lightest;
      }
      return fromFolds(
        Int32Array.from(groups, (g) => foldOfGroup[index.get(g)!]!),
        k,
      );
    },
  };
}

export interface TrainTestOptions extends ShuffleOptions {
  /** Fraction (0, 1) or count of test samples; default 0.25 (or the complement of trainSize). */
  testSize?: number;
  trainSize?: number;
  /** Labels to keep the class proportions in both parts (needs shuffle). */
  stratify?: ArrayLike<number>;
}

/**
 * train_test_split: n_test = ceil(testSize * n) for a fraction, n_train = floor(trainSize * n)
 * or the rest. Without shuffling, train is the first n_train samples and test the next n_test.
 * With stratify, each class gives its share to the test set (largest remainders first).
 */
export function trainTestSplit(n: number, options: TrainTestOptions = {}): Split {
  checkCount(n);
  const shuffle = options.shuffle ?? true;
  if (!shuffle && options.stratify) throw new InvalidArgumentError('Stratified train/test split needs shuffle = true (as in scikit-learn).');
  const size = (v: number | undefined, name: string, round: (x: number) => number): number | undefined => {
    if (v === undefined) return undefined;
    if (!(v > 0) || (v < 1 ? false : !Number.isInteger(v)) || v >= n) throw new InvalidArgumentError(`${name} must be a fraction in (0, 1) or a count from 1 to n - 1 = ${n - 1}, got ${v}.`);
    return v < 1 ? round(v * n) : v;
  };
  let nTest = size(options.testSize, 'testSize', Math.ceil);
  let nTrain = size(options.trainSize, 'trainSize', Math.floor);
  if (nTest === undefined) nTest = nTrain === undefined ? Math.ceil(0.25 * n) : n - nTrain;
  if (nTrain === undefined) nTrain = n - nTest;
  if (nTrain < 1 || nTest < 1 || nTrain + nTest > n) throw new InvalidArgumentError(`train (${nTrain}) and test (${nTest}) sizes do not fit ${n} samples with at least one in each.`);
  const random = new Random(options.seed ?? 0);
  const sortAsc = (a: number[]) => Uint32Array.from(a).sort();
  if (!options.stratify) {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    if (shuffle) random.shuffle(order);
    return shuffle
      ? { test: sortAsc(Array.from(order.subarray(0, nTest))), train: sortAsc(Array.from(order.subarray(nTest, nTest + nTrain))) }
      : { train: order.slice(0, nTrain), test: order.slice(nTrain, nTrain + nTest) };
  }
  const labels = options.stratify;
  if (labels.length !== n) throw new InvalidArgumentError(`stratify has ${labels.length} labels for ${n} samples.`);
  const byClass = new Map<number, number[]>();
  Array.from(labels).forEach((l, i) => (byClass.get(l) ?? byClass.set(l, []).get(l)!).push(i));
  if (byClass.size < 2) throw new InvalidArgumentError('A stratified split needs at least 2 classes.');
  for (const [c, members] of byClass) if (members.length < 2) throw new InvalidArgumentError(`Class ${c} has only 1 member; a stratified split needs at least 2 per class.`);
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  // As scikit-learn's StratifiedShuffleSplit: the train share of each class first, then the test
  // share from what is left; each by largest remainder (ties to the smaller class id).
  const quota = (counts: number[], total: number) => {
    const sum = counts.reduce((a, b) => a + b, 0);
    const exact = counts.map((c) => (c * total) / sum);
    const take = exact.map(Math.floor);
    let left = total - take.reduce((a, b) => a + b, 0);
    const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of order) if (left > 0 && take[i]! < counts[i]!) take[i]!++, left--;
    return take;
  };
  const counts = classes.map((c) => byClass.get(c)!.length);
  const trainTake = quota(counts, nTrain);
  const testTake = quota(
    counts.map((c, i) => c - trainTake[i]!),
    nTest,
  );
  const train: number[] = [];
  const test: number[] = [];
  classes.forEach((c, i) => {
    const members = random.shuffle(byClass.get(c)!.slice());
    train.push(...members.slice(0, trainTake[i]));
    test.push(...members.slice(trainTake[i], trainTake[i]! + testTake[i]!));
  });
  return { train: sortAsc(train), test: sortAsc(test) };
}
