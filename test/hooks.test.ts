/**
 * Training hooks: the points fit calls and their order, quantization-aware training keeping the
 * float weights between steps (so a pruning hook prunes floats, whatever the list order), and the
 * old fit options answered with where they went.
 */
import { describe, expect, it } from 'vitest';
import { gradualPruning } from '../src/compress/schedule.js';
import { quantizationAware } from '../src/compress/qat.js';
import { pruneReport } from '../src/compress/prune.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import type { TrainingHook } from '../src/nn/hooks.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { copy } from '../src/kernels/elementwise.js';
import { randomArray, useDevice } from './helpers.js';

describe('training hooks', () => {
  const ctx = useDevice('llvmpipe');
  const features = randomArray(90 * 6, 11);
  const data = { features, rows: 90, cols: 6, labels: Int32Array.from({ length: 90 }, (_, i) => (features[i * 6]! > 0 ? 1 : 0) + (features[i * 6 + 1]! > 0.4 ? 1 : 0)), classes: 3 };

  /** The most distinct values in one output column of the first layer's weights (the quantization levels, when quantized). */
  async function levels(model: MLP, weight = model.layers[0]!.weight): Promise<number> {
    const l = model.layers[0]!;
    const w = await weight.read();
    let most = 0;
    for (let u = 0; u < l.units; u++) most = Math.max(most, new Set(Array.from({ length: l.inputs }, (_, k) => w[k * l.units + u])).size);
    return most;
  }

  it('fit calls each point in the documented order, per step and per epoch; epochEnd returning true stops', async () => {
    const model = MLP.create(ctx.device, [6, 5, 3], { seed: 1 });
    const calls: string[] = [];
    const hook: TrainingHook = {
      name: 'probe',
      begin: (r) => void calls.push(`begin ${r.step}`),
      beforeForward: (r) => void calls.push(`beforeForward ${r.step}`),
      slots: (s) => (calls.push('slots'), s),
      afterUpdate: (r) => void calls.push(`afterUpdate ${r.step}`),
      afterStep: (r) => void calls.push(`afterStep ${r.step}`),
      epochEnd: (r, report) => (calls.push(`epochEnd ${r.epoch} ${report.epoch}`), r.epoch === 1),
      end: (r) => void calls.push(`end ${r.step}`),
      dispose: () => void calls.push('dispose'),
    };
    const history = await fit(model, data, { epochs: 5, batchSize: 45, learningRate: 0.1, hooks: [hook] });
    const step = (s: number) => [`beforeForward ${s}`, 'slots', `afterUpdate ${s}`, `afterStep ${s + 1}`];
    expect(calls).toEqual(['begin 0', ...step(0), ...step(1), 'epochEnd 0 1', ...step(2), ...step(3), 'epochEnd 1 2', 'end 4', 'dispose']);
    expect(history.loss).toHaveLength(2);
    model.dispose();
  });

  it('a hook that throws ends fit with its error, and every hook is still disposed', async () => {
    const model = MLP.create(ctx.device, [6, 5, 3], { seed: 1 });
    let disposed = 0;
    const failing: TrainingHook = {
      name: 'failing',
      afterStep: (r) => {
        if (r.step === 1) throw new Error('hook failed');
      },
      dispose: () => void disposed++,
    };
    const other: TrainingHook = { name: 'other', dispose: () => void disposed++ };
    await expect(fit(model, data, { epochs: 1, batchSize: 30, learningRate: 0.1, hooks: [other, failing] })).rejects.toThrow('hook failed');
    expect(disposed).toBe(2);
    model.dispose();
  });

  it('quantization-aware training: the forward pass sees quantized weights, every other point the float ones', async () => {
    const model = MLP.create(ctx.device, [6, 16, 3], { seed: 2 });
    const seen: { forward: number[]; after: number[] } = { forward: [], after: [] };
    // A copy recorded in beforeForward is the weights the forward pass reads (GPU work runs in order).
    const snapshots: Tensor<'f32'>[] = [];
    const probe: TrainingHook = {
      name: 'probe',
      beforeForward: () => void snapshots.push(copy(model.layers[0]!.weight)),
      afterStep: async () => void seen.after.push(await levels(model)),
    };
    await fit(model, data, { epochs: 2, batchSize: 30, learningRate: 0.05, hooks: [quantizationAware({ bits: 2, symmetric: false }), probe] });
    for (const t of snapshots) seen.forward.push(await levels(model, t)), t.dispose();
    expect(seen.forward.length).toBe(6);
    expect(Math.max(...seen.forward)).toBeLessThanOrEqual(4); // 2 bits: at most 4 levels per channel
    expect(Math.min(...seen.after)).toBe(6); // six inputs, six distinct float weights per unit
    expect(await levels(model)).toBeLessThanOrEqual(4); // and quantized for good at the end
    model.dispose();
  });

  it('pruning beside quantization-aware training prunes the float weights: the same model in either list order', async () => {
    const train = async (order: 'prune first' | 'qat first') => {
      const model = MLP.create(ctx.device, [6, 16, 3], { seed: 3 });
      const hooks = [gradualPruning({ finalSparsity: 0.6, endStep: 6, frequency: 2 }), quantizationAware({ bits: 3 })];
      await fit(model, data, { epochs: 3, batchSize: 30, learningRate: 0.05, seed: 4, hooks: order === 'prune first' ? hooks : hooks.reverse() });
      const out = { weights: await Promise.all(model.layers.map((l) => l.weight.read())), sparsity: (await pruneReport(model)).sparsity };
      model.dispose();
      return out;
    };
    const [a, b] = [await train('prune first'), await train('qat first')];
    expect(a.sparsity).toBeCloseTo(0.6, 2);
    expect(b.weights.map((w) => Array.from(w))).toEqual(a.weights.map((w) => Array.from(w)));
  });

  it('the options that became hooks are refused with where they went', async () => {
    const model = MLP.create(ctx.device, [6, 5, 3], { seed: 1 });
    const old = { epochs: 1, batchSize: 30, learningRate: 0.1 };
    await expect(fit(model, data, { ...old, pruning: { finalSparsity: 0.5, endStep: 2 } } as never)).rejects.toThrow(/'pruning' option is now a training hook: hooks: \[gradualPruning/);
    await expect(fit(model, data, { ...old, quantization: { bits: 4 } } as never)).rejects.toThrow(/'quantization' option is now a training hook: hooks: \[quantizationAware/);
    expect(() => quantizationAware({ method: 'kmeans', bits: 4 })).toThrow(/k-means weight sharing is trained after clustering/);
    model.dispose();
  });
});
