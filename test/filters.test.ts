/**
 * Filters removed physically from convolutional networks, with their dependents (the next
 * convolution's rows, a dense layer's rows after the flatten): the smaller model computes what
 * the original computes with those filters zeroed; and the filters' ablation importance (the loss
 * increase without each), batched on the GPU.
 */
import { describe, expect, it } from 'vitest';
import { filterImportance } from '../src/compress/filter-importance.js';
import { filterNorms, pruneFilters, removeFilters } from '../src/compress/filters.js';
import { pruneReport } from '../src/compress/prune.js';
import { simplify } from '../src/compress/simplify.js';
import { channelAblate } from '../src/kernels/ablate.js';
import { evaluate } from '../src/nn/evaluate.js';
import { Sequential } from '../src/nn/sequential.js';
import { poisoned, randomArray, relativeError, useDevice } from './helpers.js';
import { toyData } from './toy-data.js';

describe('filter removal', () => {
  const ctx = useDevice('llvmpipe');
  const layers = [
    { type: 'conv2d', filters: 6, kernel: 3, padding: 1 },
    { type: 'maxPool2d', kernel: 2 },
    { type: 'conv2d', filters: 5, kernel: 2, activation: 'tanh' },
    { type: 'dense', units: 7 },
    { type: 'dense', units: 3 },
  ] as const;

  /** A copy whose given filters of the convolution at `stage` have zero weights and bias. */
  async function zeroed(model: Sequential, stage: number, filters: number[]): Promise<Sequential> {
    const copy = model.clone();
    const l = copy.layers[copy.stages[stage]!.param!]!;
    const [w, b] = [await l.weight.read(), await l.bias.read()];
    for (const j of filters) {
      for (let k = 0; k < l.inputs; k++) w[k * l.units + j] = 0;
      b[j] = 0;
    }
    l.weight.write(w);
    l.bias.write(b);
    return copy;
  }

  it('removes filters and the rows that read their channels: the same outputs as zeroing them, a smaller model', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: [...layers], seed: 3 });
    const x = randomArray(5 * model.inputs, 4);
    // The first convolution feeds the second through pooling; the second feeds the dense layer through the flatten.
    for (const [stage, filters] of [
      [0, [1, 4]],
      [2, [0, 3, 4]],
    ] as const) {
      const small = await removeFilters(model, stage, [...filters]);
      const reference = await zeroed(model, stage, [...filters]);
      expect(relativeError(await small.predict(x), await reference.predict(x))).toBeLessThan(1e-5);
      expect(small.parameterCount()).toBeLessThan(model.parameterCount());
      expect(small.stages[stage]!.output[2]).toBe((layers[stage] as { filters: number }).filters - filters.length);
      small.dispose();
      reference.dispose();
    }
    expect(model.describe()).toBe('8x7x2-conv6k3p1-maxpool2-conv5k2-flatten-7-3'); // the given model is left as it was
    await expect(removeFilters(model, 1, [0])).rejects.toThrow(/stage 1 is maxPool2d, not a convolution/);
    await expect(removeFilters(model, 0, [0, 1, 2, 3, 4, 5])).rejects.toThrow(/removing all 6 filters leaves no channel/);
    await expect(removeFilters(model, 0, [6])).rejects.toThrow(/filters must be indices in \[0, 6\)/);
    model.dispose();
  });

  it('pruneFilters removes the smallest-norm filters of every convolution', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: [...layers], seed: 5 });
    const norms = await filterNorms(model, 2);
    expect(norms.map((n) => n.stage)).toEqual([0, 2]);
    const l0 = model.layers[0]!;
    const w0 = await l0.weight.read();
    const want = Array.from({ length: 6 }, (_, j) => Math.sqrt(Array.from({ length: l0.inputs }, (_, k) => w0[k * 6 + j]! ** 2).reduce((a, b) => a + b, 0)));
    expect(relativeError(norms[0]!.norms, want)).toBeLessThan(1e-6);
    const small = await pruneFilters(model, { fraction: 0.5, norm: 2 });
    expect(small.describe()).toBe('8x7x2-conv3k3p1-maxpool2-conv2k2-flatten-7-3'); // 3 of 6, 3 of 5 (rounded) removed
    // The smallest three of the first convolution's filters are the ones gone.
    const weakest = Array.from(want.keys())
      .sort((a, b) => want[a]! - want[b]!)
      .slice(0, 3);
    const kept = await small.layers[0]!.weight.read();
    const keptColumns = Array.from({ length: 6 }, (_, j) => j).filter((j) => !weakest.includes(j));
    expect(Array.from({ length: l0.inputs * 3 }, (_, i) => kept[i]!)).toEqual(Array.from({ length: l0.inputs * 3 }, (_, i) => w0[Math.floor(i / 3) * 6 + keptColumns[i % 3]!]!));
    small.dispose();
    model.dispose();
  });

  it('channelAblate: each variant is the activations with its channel at zero (odd shapes, poisoned output)', async () => {
    const { device } = ctx;
    const [n, h, w, c] = [3, 5, 3, 7];
    const values = randomArray(n * h * w * c, 8);
    const x = device.tensor(values, [n, h, w, c]);
    const channels = [6, 0, 3];
    const out = poisoned(device, [channels.length * n, h, w, c]);
    channelAblate(x, device.tensor(Uint32Array.from(channels)), out);
    const got = await out.read();
    const row = n * h * w * c;
    const want = Float32Array.from(got, (_, i) => ((i % row) % c === channels[Math.floor(i / row)] ? 0 : values[i % row]!));
    expect(Array.from(got)).toEqual(Array.from(want));
    for (const t of [x, out]) t.dispose();
  });

  it('filter ablation importance is the loss increase of the model with that filter removed physically', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: [...layers], seed: 6 });
    const data = toyData(40, model.inputs, 3, 9);
    const importance = await filterImportance(model, data, { chunkRows: 16 });
    expect(importance.stages.map((s) => [s.stage, s.scores.length])).toEqual([
      [0, 6],
      [2, 5],
    ]);
    const base = (await evaluate(model, data)).loss;
    expect(importance.baselineLoss).toBeCloseTo(base, 5);
    // The first convolution is a relu (its channel at zero is the filter gone); the second a tanh (tanh(0) = 0 too).
    for (const { stage, scores } of importance.stages)
      for (const j of [0, scores.length - 1]) {
        const smaller = await removeFilters(model, stage, [j]);
        expect(scores[j]!).toBeCloseTo((await evaluate(smaller, data)).loss - base, 5);
        smaller.dispose();
      }
    // Weight criteria are filterNorms'; random scores follow the seed; the rows scored follow samples.
    const l1 = await filterImportance(model, data, { criterion: 'l1' });
    expect(l1.stages[1]!.scores).toEqual((await filterNorms(model, 1))[1]!.norms);
    const [r1, r2] = [await filterImportance(model, data, { criterion: 'random', seed: 4 }), await filterImportance(model, data, { criterion: 'random', seed: 4 })];
    expect(r1.stages[0]!.scores).toEqual(r2.stages[0]!.scores);
    expect((await filterImportance(model, data, { samples: 10, seed: 1 })).samples).toBe(10);
    const mlpLike = Sequential.create(device, { input: [6], layers: [{ type: 'dense', units: 3 }] });
    await expect(filterImportance(mlpLike, toyData(10, 6, 3, 1))).rejects.toThrow(/no convolution/);
    await expect(filterImportance(model, { ...data, labels: undefined })).rejects.toThrow(/needs class labels/);
    for (const m of [model, mlpLike]) m.dispose();
  });

  it('simplify on a network: each round removes the filters of lowest ablation importance, physically, until the target', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: [...layers], seed: 7 });
    const [train, validation] = [toyData(60, model.inputs, 3, 10), toyData(30, model.inputs, 3, 11)];
    const first = await filterImportance(model, train);
    const lowest = first.stages
      .flatMap(({ stage, scores }) => Array.from(scores, (importance, unit) => ({ layer: model.stages[stage]!.param!, unit, importance })))
      .sort((a, b) => a.importance - b.importance)
      .slice(0, 3);
    const fineTune = { epochs: 1, batchSize: 20, learningRate: 0.01 };
    const target = model.parameterCount() - 200;
    const result = await simplify(model, train, validation, { unitsPerRound: 3, targetParameters: target, fineTune, seed: 0 });
    expect(result.rounds[0]!.removed.map((r) => [r.layer, r.unit])).toEqual(lowest.map((r) => [r.layer, r.unit]));
    expect(result.stoppedBy).toBe('target');
    expect(result.model.parameterCount()).toBeLessThanOrEqual(target);
    // The widths are the filters left in each convolution and the dense units; the model is a smaller network of the same stages.
    const conv = (m: Sequential) => m.stages.filter((s) => s.spec.type === 'conv2d').map((s) => m.layers[s.param!]!.units);
    expect(conv(result.model).reduce((a, b) => a + b, 0)).toBe(11 - result.rounds.reduce((n, r) => n + r.removed.length, 0));
    expect(result.after.widths).toEqual([model.inputs, ...result.model.layers.map((l) => l.units)]);
    expect(result.after.parameters).toBe(result.model.parameterCount());
    expect(result.after.flops).toBe((await pruneReport(result.model)).flopsDense);
    await expect(simplify(model, train, validation, { unitsPerRound: 1, maxRounds: 1, fineTune, criterion: 'taylor' })).rejects.toThrow(/dense units only/);
    expect(model.describe()).toBe('8x7x2-conv6k3p1-maxpool2-conv5k2-flatten-7-3'); // the given model is left as it was
    for (const m of [model, result.model]) m.dispose();
  });
});
