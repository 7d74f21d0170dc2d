/**
 * Batch normalization kernels against float64: training statistics (chunked, merged), running
 * averages as PyTorch moves them, inference from them, and the backward pass against its formula
 * and finite differences of a float64 forward pass.
 */
import { describe, expect, it } from 'vitest';
import { batchNormBackward, batchNormInfer, batchNormTrain, type NormParams } from '../src/kernels/batchnorm.js';
import type { Device } from '../src/gpu/device.js';
import { batchNormChecks } from './kernel-checks.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

/** Float64 batch norm in training: y = act(gamma * (x - mean) / sqrt(var + eps) + beta) per column, with the batch's mean and biased variance. */
function refTrain(x: ArrayLike<number>, rows: number, cols: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, relu = false) {
  const mean = new Float64Array(cols);
  const variance = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c]! += x[r * cols + c]! / rows;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) variance[c]! += (x[r * cols + c]! - mean[c]!) ** 2 / rows;
  const y = Float64Array.from({ length: rows * cols }, (_, i) => {
    const c = i % cols;
    const z = (gamma[c]! * (x[i]! - mean[c]!)) / Math.sqrt(variance[c]! + eps) + beta[c]!;
    return relu ? Math.max(z, 0) : z;
  });
  return { y, mean, variance };
}

function norm(device: Device, cols: number, seed: number): { params: NormParams; gamma: Float32Array; beta: Float32Array; running: Float32Array } {
  const gamma = randomArray(cols, seed, 0.5, 2);
  const beta = randomArray(cols, seed + 1);
  const running = Float32Array.from([...randomArray(cols, seed + 2), ...randomArray(cols, seed + 3, 0.5, 3)]);
  return { params: { gamma: device.tensor(gamma), beta: device.tensor(beta), running: device.tensor(running, [2, cols]) }, gamma, beta, running };
}

// Rows around and past the 64-row chunks (2, 63, 65, 203, 4,099), columns not multiples of 4; an offset of 50 tests the variance's precision.
const SHAPES = [
  { rows: 2, cols: 3, offset: 0 },
  { rows: 63, cols: 1, offset: 0 },
  { rows: 65, cols: 6, offset: 0 },
  { rows: 203, cols: 7, offset: 0 },
  { rows: 4099, cols: 5, offset: 50 },
];

