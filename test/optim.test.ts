import { describe, expect, it } from 'vitest';
import { Optimizer, scheduledRate, type OptimizerConfig } from '../src/kernels/optim.js';
import { newStats } from '../src/kernels/loss.js';
import { expectClose, randomArray, testBackends, useDevice } from './helpers.js';

/** float64 reference of `steps` updates with fixed gradient sequence grads[t]. */
function optimRef(c: OptimizerConfig, w0: Float32Array, grads: Float32Array[], lr: number, mask?: Float32Array): Float64Array {
  const w = Float64Array.from(w0);
  const s1 = new Float64Array(w.length),
    s2 = new Float64Array(w.length);
  grads.forEach((g, t) => {
    for (let i = 0; i < w.length; i++) {
      const k = mask ? mask[i]! : 1;
      const wd = c.weightDecay ?? 0;
      if (c.type === 'sgd') {
        const gi = (g[i]! + wd * w[i]!) * k;
        s1[i] = (c.momentum ?? 0) * s1[i]! + gi;
        const step = c.nesterov ? gi + (c.momentum ?? 0) * s1[i]! : s1[i]!;
        w[i] = (w[i]! - lr * step) * k;
      } else {
        const [b1, b2, eps] = [c.beta1 ?? 0.9, c.beta2 ?? 0.999, c.eps ?? 1e-8];
        const gi = (g[i]! + (c.type === 'adam' ? wd : 0) * w[i]!) * k;
        s1[i] = b1 * s1[i]! + (1 - b1) * gi;
        s2[i] = b2 * s2[i]! + (1 - b2) * gi * gi;
        const mh = s1[i]! / (1 - b1 ** (t + 1)),
          vh = s2[i]! / (1 - b2 ** (t + 1));
        w[i] = (w[i]! - (lr * mh) / (Math.sqrt(vh) + eps) - lr * (c.type === 'adamw' ? wd : 0) * w[i]!) * k;
      }
    }
  });
  return w;
}

const CONFIGS: OptimizerConfig[] = [
  { type: 'sgd' },
  { type: 'sgd', momentum: 0.9, weightDecay: 1e-3 },
  { type: 'sgd', momentum: 0.9, nesterov: true },
  { type: 'adam', weightDecay: 1e-2 },
  { type: 'adamw', weightDecay: 1e-2 },
];

describe.each(testBackends())('optimizers on %s', (backend) => {
  const ctx = useDevice(backend);

  // 1037 runs the scalar kernels, 4404 the four-at-a-time ones; both span two workgroups of
  // invocations that update four elements each, the last ones partly.
  it.each(CONFIGS.flatMap((c) => [1037, 4404].map((n) => [c, n] as const)))('%o on %i weights: three steps match float64, masked weights stay exactly 0', async (config, n) => {
    const { device } = ctx;
    const w0 = randomArray(n, 1);
    const mask = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const grads = [randomArray(n, 2), randomArray(n, 3), randomArray(n, 4)];
    for (const useMask of [false, true]) {
      const w = device.tensor(w0);
      const g = device.tensor(grads[0]!);
      const m = useMask ? device.tensor(mask) : undefined;
      const opt = new Optimizer(config);
      const stats = newStats(device);
      for (const gt of grads) {
        g.write(gt);
        opt.step([{ param: w, grad: g, mask: m }], 0.05, stats);
      }
      const ref = optimRef(config, w0, grads, 0.05, useMask ? mask : undefined);
      await expectClose(w, ref, 1e-5);
      if (useMask) expect((await w.read()).every((v, i) => i % 3 !== 0 || Object.is(v, 0))).toBe(true); // +0, not -0
      opt.dispose();
    }
  });

  it.each([100, 99])('does not move any of %i weights once a loss was not finite', async (n) => {
    const { device } = ctx;
    const w0 = randomArray(n, 5);
    const stats = device.tensor(new Float32Array([0, 0, 7, 0])); // step 7 went bad
    for (const type of ['adam', 'sgd'] as const) {
      const w = device.tensor(w0);
      new Optimizer({ type }).step([{ param: w, grad: device.tensor(randomArray(n, 6)) }], 0.1, stats);
      expect(Array.from(await w.read())).toEqual(Array.from(w0));
    }
  });

  it('rejects bad settings before any GPU work', () => {
    const { device } = ctx;
    expect(() => new Optimizer({ type: 'sgd', momentum: 1.5 })).toThrow(/momentum must be in \[0, 1\)/);
    expect(() => new Optimizer({ type: 'sgd', nesterov: true })).toThrow(/nesterov needs momentum/);
    expect(() => new Optimizer({ type: 'adam', eps: 0 })).toThrow(/eps must be > 0/);
    const w = device.tensor(new Float32Array(4));
    for (const lr of [0, -1, NaN, Infinity]) expect(() => new Optimizer({ type: 'sgd' }).step([{ param: w, grad: w }], lr, newStats(device))).toThrow(/learning rate/);
  });
});

it('learning-rate schedules: constant, step, cosine', () => {
  expect(scheduledRate(0.1, { type: 'constant' }, 5)).toBe(0.1);
  expect(scheduledRate(0.1, { type: 'step', every: 2, gamma: 0.5 }, 3)).toBeCloseTo(0.05, 12);
  expect(scheduledRate(0.1, { type: 'step', every: 2, gamma: 0.5 }, 4)).toBeCloseTo(0.025, 12);
  expect(scheduledRate(0.1, { type: 'cosine', total: 10 }, 0)).toBeCloseTo(0.1, 12);
  expect(scheduledRate(0.1, { type: 'cosine', total: 10 }, 5)).toBeCloseTo(0.05, 12);
  expect(scheduledRate(0.1, { type: 'cosine', total: 10, min: 0.01 }, 10)).toBeCloseTo(0.01, 12);
});
