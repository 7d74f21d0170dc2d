import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { layerImportance, removeLayer, unitImportance } from '../src/compress/importance.js';
import { removeUnits, simplify } from '../src/compress/simplify.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { prune } from '../src/compress/prune.js';
import type { Dataset } from '../src/data/dataset.js';
import { InvalidArgumentError } from '../src/errors.js';
import type { Activation } from '../src/kernels/gemm.js';
import { randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { refForward, refLoss, toRef, type RefLayer } from './reference-mlp.js';
import { toyData } from './toy-data.js';

const meanLoss = (layers: RefLayer[], d: Dataset) => refLoss('softmaxCrossEntropy', refForward(layers, d.features, d.rows), d.rows, layers[layers.length - 1]!.units, d.labels!);

/** The seed's definition, literally: the loss without unit u of layer l (its outgoing weights zeroed) minus the loss. */
function refAblation(layers: RefLayer[], d: Dataset): Float64Array[] {
  const base = meanLoss(layers, d);
  return layers.slice(0, -1).map((layer, l) =>
    Float64Array.from({ length: layer.units }, (_, u) => {
      const next = layers[l + 1]!;
      const weight = Float64Array.from(next.weight);
      for (let j = 0; j < next.units; j++) weight[u * next.units + j] = 0;
      return (
        meanLoss(
          layers.map((x, i) => (i === l + 1 ? { ...x, weight } : x)),
          d,
        ) - base
      );
    }),
  );
}

const derivative: Record<Activation, (a: number) => number> = { identity: () => 1, relu: (a) => (a > 0 ? 1 : 0), tanh: (a) => 1 - a * a, sigmoid: (a) => a * (1 - a) };

/** mean over rows of |a * dL_row/da| for every hidden unit, by float64 backpropagation. */
function refTaylor(layers: RefLayer[], d: Dataset): Float64Array[] {
  const out = layers.slice(0, -1).map((l) => new Float64Array(l.units));
  for (let r = 0; r < d.rows; r++) {
    const acts: Float64Array[] = [];
    let h: Float64Array = Float64Array.from(d.features.subarray(r * d.cols, (r + 1) * d.cols));
    for (const l of layers) (h = refForward([l], h, 1)), acts.push(h);
    const z = acts[acts.length - 1]!;
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    let delta = Float64Array.from(e, (v, c) => v / s - (c === d.labels![r] ? 1 : 0));
    for (let l = layers.length - 2; l >= 0; l--) {
      const next = layers[l + 1]!;
      const g = Float64Array.from({ length: next.inputs }, (_, i) => delta.reduce((t, dv, j) => t + dv * next.weight[i * next.units + j]!, 0));
      g.forEach((gv, u) => (out[l]![u]! += Math.abs(gv * acts[l]![u]!) / d.rows));
      delta = Float64Array.from(g, (gv, u) => gv * derivative[layers[l]!.activation](acts[l]![u]!));
    }
  }
  return out;
}

describe.each(testBackends())('unit and layer importance on %s', (backend) => {
  const ctx = useDevice(backend);

  it('ablation scores of every hidden unit equal the float64 definition (3 hidden layers, odd sizes, several chunks)', async () => {
    const model = MLP.create(ctx.device, [13, 11, 9, 7, 5], { activation: 'tanh', seed: 3 });
    const data = toyData(97, 13, 5, 4);
    const ref = await toRef(model);
    const expected = refAblation(ref, data);
    // Small chunks and budget: several sample chunks and variant passes per layer.
    const got = await unitImportance(model, data, { chunkRows: 40, budget: 40 * 9 * 3 });
    expect(got.layers.map((l) => l.scores.length)).toEqual([11, 9, 7]);
    expect(got.baselineLoss).toBeCloseTo(meanLoss(ref, data), 5);
    got.layers.forEach((l, i) => expect(relativeError(l.scores, expected[i]!), `layer ${i}`).toBeLessThan(1e-4));
    model.dispose();
  });

  it('relu units, a subset of the rows (seeded), and the Taylor, L1, L2 and random criteria', async () => {
    const model = MLP.create(ctx.device, [6, 10, 7, 4], { seed: 5 });
    const data = toyData(150, 6, 4, 6);
    await fit(model, data, { epochs: 5, batchSize: 16, learningRate: 0.1, seed: 1 });
    const ref = await toRef(model);
    const a = await unitImportance(model, data, { samples: 60, seed: 9 });
    const b = await unitImportance(model, data, { samples: 60, seed: 9 });
    expect(a.samples).toBe(60);
    expect(Array.from(a.layers[0]!.scores)).toEqual(Array.from(b.layers[0]!.scores));
    const all = await unitImportance(model, data);
    const expected = refAblation(ref, data);
    all.layers.forEach((l, i) => expect(relativeError(l.scores, expected[i]!)).toBeLessThan(1e-4));

    const taylor = await unitImportance(model, data, { criterion: 'taylor' });
    refTaylor(ref, data).forEach((e, i) => expect(relativeError(taylor.layers[i]!.scores, e), `taylor layer ${i}`).toBeLessThan(1e-4));
    for (const power of [1, 2] as const) {
      const norms = await unitImportance(model, data, { criterion: power === 1 ? 'l1' : 'l2' });
      norms.layers.forEach(({ layer, scores }) => {
        const l = ref[layer]!;
        const e = Float64Array.from({ length: l.units }, (_, u) => {
          let s = 0;
          for (let i = 0; i < l.inputs; i++) s += power === 1 ? Math.abs(l.weight[i * l.units + u]!) : l.weight[i * l.units + u]! ** 2;
          return power === 1 ? s : Math.sqrt(s);
        });
        expect(relativeError(scores, e)).toBeLessThan(1e-5);
      });
    }
    const r1 = await unitImportance(model, data, { criterion: 'random', seed: 2 });
    const r2 = await unitImportance(model, data, { criterion: 'random', seed: 2 });
    const r3 = await unitImportance(model, data, { criterion: 'random', seed: 3 });
    expect(Array.from(r1.layers[1]!.scores)).toEqual(Array.from(r2.layers[1]!.scores));
    expect(Array.from(r1.layers[1]!.scores)).not.toEqual(Array.from(r3.layers[1]!.scores));
    model.dispose();
  });

  it('layers: a square layer is bypassed, others merged into the next; the loss change matches float64', async () => {
    const model = MLP.create(ctx.device, [5, 8, 8, 6, 3], { seed: 7 });
    const data = toyData(50, 5, 3, 8);
    const ref = await toRef(model);
    const removals = await layerImportance(model, data);
    expect(removals.map((r) => r.method)).toEqual(['merge', 'bypass', 'merge']);
    const base = meanLoss(ref, data);
    const without = (l: number): RefLayer[] => {
      const cur = ref[l]!;
      if (cur.inputs === cur.units) return ref.filter((_, i) => i !== l);
      const next = ref[l + 1]!;
      const weight = new Float64Array(cur.inputs * next.units);
      const bias = Float64Array.from(next.bias);
      for (let i = 0; i < cur.inputs; i++)
        for (let j = 0; j < next.units; j++) for (let k = 0; k < cur.units; k++) weight[i * next.units + j]! += cur.weight[i * cur.units + k]! * next.weight[k * next.units + j]!;
      for (let j = 0; j < next.units; j++) for (let k = 0; k < cur.units; k++) bias[j]! += cur.bias[k]! * next.weight[k * next.units + j]!;
      return [...ref.slice(0, l), { inputs: cur.inputs, units: next.units, activation: next.activation, weight, bias }, ...ref.slice(l + 2)];
    };
    removals.forEach((r) => {
      const e = meanLoss(without(r.layer), data) - base;
      expect(Math.abs(r.importance - e)).toBeLessThan(1e-4 * Math.max(1, Math.abs(e)));
    });
    const merged = await removeLayer(model, 0);
    expect(merged.layers.map((l) => [l.inputs, l.units])).toEqual([
      [5, 8],
      [8, 6],
      [6, 3],
    ]);
    expect(relativeError(await merged.predict(data.features), refForward(without(0), data.features, data.rows))).toBeLessThan(1e-5);
    expect(removals[0]!.parametersAfter).toBe(merged.parameterCount());
    merged.dispose();
    model.dispose();
  });
});

describe('structural simplification', () => {
  const ctx = useDevice();

  it('removeUnits builds smaller matrices that compute what the masked model computes, masks kept', async () => {
    const model = MLP.create(ctx.device, [9, 12, 7, 4], { seed: 2 });
    await prune(model, { type: 'global', sparsity: 0.3 });
    const smaller = await removeUnits(model, 0, [1, 5, 11]);
    expect(smaller.layers.map((l) => [l.inputs, l.units])).toEqual([
      [9, 9],
      [9, 7],
      [7, 4],
    ]);
    expect(smaller.layers[0]!.weight.size).toBe(81);
    const ref = await toRef(model);
    const next = ref[1]!;
    const weight = Float64Array.from(next.weight);
    for (const u of [1, 5, 11]) for (let j = 0; j < next.units; j++) weight[u * next.units + j] = 0;
    const x = randomArray(20 * 9, 3);
    expect(
      relativeError(
        await smaller.predict(x),
        refForward(
          ref.map((l, i) => (i === 1 ? { ...l, weight } : l)),
          x,
          20,
        ),
      ),
    ).toBeLessThan(1e-5);
    // Pruned weights stay pruned: the surviving entries of the masks are carried over.
    const m0 = await smaller.layers[0]!.mask!.read();
    const w0 = await smaller.layers[0]!.weight.read();
    w0.forEach((w, i) => m0[i] === 0 && expect(w).toBe(0));
    expect(smaller.layers[1]!.mask!.shape).toEqual([9, 7]);
    smaller.dispose();

    await expect(removeUnits(model, 1, [0, 1, 2, 3, 4, 5, 6])).rejects.toThrow(InvalidArgumentError);
    await expect(removeUnits(model, 2, [0])).rejects.toThrow(/hidden layer/);
    await expect(removeUnits(model, 0, [12])).rejects.toThrow(/not a unit/);
    await quantizeWeights(model, { bits: 8 });
    await expect(removeUnits(model, 0, [0])).rejects.toThrow(/simplify first/);
    model.dispose();
  });

  it('simplify: removes k units a round until the target parameter count, fine-tuning between rounds; an accuracy floor stops it', async () => {
    const train = toyData(600, 8, 3, 11);
    const validation = toyData(300, 8, 3, 12);
    const model = MLP.create(ctx.device, [8, 24, 16, 3], { seed: 1 });
    await fit(model, train, { epochs: 30, batchSize: 32, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 });
    const dense = model.parameterCount();
    const target = Math.floor(dense / 2);
    const seen: number[] = [];
    const result = await simplify(model, train, validation, {
      unitsPerRound: 6,
      targetParameters: target,
      fineTune: { epochs: 5, batchSize: 32, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 } },
      scoreSamples: 300,
      seed: 4,
      onRound: (r) => void seen.push(r.parameters),
    });
    expect(result.stoppedBy).toBe('target');
    expect(result.model.parameterCount()).toBeLessThanOrEqual(target);
    expect(result.after.parameters).toBe(result.model.parameterCount());
    expect(result.before.parameters).toBe(dense);
    expect(result.after.flops).toBeLessThan(result.before.flops);
    expect(seen).toEqual(result.rounds.map((r) => r.parameters));
    expect(result.rounds.every((r) => r.removed.length <= 6)).toBe(true);
    expect(result.after.accuracy).toBeGreaterThan(result.before.accuracy - 0.1);
    expect(model.parameterCount()).toBe(dense); // the input model is untouched
    expect((await evaluate(result.model, validation)).accuracy).toBeCloseTo(result.after.accuracy, 6);
    result.model.dispose();

    const floor = await simplify(model, train, validation, { unitsPerRound: 4, minAccuracy: 1, maxRounds: 3, fineTune: { epochs: 0, batchSize: 32, learningRate: 0.05 } });
    expect(floor.stoppedBy).toBe('accuracy');
    expect(floor.rounds).toHaveLength(0);
    expect(floor.model.parameterCount()).toBe(dense);
    floor.model.dispose();

    await expect(simplify(model, train, validation, { unitsPerRound: 2, targetParameters: dense + 1, fineTune: { epochs: 0, batchSize: 8, learningRate: 0.1 } })).rejects.toThrow(/below the model's/);
    await expect(simplify(model, train, validation, { unitsPerRound: 2, fineTune: { epochs: 0, batchSize: 8, learningRate: 0.1 } })).rejects.toThrow(/stopping rule/);
    await expect(unitImportance(model, { ...train, labels: undefined, classes: undefined })).rejects.toThrow(/class labels/);
    model.dispose();
  });
});
