import { describe, expect, it } from 'vitest';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { signQuantize } from '../src/kernels/sign.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { quantizationAware } from '../src/compress/qat.js';

/** XNOR-Net / TWN in float64, per column or for the whole tensor, pruned weights left out. */
function reference(w: Float32Array, rows: number, cols: number, ternary: boolean, perChannel: boolean, mask?: Float32Array): { out: number[]; alpha: number[] } {
  const channels = perChannel ? cols : 1;
  const members = (c: number) => Array.from({ length: rows * cols }, (_, i) => i).filter((i) => (!perChannel || i % cols === c) && mask?.[i] !== 0);
  const alpha: number[] = [],
    delta: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = members(c);
    const mean = m.length ? m.reduce((s, i) => s + Math.abs(w[i]!), 0) / m.length : 0;
    if (!ternary) alpha.push(mean), delta.push(0);
    else {
      const above = m.filter((i) => Math.abs(w[i]!) > 0.7 * mean);
      alpha.push(above.length ? above.reduce((s, i) => s + Math.abs(w[i]!), 0) / above.length : 0);
      delta.push(0.7 * mean);
    }
  }
  const out = Array.from(w, (v, i) => {
    if (mask && mask[i] === 0) return 0;
    const c = perChannel ? i % cols : 0;
    if (!ternary) return v >= 0 ? alpha[c]! : -alpha[c]!;
    return Math.abs(v) > delta[c]! ? Math.sign(v) * alpha[c]! : 0;
  });
  return { out, alpha };
}

describe.each(testBackends())('binary and ternary weights on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [false, true, false],
    [true, true, false],
    [false, false, true],
    [true, false, true],
    [true, true, true],
  ])('ternary %s, per channel %s, with a mask %s: against float64 on a 37 x 13 tensor', async (ternary, perChannel, masked) => {
    const { device } = ctx;
    const rows = 37,
      cols = 13;
    const w = randomArray(rows * cols, 11);
    const mask = masked ? Float32Array.from(randomArray(rows * cols, 12), (v) => (v > -0.2 ? 1 : 0)) : undefined;
    const out = poisoned(device, [rows, cols]);
    const { alpha } = signQuantize(device.tensor(w, [rows, cols]), { ternary, perChannel, mask: mask && device.tensor(mask, [rows, cols]), out });
    const ref = reference(w, rows, cols, ternary, perChannel, mask);
    const got = await out.read();
    const a = await alpha.read();
    a.forEach((v, c) => expect(v).toBeCloseTo(ref.alpha[c]!, 6));
    got.forEach((v, i) => expect(v).toBeCloseTo(ref.out[i]!, 6));
  });
});

describe('binary and ternary models', () => {
  const ctx = useDevice('llvmpipe');
  const features = randomArray(400 * 8, 3);
  const labels = Int32Array.from({ length: 400 }, (_, i) => (features[i * 8]! > 0 ? 1 : 0) + (features[i * 8 + 1]! > 0.3 ? 1 : 0));
  const data = { features, rows: 400, cols: 8, labels, classes: 3 };

  it.each(['binary', 'ternary'] as const)('%s post-training: every kept weight is +-alpha of its column (or 0 for ternary), pruned stay 0', async (method) => {
    const model = MLP.create(ctx.device, [8, 12, 3], { seed: 2 });
    await prune(model, { type: 'layer', sparsity: 0.25 });
    await quantizeWeights(model, { method });
    for (const l of model.layers) {
      const w = await l.weight.read(),
        alpha = await l.quant!.weight.scale.read(),
        mask = await l.mask!.read();
      expect(l.quant!.spec).toEqual({ method, bits: method === 'binary' ? 1 : 2 });
      w.forEach((v, i) => {
        const a = alpha[i % l.units]!;
        if (mask[i] === 0) expect(v).toBe(0);
        else expect(method === 'binary' ? [a, -a] : [a, -a, 0]).toContain(v);
      });
    }
    model.dispose();
  });

  it.each(['binary', 'ternary'] as const)('%s quantization-aware training learns a task and ends with +-alpha weights', async (method) => {
    const model = MLP.create(ctx.device, [8, 32, 3], { seed: 5 });
    await fit(model, data, { epochs: 30, batchSize: 25, learningRate: 0.02, optimizer: { type: 'sgd', momentum: 0.9 }, hooks: [quantizationAware({ method })] });
    expect(model.layers.every((l) => l.quant?.spec.method === method)).toBe(true);
    const w = (await model.read())[0]!.weight;
    const alpha = await model.layers[0]!.quant!.weight.scale.read();
    w.forEach((v, i) => expect(Math.abs(v) === alpha[i % 32] || (method === 'ternary' && v === 0)).toBe(true));
    expect((await evaluate(model, data)).accuracy).toBeGreaterThan(0.8);
    model.dispose();
  });
});
