import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/mlp.js';
import type { Model } from '../src/nn/model.js';
import { inferenceSpeed, inferenceSpeeds } from '../src/validate/speed.js';
import { InvalidArgumentError } from '../src/errors.js';
import { randomArray, useDevice } from './helpers.js';
import type { Device } from '../src/gpu/device.js';

/** A model that records its forward passes by name; its first one takes `firstMs` (a warm-up's pipeline compilation). */
function spy(device: Device, name: string, calls: string[], firstMs = 0): Model {
  let prepared = false;
  return {
    device,
    inputs: 5,
    prepareInference: async () => {
      prepared = true;
    },
    forward: () => {
      if (!prepared) throw new Error('forward before prepareInference');
      if (firstMs && !calls.includes(name)) {
        const until = performance.now() + firstMs;
        while (performance.now() < until);
      }
      calls.push(name);
      return device.tensor(new Float32Array(2));
    },
    predict: async () => new Int32Array(1),
  } as unknown as Model;
}

describe('inference speed', () => {
  const ctx = useDevice('llvmpipe');
  const data = (rows: number, cols = 5) => ({ features: randomArray(rows * cols, 7), rows, cols });

  it('times models in the same rounds, each starting at the next model, and keeps the best timed round', async () => {
    const calls: string[] = [];
    const models = ['a', 'b', 'c'].map((n) => spy(ctx.device, n, calls, n === 'a' ? 300 : 0));
    const speeds = await inferenceSpeeds(models, data(40), { rounds: 2 });
    // Round 0 warms up, then rounds 1 and 2 start one model further on.
    expect(calls).toEqual(['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    expect(speeds.map((s) => [s.batch, s.rounds])).toEqual([
      [40, 2],
      [40, 2],
      [40, 2],
    ]);
    // a's 300-ms warm-up is not its figure: 40 rows in under 150 ms.
    expect(speeds[0]!.rowsPerSecond).toBeGreaterThan(40 / 0.15);
  });

  it('one real model: the batch is at most the rows given, and the figures are of its forward pass and predict()', async () => {
    const model = MLP.create(ctx.device, [5, 8, 3], { seed: 1 });
    const s = await inferenceSpeed(model, data(30), { rounds: 1 });
    expect([s.batch, s.rounds]).toEqual([30, 1]);
    expect(Number.isFinite(s.rowsPerSecond) && s.rowsPerSecond > 0).toBe(true);
    expect(Number.isFinite(s.latencyMs) && s.latencyMs > 0).toBe(true);
    expect(await inferenceSpeeds([], data(30))).toEqual([]);
  });

  it('bad options, models on several devices and data of another width are InvalidArgumentErrors', async () => {
    const calls: string[] = [];
    const model = spy(ctx.device, 'a', calls);
    await expect(inferenceSpeeds([model], data(10), { rounds: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(inferenceSpeeds([model], data(10), { batch: 1.5 })).rejects.toThrow(/batch must be a positive integer/);
    const elsewhere = spy({} as Device, 'b', calls);
    await expect(inferenceSpeeds([model, elsewhere], data(10))).rejects.toThrow(/on one device/);
    await expect(inferenceSpeeds([model], data(10, 6))).rejects.toThrow(/6 features but a model takes 5/);
    expect(calls).toEqual([]); // nothing timed before the checks
  });
});
