import { describe, expect, it } from 'vitest';
import { prune } from '../src/compress/prune.js';
import { resize } from '../src/kernels/transpose.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { refForward, toRef } from './reference-mlp.js';

describe.each(testBackends())('inference at any width on %s', (backend) => {
  const ctx = useDevice(backend);

  it('resize cuts and zero-pads 2D tensors', async () => {
    const { device } = ctx;
    const x = device.tensor(randomArray(5 * 7, 1), [5, 7]);
    const data = await x.read();
    const padded = resize(x, 6, 9, poisoned(device, [6, 9]));
    expect(Array.from(await padded.read())).toEqual(Array.from({ length: 54 }, (_, i) => (Math.floor(i / 9) < 5 && i % 9 < 7 ? data[Math.floor(i / 9) * 7 + (i % 9)]! : 0)));
    const cut = resize(x, 3, 2);
    expect(Array.from(await cut.read())).toEqual([data[0], data[1], data[7], data[8], data[14], data[15]]);
  });

  it.each([
    [[37, 94, 51, 10], 'relu'],
    [[13, 30, 3], 'sigmoid'], // sigmoid(0) = 0.5 in the padding units must not leak
    [[4, 6, 5, 2], 'tanh'],
  ] as const)('%o (%s): odd widths give what float64 gives', async (widths, activation) => {
    const model = MLP.create(ctx.device, [...widths], { seed: 4, activation });
    const rows = 33;
    const x = randomArray(rows * widths[0], 5);
    const out = model.forward(ctx.device.tensor(x, [rows, widths[0]]));
    expect(out.shape).toEqual([rows, widths[widths.length - 1]]);
    await expectClose(out, refForward(await toRef(model), x, rows), 1e-5);
    model.dispose();
  });

  it('padded weights follow every change of the weights: write, training, pruning', async () => {
    const model = MLP.create(ctx.device, [9, 30, 7, 3], { seed: 2 });
    const rows = 17;
    const x = randomArray(rows * 9, 6);
    const check = async () => expectClose(model.forward(ctx.device.tensor(x, [rows, 9])), refForward(await toRef(model), x, rows), 1e-5);
    await check(); // pads and keeps the padded weights
    model.layers[1]!.weight.write(randomArray(30 * 7, 7));
    await check();
    const features = randomArray(40 * 9, 8);
    await fit(model, { features, rows: 40, cols: 9, labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 }, { epochs: 2, batchSize: 8, learningRate: 0.1 });
    await check();
    await prune(model, { type: 'global', sparsity: 0.5 });
    await check();
    model.dispose();
  });
});

describe('write stamps', () => {
  const ctx = useDevice('llvmpipe');

  it('change when a tensor is written (write, a dispatch writing it, a copy into it), not when it is read', async () => {
    const { device } = ctx;
    const a = device.tensor(randomArray(8, 1), [2, 4]);
    let stamp = device.writeStamp(a);
    const b = resize(a, 2, 4); // reads a
    expect(device.writeStamp(a)).toBe(stamp);
    a.write(randomArray(8, 2));
    expect(device.writeStamp(a)).not.toBe(stamp);
    stamp = device.writeStamp(a);
    resize(b, 2, 4, a); // writes a
    expect(device.writeStamp(a)).not.toBe(stamp);
    const copy = device.duplicate(a);
    expect(device.writeStamp(copy)).not.toBe(device.writeStamp(b));
    await device.sync();
  });
});
