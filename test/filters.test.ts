/**
 * Filters removed physically from convolutional networks, with their dependents (the next
 * convolution's rows, a dense layer's rows after the flatten): the smaller model computes what
 * the original computes with those filters zeroed.
 */
import { describe, expect, it } from 'vitest';
import { filterNorms, pruneFilters, removeFilters } from '../src/compress/filters.js';
import { Sequential } from '../src/nn/sequential.js';
import { randomArray, relativeError, useDevice } from './helpers.js';

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
});
