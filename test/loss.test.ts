import { describe, expect, it } from 'vitest';
import { lossForward, newStats, softmax, type LossKind } from '../src/kernels/loss.js';
import { expectClose, poisoned, randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { Random } from '../src/random.js';

/** float64 mean loss of z [B, C] (as the kernels define it) and its per-row sum. */
function lossRef(kind: LossKind, z: ArrayLike<number>, B: number, C: number, target: ArrayLike<number>, eps = 0): { sum: number; mean: number; correct: number } {
  let sum = 0,
    correct = 0;
  for (let r = 0; r < B; r++) {
    const row = Array.from({ length: C }, (_, c) => z[r * C + c]!);
    if (kind === 'softmaxCrossEntropy') {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      const label = target[r]!;
      for (let c = 0; c < C; c++) sum -= (eps / C + (c === label ? 1 - eps : 0)) * (row[c]! - lse);
      if (row.indexOf(m) === label) correct++;
    } else {
      for (let c = 0; c < C; c++) {
        const x = row[c]!,
          t = target[r * C + c]!;
        if (kind === 'mse') sum += (x - t) ** 2;
        else {
          sum += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
          if (x > 0 === t > 0.5) correct++;
        }
      }
    }
  }
  return { sum, mean: sum / (kind === 'softmaxCrossEntropy' ? B : B * C), correct };
}

function makeTarget(kind: LossKind, B: number, C: number, seed: number): Int32Array | Float32Array {
  const r = new Random(seed);
  if (kind === 'softmaxCrossEntropy') return Int32Array.from({ length: B }, () => r.int(C));
  if (kind === 'bceLogits') return Float32Array.from({ length: B * C }, () => (r.next() < 0.5 ? 0 : 1));
  return randomArray(B * C, seed);
}

const CASES: [LossKind, number][] = [
  ['softmaxCrossEntropy', 0],
  ['softmaxCrossEntropy', 0.1],
  ['mse', 0],
  ['bceLogits', 0],
];

describe.each(testBackends())('losses on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each(CASES)('%s (label smoothing %s): summed loss, correct count and gradient match float64', async (kind, eps) => {
    const { device } = ctx;
    const [B, C] = [131, 10]; // more rows than the workgroup, not a multiple of it
    const z = randomArray(B * C, 3, -4, 4);
    const target = makeTarget(kind, B, C, 4);
    const stats = newStats(device);
    const grad = poisoned(device, [B, C]);
    lossForward(kind, { z: device.tensor(z, [B, C]), target: device.tensor(target, kind === 'softmaxCrossEntropy' ? [B] : [B, C]), stats, grad, labelSmoothing: eps });
    const ref = lossRef(kind, z, B, C, target, eps);
    const s = await stats.read();
    expect(relativeError([s[0]!], [ref.sum])).toBeLessThan(1e-5);
    expect(s[1]).toBe(ref.correct);
    expect(s[2]).toBe(-1);
    // Finite differences of the float64 mean loss, every element.
    const h = 1e-4;
    const fd = new Float64Array(B * C);
    const zz = Float64Array.from(z);
    for (let i = 0; i < B * C; i++) {
      const keep = zz[i]!;
      zz[i] = keep + h;
      const up = lossRef(kind, zz, B, C, target, eps).mean;
      zz[i] = keep - h;
      const down = lossRef(kind, zz, B, C, target, eps).mean;
      zz[i] = keep;
      fd[i] = (up - down) / (2 * h);
    }
    await expectClose(grad, fd, 1e-3);
  });

  it('accumulates over batches and records the first step with a non-finite loss', async () => {
    const { device } = ctx;
    const stats = newStats(device);
    const labels = device.tensor(new Int32Array([1, 0]));
    lossForward('softmaxCrossEntropy', { z: device.tensor(new Float32Array([0, 0, 0, 0]), [2, 2]), target: labels, stats, step: 0 });
    lossForward('softmaxCrossEntropy', { z: device.tensor(new Float32Array([0, 0, 0, 0]), [2, 2]), target: labels, stats, step: 1 });
    lossForward('softmaxCrossEntropy', { z: device.tensor(new Float32Array([NaN, 0, 0, 0]), [2, 2]), target: labels, stats, step: 2 });
    lossForward('softmaxCrossEntropy', { z: device.tensor(new Float32Array([Infinity, 0, 0, 0]), [2, 2]), target: labels, stats, step: 3 });
    const s = await stats.read();
    expect(s[2]).toBe(2);
  });

  it('softmax rows match float64 and sum to 1', async () => {
    const { device } = ctx;
    const [B, C] = [70, 13];
    const z = randomArray(B * C, 9, -30, 30);
    const ref = new Float64Array(B * C);
    for (let r = 0; r < B; r++) {
      const row = z.subarray(r * C, (r + 1) * C);
      const m = Math.max(...row);
      const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
      for (let c = 0; c < C; c++) ref[r * C + c] = Math.exp(row[c]! - m) / s;
    }
    await expectClose(softmax(device.tensor(z, [B, C])), ref, 1e-5);
  });

  it('rejects labels of the wrong shape and smoothing out of range', () => {
    const { device } = ctx;
    const z = device.empty([4, 3]);
    expect(() => lossForward('softmaxCrossEntropy', { z, target: device.tensor(new Int32Array(3)), stats: newStats(device) })).toThrow(/labels has shape \[3\], expected \[4\]/);
    expect(() => lossForward('softmaxCrossEntropy', { z, target: device.tensor(new Int32Array(4)), stats: newStats(device), labelSmoothing: 1 })).toThrow(/labelSmoothing/);
    expect(() => lossForward('mse', { z, target: device.tensor(new Int32Array(4)), stats: newStats(device) })).toThrow(/targets must be f32/);
  });
});
