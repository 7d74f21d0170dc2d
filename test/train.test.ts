import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/mlp.js';
import { Backprop } from '../src/nn/backprop.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { newStats, type LossKind } from '../src/kernels/loss.js';
import type { Activation } from '../src/kernels/gemm.js';
import type { Dataset } from '../src/data/dataset.js';
import { InvalidArgumentError, ShapeError, TrainingDivergedError } from '../src/errors.js';
import { Random } from '../src/random.js';
import { randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { refForward, refGradients, toRef } from './reference-mlp.js';
import { toyData } from './toy-data.js';
import { stepChecks } from './kernel-checks.js';

describe.each(testBackends())('training on %s', (backend) => {
  const ctx = useDevice(backend);

  // Gradient checks: GPU backpropagation against finite differences of a float64 forward pass.
  const gradCases: [Activation, LossKind][] = [
    ['relu', 'softmaxCrossEntropy'],
    ['tanh', 'softmaxCrossEntropy'],
    ['sigmoid', 'mse'],
    ['identity', 'bceLogits'],
  ];
  it.each(gradCases)('3-layer MLP with %s hidden layers and %s: gradients match finite differences', async (activation, loss) => {
    const { device } = ctx;
    const model = MLP.create(device, [6, 9, 7, 4], { activation, seed: 3 });
    const rows = 11;
    const x = randomArray(rows * 6, 5);
    const r = new Random(6);
    const target =
      loss === 'softmaxCrossEntropy' ? Int32Array.from({ length: rows }, () => r.int(4)) : loss === 'bceLogits' ? Float32Array.from({ length: rows * 4 }, () => r.int(2)) : randomArray(rows * 4, 7);
    const bp = new Backprop(model, rows, loss);
    bp.x.write(x);
    bp.gradients(device.tensor(target, loss === 'softmaxCrossEntropy' ? [rows] : [rows, 4]), newStats(device));
    const fd = refGradients(await toRef(model), loss, x, rows, target);
    for (let l = 0; l < 3; l++) {
      expect(relativeError(await bp.weightGrads[l]!.read(), fd[l]!.weight), `layer ${l} weights`).toBeLessThan(1e-3);
      expect(relativeError(await bp.biasGrads[l]!.read(), fd[l]!.bias), `layer ${l} biases`).toBeLessThan(1e-3);
    }
    bp.dispose();
    model.dispose();
  });

  it('the GPU forward pass agrees with a float64 MLP to 1e-5, and one SGD step to 1e-4', async () => {
    const checks = await stepChecks(ctx.device); // shared with the browser and GPU runs
    expect(checks.map((c) => c.name)).toContain('SGD step, layer 2 biases');
    for (const c of checks) expect(c.error, c.name).toBeLessThan(c.tolerance);
  });

  it('fit learns a toy problem; the same seed gives the same weights', async () => {
    const { device } = ctx;
    const data = toyData(600, 8, 3, 1);
    const run = async () => {
      const model = MLP.create(device, [8, 32, 3], { seed: 4 });
      const history = await fit(model, data, { epochs: 15, batchSize: 50, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 2 });
      const weights = await model.read();
      model.dispose();
      return { history, weights };
    };
    const a = await run(),
      b = await run();
    expect(a.history.loss).toHaveLength(15);
    expect(a.history.loss[14]!).toBeLessThan(a.history.loss[0]! * 0.6);
    expect(a.history.accuracy[14]!).toBeGreaterThan(0.85);
    a.weights.forEach((l, i) => {
      expect(Array.from(l.weight)).toEqual(Array.from(b.weights[i]!.weight));
      expect(Array.from(l.bias)).toEqual(Array.from(b.weights[i]!.bias));
    });
  });

  it('evaluate reports the float64 loss and accuracy of the model', async () => {
    const { device } = ctx;
    const data = toyData(1500, 8, 3, 8); // more rows than one evaluation batch
    const model = MLP.create(device, [8, 16, 3], { seed: 1 });
    const result = await evaluate(model, data, { batchSize: 1024 });
    const z = refForward(await toRef(model), data.features, data.rows);
    let loss = 0,
      correct = 0;
    for (let r = 0; r < data.rows; r++) {
      const row = Array.from(z.subarray(r * 3, r * 3 + 3));
      const m = Math.max(...row);
      loss += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[data.labels![r]!]!;
      if (row.indexOf(m) === data.labels![r]) correct++;
    }
    expect(relativeError([result.loss], [loss / data.rows])).toBeLessThan(1e-5);
    expect(result.accuracy).toBe(correct / data.rows);
    model.dispose();
  });

  it('rejects bad data and options before any GPU work', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [8, 4, 3]);
    const good = toyData(20, 8, 3, 1);
    const opts = { epochs: 1, batchSize: 5, learningRate: 0.1 };
    const nan = { ...good, features: good.features.slice() };
    nan.features[13] = NaN;
    await expect(fit(model, nan, opts)).rejects.toThrow(/feature NaN at row 1, column 5/);
    await expect(fit(model, { ...good, labels: good.labels!.map((l, i) => (i === 4 ? 3 : l)) }, opts)).rejects.toThrow(/label 3 at row 4 is outside \[0, 3\)/);
    await expect(fit(model, good, { ...opts, batchSize: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(fit(model, good, { ...opts, batchSize: 21 })).rejects.toThrow(/batchSize must be an integer from 1 to the 20 rows/);
    for (const lr of [0, -1, NaN, Infinity]) await expect(fit(model, good, { ...opts, learningRate: lr })).rejects.toThrow(/learningRate/);
    await expect(fit(model, { ...good, cols: 4, features: good.features.slice(0, 80) }, opts)).rejects.toThrow(ShapeError);
    expect(() =>
      MLP.fromWeights(device, [
        { inputs: 4, units: 3, activation: 'relu', weight: new Float32Array(12), bias: new Float32Array(3) },
        { inputs: 5, units: 2, activation: 'identity', weight: new Float32Array(10), bias: new Float32Array(2) },
      ]),
    ).toThrow(/Layer 0 has 3 units but layer 1 expects 5 inputs/);
    model.dispose();
  });

  it('a loss that stops being finite stops fit at its epoch and step and keeps the last good weights', async () => {
    const { device } = ctx;
    const r = new Random(3);
    const rows = 64;
    const data: Dataset = {
      features: Float32Array.from({ length: rows * 4 }, () => r.uniform(-1, 1) * 1e3),
      rows,
      cols: 4,
      targets: Float32Array.from({ length: rows }, () => r.uniform(-1, 1) * 1e3),
      targetCols: 1,
    };
    const model = MLP.create(device, [4, 8, 1], { seed: 1 });
    const err = await fit(model, data, { epochs: 3, batchSize: 8, learningRate: 1e6, loss: 'mse' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).epoch).toBe(1);
    expect((err as TrainingDivergedError).message).toMatch(/epoch 1, step \d+ of 8/);
    for (const l of await model.read()) {
      expect(l.weight.every(Number.isFinite)).toBe(true);
      expect(l.bias.every(Number.isFinite)).toBe(true);
    }
    model.dispose();
  });

  it('an AbortSignal stops fit between batches and leaves a usable model', async () => {
    const { device } = ctx;
    const data = toyData(400, 8, 3, 2);
    const model = MLP.create(device, [8, 16, 3], { seed: 2 });
    const controller = new AbortController();
    const history = await fit(model, data, {
      epochs: 50,
      batchSize: 10,
      learningRate: 0.05,
      signal: controller.signal,
      onEpoch: (e) => {
        if (e.epoch === 2) controller.abort();
      },
    });
    expect(history.aborted).toBe(true);
    expect(history.loss).toHaveLength(2);
    const after = await evaluate(model, data);
    expect(Number.isFinite(after.loss)).toBe(true);
    model.dispose();
  });
});
