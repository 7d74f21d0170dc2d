import { describe, expect, it } from 'vitest';
import { compressedSize } from '../src/compress/size.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { MLP } from '../src/nn/mlp.js';
import { evaluate, fit } from '../src/nn/train.js';
import { randomArray, useDevice } from './helpers.js';

describe('compressed size and quantization-aware training', () => {
  const ctx = useDevice('llvmpipe');

  it('counts values, relative indices with fillers, bitmaps, scales and biases exactly', async () => {
    const { device } = ctx;
    const w = new Float32Array(20);
    w[0] = 1; w[3] = -2; w[19] = 0.5; // kept at 0, 3, 19: gaps 1, 3, 16
    const model = MLP.fromWeights(device, [{ inputs: 4, units: 5, activation: 'identity', weight: w, bias: new Float32Array(5) }]);
    await prune(model, { type: 'threshold', threshold: 0 }); // gives the layer a mask of its zeros
    quantizeWeights(model, { bits: 4 }); // symmetric per channel: 5 scales, no zero points
    const s = await compressedSize(model, { bits: 4, indexBits: 2 });
    // maxGap 3: the gap of 16 needs floor(15 / 3) = 5 fillers of 4 + 2 bits; 3 indices of 2 bits.
    expect(s.fillers).toBe(5);
    expect(s.relativeIndexBytes).toBe(Math.ceil((3 * 2 + 5 * 6) / 8));
    expect(s.bitmapBytes).toBe(3);
    expect(s.valueBytes).toBe(Math.ceil((3 * 4) / 8));
    expect(s.scaleBytes).toBe(5 * 4);
    expect(s.biasBytes).toBe(20);
    expect(s.index).toBe('bitmap'); // 3 bytes beat 5
    expect(s.totalBytes).toBe(2 + 3 + 20 + 20);
    expect(s.denseBytes).toBe(4 * 25);
    const dense = await compressedSize(MLP.create(device, [4, 5], { seed: 1 }), { bits: 32 });
    expect([dense.index, dense.totalBytes, dense.ratio]).toEqual(['dense', 100, 1]);
    model.dispose();
  });

  it('QAT trains through fake-quantized weights and leaves 4-bit weights that still classify', async () => {
    const { device } = ctx;
    const features = randomArray(500 * 8, 3);
    const labels = Int32Array.from({ length: 500 }, (_, i) => (features[i * 8]! > 0 ? 1 : 0) + (features[i * 8 + 1]! > 0.3 ? 1 : 0));
    const data = { features, rows: 500, cols: 8, labels, classes: 3 };
    const model = MLP.create(device, [8, 24, 3], { seed: 5 });
    await fit(model, data, { epochs: 25, batchSize: 25, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, quantization: { bits: 4 } });
    expect(model.layers.every((l) => l.quant?.spec.bits === 4)).toBe(true);
    const w = (await model.read())[0]!.weight;
    for (let c = 0; c < 24; c++) {
      const column = new Set(Array.from({ length: 8 }, (_, r) => w[r * 24 + c]));
      expect(column.size).toBeLessThanOrEqual(16); // at most 2^4 levels per output channel
    }
    expect((await evaluate(model, data)).accuracy).toBeGreaterThan(0.85);
    model.dispose();
  });
});
