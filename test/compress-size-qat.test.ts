import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModel } from '../src/io/files.js';
import { compressedSize } from '../src/compress/size.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { randomArray, useDevice } from './helpers.js';
import { quantizationAware } from '../src/compress/qat.js';

describe('compressed size and quantization-aware training', () => {
  const ctx = useDevice('llvmpipe');

  it('is the byte length of the file saveModel writes, broken down by part: relative indices with fillers, packed values, scales, biases, header', async () => {
    const { device } = ctx;
    const w = new Float32Array(200);
    w[0] = 1;
    w[3] = -2;
    w[199] = 0.5; // kept at 0, 3, 199: gaps 1, 3, 196
    const model = MLP.fromWeights(device, [{ inputs: 4, units: 50, activation: 'identity', weight: w, bias: new Float32Array(50) }]);
    await prune(model, { type: 'threshold', threshold: 0 }); // gives the layer a mask of its zeros
    await quantizeWeights(model, { bits: 4 }); // symmetric per channel: 50 scales, no zero points
    const s = await compressedSize(model, { metadata: { note: 'three weights' } });
    // 8-bit entries 1, 3, 196: 3 bytes (7 bits would need a filler: 4 entries; a bitmap takes 25 bytes).
    expect(s.layers[0]).toMatchObject({ kept: 3, positions: 'relative', indexBits: 8, entries: 3, positionsCode: 'raw', values: 'codes', valuesCode: 'raw' });
    expect(s.parts).toMatchObject({ positions: 3, values: Math.ceil((3 * 4) / 8), scales: 50 * 4, biases: 50 * 4, codebooks: 0, masks: 0 });
    expect(Object.values(s.parts).reduce((a, b) => a + b, 0)).toBe(s.totalBytes);
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-size-'));
    try {
      const written = await saveModel(model, join(dir, 'm.safetensors'), { note: 'three weights' });
      expect(statSync(join(dir, 'm.safetensors')).size).toBe(s.totalBytes);
      expect(written).toBe(s.totalBytes);
      const dense = MLP.create(device, [4, 50], { seed: 1 });
      await saveModel(dense, join(dir, 'dense.safetensors'), { note: 'three weights' });
      expect(s.denseBytes).toBe(statSync(join(dir, 'dense.safetensors')).size);
      const d = await compressedSize(dense);
      expect([d.layers[0]!.positions, d.layers[0]!.values, d.parts.values, d.ratio]).toEqual(['dense', 'f32', 800, 1]);
      dense.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    model.dispose();
  });

  it('QAT trains through fake-quantized weights and leaves 4-bit weights that still classify', async () => {
    const { device } = ctx;
    const features = randomArray(500 * 8, 3);
    const labels = Int32Array.from({ length: 500 }, (_, i) => (features[i * 8]! > 0 ? 1 : 0) + (features[i * 8 + 1]! > 0.3 ? 1 : 0));
    const data = { features, rows: 500, cols: 8, labels, classes: 3 };
    const model = MLP.create(device, [8, 24, 3], { seed: 5 });
    await fit(model, data, { epochs: 25, batchSize: 25, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, hooks: [quantizationAware({ bits: 4 })] });
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
