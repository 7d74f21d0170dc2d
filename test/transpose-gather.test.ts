import { describe, expect, it } from 'vitest';
import { gatherBytes, gatherLabels, gatherRows } from '../src/kernels/gather.js';
import { transpose } from '../src/kernels/transpose.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { Random } from '../src/random.js';

describe.each(testBackends())('transpose and gather on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [1, 1],
    [1, 37],
    [37, 1],
    [17, 33],
    [300, 129],
  ] as const)('transpose of %i x %i matches', async (rows, cols) => {
    const { device } = ctx;
    const x = randomArray(rows * cols, rows * cols);
    const ref = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) ref[j * rows + i] = x[i * cols + j]!;
    await expectClose(transpose(device.tensor(x, [rows, cols]), poisoned(device, [cols, rows])), ref, 1e-7);
  });

  // cols 13 takes the scalar path, 784 (MNIST) the vec4 path; indices repeat and come in any order.
  it.each([
    [50, 13, 17],
    [1000, 784, 128],
    [5, 4, 1],
  ] as const)('gatherRows from %i x %i picks %i shuffled rows', async (rows, cols, count) => {
    const { device } = ctx;
    const x = randomArray(rows * cols, rows + cols);
    const r = new Random(count);
    const index = Uint32Array.from({ length: count }, () => r.int(rows));
    const ref = new Float64Array(count * cols);
    for (let i = 0; i < count; i++) for (let j = 0; j < cols; j++) ref[i * cols + j] = x[index[i]! * cols + j]!;
    const out = gatherRows(device.tensor(x, [rows, cols]), device.tensor(index), { out: poisoned(device, [count, cols]) });
    await expectClose(out, ref, 1e-7);
  });

  it('gathers from an offset into the index: rows, labels and packed bytes', async () => {
    const { device } = ctx;
    const [rows, cols, offset, count] = [40, 12, 7, 9];
    const r = new Random(5);
    const index = Uint32Array.from({ length: 30 }, () => r.int(rows));
    const ti = device.tensor(index);
    const x = randomArray(rows * cols, 8);
    const refRows = new Float64Array(count * cols);
    for (let i = 0; i < count; i++) for (let j = 0; j < cols; j++) refRows[i * cols + j] = x[index[offset + i]! * cols + j]!;
    await expectClose(gatherRows(device.tensor(x, [rows, cols]), ti, { offset, count, out: poisoned(device, [count, cols]) }), refRows, 1e-7);

    const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7) % 10);
    const got = await gatherLabels(device.tensor(labels), ti, { offset, count, out: device.tensor(new Int32Array(count).fill(-99)) }).read();
    expect(Array.from(got)).toEqual(Array.from({ length: count }, (_, i) => labels[index[offset + i]!]));

    // Rows of 12 bytes (3 words: one per invocation) and of 48 (16 bytes per invocation); the
    // last index is out of range and gives zeros.
    for (const width of [12, 48]) {
      const bytes = Uint8Array.from({ length: rows * width }, () => r.int(256));
      const packed = device.tensor(new Uint32Array(bytes.buffer), [rows, width / 4]);
      const bad = Uint32Array.from([...index.slice(0, offset + count - 1), rows + 3]);
      const refBytes = new Float64Array(count * width);
      for (let i = 0; i < count - 1; i++) for (let j = 0; j < width; j++) refBytes[i * width + j] = bytes[bad[offset + i]! * width + j]! / 255;
      // With the labels in the same dispatch.
      const out = device.tensor(new Int32Array(count).fill(-99));
      const images = gatherBytes(packed, device.tensor(bad), 1 / 255, { offset, count, out: poisoned(device, [count, width]), labels: { from: device.tensor(labels), out } });
      await expectClose(images, refBytes, 1e-7);
      expect(Array.from(await out.read())).toEqual(Array.from({ length: count }, (_, i) => (i < count - 1 ? labels[bad[offset + i]!] : 0)));
    }
    expect(() => gatherBytes(device.empty([4, 3], 'u32'), ti, 1, { count: 2, labels: { from: device.empty([5], 'i32'), out: device.empty([2], 'i32') } })).toThrow(
      /labels.from has shape \[5\], expected \[4\]/,
    );
    expect(() => gatherRows(device.tensor(x, [rows, cols]), ti, { offset: 25, count: 9 })).toThrow(/do not fit an index of 30/);
  });

  it('an out-of-range index gives zeros, not another row', async () => {
    const { device } = ctx;
    const x = device.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const out = gatherRows(x, device.tensor(new Uint32Array([1, 7, 0])));
    expect(Array.from(await out.read())).toEqual([4, 5, 6, 0, 0, 0, 1, 2, 3]);
  });

  it('checks ranks and dtypes', () => {
    const { device } = ctx;
    expect(() => transpose(device.empty([2, 2, 2]))).toThrow(/rank 2/);
    expect(() => gatherRows(device.empty([2, 2]), device.empty([2], 'i32') as never)).toThrow(/index must be u32/);
  });
});
