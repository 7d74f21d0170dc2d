import { describe, expect, it } from 'vitest';
import { checkGradual, gradualPruning, prunesAt, scheduledSparsity } from '../src/compress/schedule.js';
import { iterativePrune } from '../src/compress/iterative.js';
import { pruneReport } from '../src/compress/prune.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { randomArray, useDevice } from './helpers.js';

describe('pruning schedules', () => {
  it("Zhu & Gupta's cubic schedule and its pruning steps", () => {
    const g = { initialSparsity: 0.1, finalSparsity: 0.9, beginStep: 100, endStep: 1100, frequency: 100 };
    expect(scheduledSparsity(g, 0)).toBe(0.1);
    expect(scheduledSparsity(g, 100)).toBeCloseTo(0.1, 12);
    expect(scheduledSparsity(g, 600)).toBeCloseTo(0.9 + (0.1 - 0.9) * 0.5 ** 3, 12);
    expect(scheduledSparsity(g, 1100)).toBeCloseTo(0.9, 12);
    expect(scheduledSparsity(g, 5000)).toBeCloseTo(0.9, 12);
    expect([99, 100, 150, 200, 1100, 1200].map((s) => prunesAt(g, s))).toEqual([false, true, false, true, true, false]);
    expect(() => checkGradual({ finalSparsity: 1, endStep: 10 })).toThrow(/finalSparsity < 1/);
    expect(() => checkGradual({ finalSparsity: 0.5, beginStep: 10, endStep: 10 })).toThrow(/beginStep < endStep/);
    expect(() => checkGradual({ finalSparsity: 0.5, endStep: 10, frequency: 0 })).toThrow(/frequency/);
  });

  const ctx = useDevice('llvmpipe');
  const features = randomArray(400 * 8, 4);
  const data = { features, rows: 400, cols: 8, labels: Int32Array.from({ length: 400 }, (_, i) => (features[i * 8]! > 0 ? 1 : 0) + (features[i * 8 + 1]! > 0.5 ? 1 : 0)), classes: 3 };

  it('gradual pruning inside fit reaches the final sparsity exactly, and the model still learns', async () => {
    const model = MLP.create(ctx.device, [8, 32, 3], { seed: 1 });
    const seen: number[] = [];
    const history = await fit(model, data, {
      epochs: 10,
      batchSize: 20,
      learningRate: 0.1,
      optimizer: { type: 'sgd', momentum: 0.9 },
      hooks: [gradualPruning({ scope: 'global', finalSparsity: 0.8, beginStep: 20, endStep: 120, frequency: 20 })],
      onEpoch: async () => void seen.push((await pruneReport(model)).sparsity),
    });
    const report = await pruneReport(model);
    expect(report.nonzero).toBe(Math.round(0.2 * report.weights));
    expect(seen[0]).toBe(0); // epoch 1 = steps 1..20: the first prune is at step 20 with s = 0
    expect(seen[seen.length - 1]).toBeCloseTo(0.8, 2);
    expect(history.accuracy[9]!).toBeGreaterThan(0.8);
    model.dispose();
  });

  it('iterative prune and retrain at a tenth of the learning rate', async () => {
    const model = MLP.create(ctx.device, [8, 32, 3], { seed: 2 });
    await fit(model, data, { epochs: 5, batchSize: 20, learningRate: 0.1 });
    const rounds: number[] = [];
    const report = await iterativePrune(model, data, {
      sparsities: [0.5, 0.75],
      fit: { epochs: 2, batchSize: 20, learningRate: 0.1 },
      onRound: (_, rep) => rounds.push(rep.sparsity),
    });
    expect(rounds.map((s) => Math.round(s * 100))).toEqual([50, 75]);
    expect(report.layers.map((l) => l.nonzero)).toEqual([Math.round(0.25 * 256), Math.round(0.25 * 96)]);
    model.dispose();
  });
});