describe.each(testBackends())('batch norm kernels on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each(SHAPES)('training forward and running averages match float64 for $rows x $cols (offset $offset)', async ({ rows, cols, offset }) => {
    const { device } = ctx;
    const x = randomArray(rows * cols, rows + cols).map((v, i) => v * (1 + (i % cols)) + offset);
    const n = norm(device, cols, rows);
    const eps = 1e-5;
    const momentum = 0.1;
    for (const relu of [false, true]) {
      const { y, affine } = batchNormTrain(
        device.tensor(x, [rows, cols]),
        n.params,
        { eps, momentum, activation: relu ? 'relu' : 'identity' },
        { y: poisoned(device, [rows, cols]), affine: poisoned(device, [cols, 4]), update: !relu },
      );
      const ref = refTrain(x, rows, cols, n.gamma, n.beta, eps, relu);
      await expectClose(y, ref.y, 1e-5);
      const a = await affine.read();
      const refAffine = Array.from({ length: cols }, (_, c) => {
        const invstd = 1 / Math.sqrt(ref.variance[c]! + eps);
        return [ref.mean[c]!, invstd, n.gamma[c]! * invstd, n.beta[c]!];
      }).flat();
      await expectClose(affine, refAffine, 1e-5);
      expect(a.length).toBe(cols * 4);
    }
    // One update (the relu run kept them): PyTorch's running averages, the variance unbiased.
    const ref = refTrain(x, rows, cols, n.gamma, n.beta, eps);
    const expected = [
      ...Array.from(ref.mean, (m, c) => (1 - momentum) * n.running[c]! + momentum * m),
      ...Array.from(ref.variance, (v, c) => (1 - momentum) * n.running[cols + c]! + (momentum * v * rows) / (rows - 1)),
    ];
    await expectClose(n.params.running, expected, 1e-5);
  });

  it.each(SHAPES)('inference uses the running averages for $rows x $cols', async ({ rows, cols }) => {
    const { device } = ctx;
    const x = randomArray(rows * cols, 3 * rows + cols);
    const n = norm(device, cols, 2 * rows);
    const eps = 1e-3;
    const y = batchNormInfer(device.tensor(x, [rows, cols]), n.params, { eps, activation: 'tanh' }, poisoned(device, [rows, cols]));
    const expected = Array.from(x, (v, i) => {
      const c = i % cols;
      return Math.tanh((n.gamma[c]! * (v - n.running[c]!)) / Math.sqrt(n.running[cols + c]! + eps) + n.beta[c]!);
    });
    await expectClose(y, expected, 1e-5);
  });

  it.each(SHAPES)('backward matches finite differences of a float64 forward pass for $rows x $cols', async ({ rows, cols, offset }) => {
    const { device } = ctx;
    const x = Float64Array.from(randomArray(rows * cols, 5 * rows + cols), (v) => v + offset);
    const n = norm(device, cols, 3 * rows);
    const gamma = Float64Array.from(n.gamma);
    const beta = Float64Array.from(n.beta);
    const w = randomArray(rows * cols, 7 * rows + cols); // L = sum w * y, so dz = w
    const eps = 1e-5;
    const tx = device.tensor(Float32Array.from(x), [rows, cols]);
    const { affine } = batchNormTrain(tx, n.params, { eps, momentum: 0.1, activation: 'identity' });
    const out = { dgamma: poisoned(device, [cols]), dbeta: poisoned(device, [cols]), dx: poisoned(device, [rows, cols]) };
    batchNormBackward(tx, device.tensor(w, [rows, cols]), affine, out);
    const loss = () => refTrain(x, rows, cols, gamma, beta, eps).y.reduce((s, v, i) => s + v * w[i]!, 0);
    const fd = (values: Float64Array, i: number, h: number) => {
      const keep = values[i]!;
      values[i] = keep + h;
      const up = loss();
      values[i] = keep - h;
      const down = loss();
      values[i] = keep;
      return (up - down) / (2 * h);
    };
    await expectClose(
      out.dgamma,
      Array.from(gamma, (_, c) => fd(gamma, c, 1e-6)),
      1e-5,
    );
    await expectClose(
      out.dbeta,
      Array.from(beta, (_, c) => fd(beta, c, 1e-6)),
      1e-5,
    );
    // dx by finite differences on a sample of elements (every one for small shapes).
    const picked = rows * cols <= 500 ? Array.from({ length: rows * cols }, (_, i) => i) : Array.from({ length: 60 }, (_, k) => (k * 2_654_435_761) % (rows * cols));
    const dx = await out.dx.read();
    const expected = picked.map((i) => fd(x, i, 1e-4));
    const actual = picked.map((i) => dx[i]!);
    const scale = Math.sqrt(expected.reduce((s, v) => s + v * v, 0)) || 1;
    const error = Math.sqrt(actual.reduce((s, v, k) => s + (v - expected[k]!) ** 2, 0)) / scale;
    // A batch of 2 rows normalizes to +-1 exactly: the input gradient is zero but for rounding.
    expect(error).toBeLessThan(rows === 2 ? 1e-3 : 1e-4);
  });

  it('the shared batch norm network checks (also run in the browser and on a lent GPU)', async () => {
    const checks = await batchNormChecks(ctx.device);
    expect(checks.length).toBe(8); // inference, 3 weight gradients, gamma and beta of 2 batch norms
    for (const c of checks) expect(c.error, c.name).toBeLessThan(c.tolerance);
  });

  it('refuses training on one row per channel, as PyTorch does', () => {
    const { device } = ctx;
    const n = norm(device, 3, 1);
    expect(() => batchNormTrain(device.tensor(new Float32Array(3), [1, 3]), n.params, { eps: 1e-5, momentum: 0.1, activation: 'identity' })).toThrow(/more than one value per channel/);
  });
});
