import { describe, expect, it } from 'vitest';
import { prune, pruneReport } from '../src/compress/prune.js';
import { selectKey } from '../src/kernels/prune.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { InvalidArgumentError, ShapeError } from '../src/errors.js';
import { Random } from '../src/random.js';
import { randomArray, testBackends, useDevice } from './helpers.js';

/** Weights with many exact ties (a few distinct magnitudes, signs mixed, some zeros). */
function tiedWeights(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => (r.int(12) - 6) * 0.125);
}

/** The indices (global) of the k smallest (|w|, index) keys. */
function smallestKeys(all: Float32Array, k: number): Set<number> {
  const order = Array.from(all, (v, i) => [Math.abs(v), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return new Set(order.slice(0, k).map(([, i]) => i));
}

describe.each(testBackends())('pruning on %s', (backend) => {
  const ctx = useDevice(backend);

  it('radix select finds the exact k-th key, ties broken by index', async () => {
    const { device } = ctx;
    for (const [n, seed] of [
      [1, 1],
      [257, 2],
      [70_001, 3],
    ] as const) {
      const w = tiedWeights(n, seed);
      const t = device.tensor(w);
      const sorted = Array.from(w, (v, i) => [Math.abs(v), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const k of [0, Math.floor(n / 3), n - 1]) {
        const key = await selectKey([{ w: t, base: 0 }], k);
        const [value, index] = sorted[k]!;
        expect(key.index).toBe(index);
        expect(key.bits).toBe(new Uint32Array(new Float32Array([value]).buffer)[0]);
      }
    }
  });

  it('per-layer and global sparsity prune exactly the smallest keys and nothing else', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [30, 20, 7], { seed: 1 });
    const before = (await model.read()).map((l) => l.weight);
    for (const [l, w] of before.entries()) model.layers[l]!.weight.write(tiedWeights(w.length, l + 4));
    const tied = (await model.read()).map((l) => l.weight);
    const report = await prune(model, { type: 'global', sparsity: 0.7 });
    const all = new Float32Array([...tied[0]!, ...tied[1]!]);
    const pruned = smallestKeys(all, all.length - Math.round(0.3 * all.length));
    const after = (await model.read()).map((l) => l.weight);
    const flat = [...after[0]!, ...after[1]!];
    flat.forEach((v, i) => expect(v === 0 ? true : !pruned.has(i), `weight ${i}`).toBe(true));
    flat.forEach((v, i) => pruned.has(i) || expect(v).toBe(all[i]));
    expect(report.nonzero).toBe(Math.round(0.3 * all.length));

    const layered = MLP.create(device, [30, 20, 7], { seed: 2 });
    const r2 = await prune(layered, { type: 'layer', sparsity: 0.55 });
    expect(r2.layers.map((l) => l.nonzero)).toEqual([Math.round(0.45 * 600), Math.round(0.45 * 140)]);
    model.dispose();
    layered.dispose();
  });

  it('LeNet-300-100 at 90 %: exactly round(10 % of 266,200) weights stay', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [784, 300, 100, 10], { seed: 3 });
    const report = await prune(model, { type: 'global', sparsity: 0.9 });
    expect(report.weights).toBe(266_200);
    expect(report.nonzero).toBe(26_620);
    const nonzero = (await model.read()).reduce((s, l) => s + l.weight.filter((v) => v !== 0).length, 0);
    expect(nonzero).toBe(26_620);
    model.dispose();
  });

  it('fixed threshold, N:M and structured criteria match CPU references', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [16, 12, 5], { seed: 5 });
    const w0 = (await model.read())[0]!.weight;
    await prune(model, { type: 'threshold', threshold: 0.2 });
    expect(Array.from((await model.read())[0]!.weight)).toEqual(Array.from(w0, (v) => (Math.abs(v) <= 0.2 ? 0 : v)));

    const nm = MLP.create(device, [18, 12, 5], { seed: 6 }); // 18 rows: the last group of 4 is short
    const wn = (await nm.read())[0]!.weight;
    await prune(nm, { type: 'nm', n: 2, m: 4 });
    const got = (await nm.read())[0]!.weight;
    for (let j = 0; j < 12; j++)
      for (let g = 0; g < 18; g += 4) {
        const rows = Array.from({ length: Math.min(4, 18 - g) }, (_, q) => g + q);
        const keep = rows
          .map((r) => [Math.abs(wn[r * 12 + j]!), r] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, 2)
          .map(([, r]) => r);
        for (const r of rows) expect(got[r * 12 + j]).toBe(keep.includes(r) ? wn[r * 12 + j] : 0);
      }

    const st = MLP.create(device, [10, 8, 6, 3], { seed: 7 });
    for (const l of st.layers) l.bias.write(randomArray(l.units, 8));
    const ws = await st.read();
    await prune(st, { type: 'structured', fraction: 0.25, norm: 2 });
    const after = await st.read();
    for (const [l, spec] of st.layers.slice(0, -1).entries()) {
      const norms = Array.from({ length: spec.units }, (_, j) => Array.from({ length: spec.inputs }, (_, i) => ws[l]!.weight[i * spec.units + j]! ** 2).reduce((a, b) => a + b));
      const gone = norms
        .map((v, j) => [v, j] as const)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        .slice(0, Math.round(0.25 * spec.units))
        .map(([, j]) => j);
      for (let j = 0; j < spec.units; j++) {
        const column = Array.from({ length: spec.inputs }, (_, i) => after[l]!.weight[i * spec.units + j]!);
        expect(
          column.every((v) => v === 0),
          `layer ${l} neuron ${j}`,
        ).toBe(gone.includes(j));
        expect(after[l]!.bias[j] === 0).toBe(gone.includes(j));
      }
    }
    expect(Array.from(after[2]!.weight)).toEqual(Array.from(ws[2]!.weight)); // the output layer keeps its neurons
    for (const m of [model, nm, st]) m.dispose();
  });

  it('pruned weights (and pruned biases) stay exactly 0 through training, and pruning never revives', async () => {
    const { device } = ctx;
    const r = new Random(9);
    const data = { features: randomArray(200 * 6, 10), rows: 200, cols: 6, labels: Int32Array.from({ length: 200 }, () => r.int(3)), classes: 3 };
    const model = MLP.create(device, [6, 16, 3], { seed: 2 });
    await prune(model, { type: 'layer', sparsity: 0.5 });
    await prune(model, { type: 'structured', fraction: 0.25 });
    const masks = await Promise.all(model.layers.map((l) => l.mask!.read()));
    const biasMask = await model.layers[0]!.biasMask!.read();
    await fit(model, data, { epochs: 3, batchSize: 20, learningRate: 0.1, optimizer: { type: 'adam' } });
    const after = await model.read();
    after.forEach((l, i) => l.weight.forEach((v, j) => masks[i]![j] === 0 && expect(v).toBe(0)));
    after[0]!.bias.forEach((v, j) => biasMask[j] === 0 && expect(v).toBe(0));
    const before = (await pruneReport(model)).nonzero;
    expect((await prune(model, { type: 'layer', sparsity: 0.1 })).nonzero).toBe(before);
    model.dispose();
  });

  it('custom masks, and bad settings raise typed errors', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [4, 3, 2], { seed: 1 });
    const m = new Float32Array(12).fill(1);
    m[5] = 0;
    const report = await prune(model, { type: 'custom', masks: [m, undefined] });
    expect(report.layers[0]!.nonzero).toBe(11);
    expect((await model.read())[0]!.weight[5]).toBe(0);
    const bad: [Parameters<typeof prune>[1], RegExp, new (message: string) => Error][] = [
      [{ type: 'layer', sparsity: 1 }, /sparsity must be in \[0, 1\)/, InvalidArgumentError],
      [{ type: 'global', sparsity: -0.1 }, /sparsity must be in \[0, 1\)/, InvalidArgumentError],
      [{ type: 'nm', n: 5, m: 4 }, /1 <= N <= M <= 32, got 5:4/, InvalidArgumentError],
      [{ type: 'custom', masks: [new Float32Array(11), undefined] }, /layer 0 has 11 values; its weight is 4 x 3/, ShapeError],
      [{ type: 'custom', masks: [new Float32Array(12).fill(0.5), undefined] }, /only 0 and 1/, InvalidArgumentError],
      [{ type: 'structured', fraction: 0.9 }, /remove all 3 neurons/, InvalidArgumentError],
    ];
    for (const [criterion, message, type] of bad) {
      await expect(prune(model, criterion)).rejects.toThrow(type as never);
      await expect(prune(model, criterion)).rejects.toThrow(message);
    }
    model.dispose();
  });
});
