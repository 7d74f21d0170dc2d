import { describe, expect, it } from 'vitest';
import { distillationLoss, newStats } from '../src/kernels/loss.js';
import { copyInto } from '../src/kernels/elementwise.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { InvalidArgumentError, ShapeError } from '../src/errors.js';
import { Random } from '../src/random.js';
import { expectClose, poisoned, randomArray, relativeError, testBackends, useDevice } from './helpers.js';

/** float64 mean distillation loss (Hinton et al.), labels ignored when alpha = 1. */
function distillRef(z: ArrayLike<number>, t: ArrayLike<number>, labels: ArrayLike<number> | undefined, B: number, C: number, alpha: number, T: number): number {
  let total = 0;
  for (let r = 0; r < B; r++) {
    const zs = Array.from({ length: C }, (_, c) => z[r * C + c]!),
      ts = Array.from({ length: C }, (_, c) => t[r * C + c]!);
    const lse = (v: number[], k: number) => {
      const m = Math.max(...v.map((x) => x / k));
      return m + Math.log(v.reduce((s, x) => s + Math.exp(x / k - m), 0));
    };
    const [ls, lt, l1] = [lse(zs, T), lse(ts, T), lse(zs, 1)];
    let kl = 0;
    for (let c = 0; c < C; c++) kl += Math.exp(ts[c]! / T - lt) * (ts[c]! / T - lt - (zs[c]! / T - ls));
    total += alpha * T * T * kl + (alpha < 1 ? (1 - alpha) * (l1 - zs[labels![r]!]!) : 0);
  }
  return total / B;
}

describe.each(testBackends())('distillation on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [0.3, 3],
    [0.9, 20],
    [1, 4],
  ] as const)('alpha %s, T %s: loss and gradient match float64 and finite differences', async (alpha, T) => {
    const { device } = ctx;
    const [B, C] = [75, 10];
    const z = randomArray(B * C, 1, -3, 3),
      t = randomArray(B * C, 2, -5, 5);
    const r = new Random(3);
    const labels = Int32Array.from({ length: B }, () => r.int(C));
    const stats = newStats(device);
    const grad = poisoned(device, [B, C]);
    distillationLoss({ z: device.tensor(z, [B, C]), teacher: device.tensor(t, [B, C]), labels: alpha < 1 ? device.tensor(labels) : undefined, stats, grad, alpha, temperature: T });
    const ref = distillRef(z, t, labels, B, C, alpha, T);
    expect(relativeError([(await stats.read())[0]! / B], [ref])).toBeLessThan(1e-5);
    const h = 1e-4,
      zz = Float64Array.from(z);
    const fd = Float64Array.from(zz, (_, i) => {
      const keep = zz[i]!;
      zz[i] = keep + h;
      const up = distillRef(zz, t, labels, B, C, alpha, T);
      zz[i] = keep - h;
      const down = distillRef(zz, t, labels, B, C, alpha, T);
      zz[i] = keep;
      return (up - down) / (2 * h);
    });
    await expectClose(grad, fd, 1e-3);
  });

  it('copyInto writes a block at an offset and nothing else', async () => {
    const { device } = ctx;
    const out = device.tensor(new Float32Array(11).fill(-1));
    copyInto(device.tensor(Float32Array.from([1, 2, 3])), out, 5);
    expect(Array.from(await out.read())).toEqual([-1, -1, -1, -1, -1, 1, 2, 3, -1, -1, -1]);
    expect(() => copyInto(device.tensor(new Float32Array(3)), out, 9)).toThrow(InvalidArgumentError);
  });
});

describe('distilling a student', () => {
  const ctx = useDevice('llvmpipe');
  const features = randomArray(600 * 10, 5);
  const labels = Int32Array.from({ length: 600 }, (_, i) => (features[i * 10]! * features[i * 10 + 1]! > 0 ? 1 : 0) + (features[i * 10 + 2]! > 0.3 ? 1 : 0));
  const data = { features, rows: 600, cols: 10, labels, classes: 3 };
  const opts = { epochs: 15, batchSize: 30, learningRate: 0.05, optimizer: { type: 'sgd' as const, momentum: 0.9 }, seed: 1 };

  it('cached and per-batch teacher logits train the same student; an unlabelled transfer set works', async () => {
    const { device } = ctx;
    const teacher = MLP.create(device, [10, 64, 64, 3], { seed: 1 });
    await fit(teacher, data, { ...opts, epochs: 30 });
    const run = async (cacheTeacher: boolean) => {
      const s = MLP.create(device, [10, 8, 3], { seed: 2 });
      await fit(s, data, { ...opts, distillation: { teacher, alpha: 0.7, temperature: 3, cacheTeacher } });
      const w = await s.read();
      s.dispose();
      return w;
    };
    const [a, b] = [await run(true), await run(false)];
    a.forEach((l, i) => expect(relativeError(l.weight, b[i]!.weight)).toBeLessThan(1e-6));

    const unlabelled = { features, rows: 600, cols: 10 };
    const student = MLP.create(device, [10, 16, 3], { seed: 3 });
    const history = await fit(student, unlabelled, { ...opts, distillation: { teacher, alpha: 1, temperature: 2 } });
    expect(history.loss[14]!).toBeLessThan(history.loss[0]!);
    expect(history.accuracy[0]).toBeNaN(); // no labels, no accuracy
    const teacherAcc = (await evaluate(teacher, data)).accuracy;
    expect((await evaluate(student, data)).accuracy).toBeGreaterThan(teacherAcc - 0.15); // it learned the teacher's function without labels
    await expect(fit(student, unlabelled, { ...opts, distillation: { teacher, alpha: 0.5 } })).rejects.toThrow(/no labels/);
    await expect(fit(student, data, { ...opts, distillation: { teacher, temperature: 0 } })).rejects.toThrow(/temperature must be a positive/);
    await expect(fit(student, data, { ...opts, distillation: { teacher, alpha: 1.5 } })).rejects.toThrow(/alpha must be in \[0, 1\]/);
    await expect(fit(student, data, { ...opts, distillation: { teacher: MLP.create(device, [10, 4]) } })).rejects.toThrow(ShapeError);
    student.dispose();
    teacher.dispose();
  });
});
