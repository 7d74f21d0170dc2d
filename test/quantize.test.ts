import { describe, expect, it } from 'vitest';
import { calibrateActivations, observeWeight, QuantizedMLP, qrange, quantizeWeights, referenceParams, roundHalfEven, type QuantSpec } from '../src/compress/quantize.js';
import { fakeQuant, packRows, qgemm } from '../src/kernels/quant.js';
import { prune } from '../src/compress/prune.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { InvalidArgumentError } from '../src/errors.js';
import { normalizeSpec, type QuantRequest } from '../src/nn/quant-spec.js';
import { randomArray, relativeError, testBackends, useDevice } from './helpers.js';

describe('quantization parameters (PyTorch MinMaxObserver formulas)', () => {
  it('ranges, affine and symmetric parameters, zero always exact, all-zero tensors', () => {
    expect(qrange({ bits: 8 })).toEqual([-128, 127]);
    expect(qrange({ bits: 8, restrictRange: true })).toEqual([-127, 127]);
    expect(qrange({ bits: 4, signed: false })).toEqual([0, 15]);
    expect(qrange({ bits: 2 })).toEqual([-2, 1]);
    const affine = referenceParams(-1, 2, { bits: 8, signed: false, symmetric: false });
    expect(affine.scale).toBeCloseTo(3 / 255, 7);
    expect(affine.zero).toBe(85);
    expect(referenceParams(-1, 0.5, { bits: 8 }).scale).toBeCloseTo(1 / 127.5, 7);
    expect(referenceParams(-1, 0.5, { bits: 8, restrictRange: true }).scale).toBeCloseTo(1 / 127, 7);
    expect(referenceParams(-1, 0.5, { bits: 8, signed: false })).toEqual({ scale: Math.fround(1 / 127.5), zero: 128 });
    // PyTorch's eps floor (torch.finfo(torch.float32).eps): all-zero and tiny ranges.
    expect(referenceParams(0, 0, { bits: 8 })).toEqual({ scale: 1.1920928955078125e-7, zero: 0 });
    expect(referenceParams(0, 0, { bits: 8, symmetric: false })).toEqual({ scale: 1.1920928955078125e-7, zero: -128 });
    expect(referenceParams(-4.9e-9, 6.4e-9, { bits: 8 }).scale).toBe(1.1920928955078125e-7);
    expect(referenceParams(3, 3, { bits: 8, signed: false, symmetric: false }).zero).toBe(0); // [0, 3]: the range includes 0
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2]);
  });

  it('bad specs are typed errors', () => {
    for (const spec of [{ bits: 1 }, { bits: 9 }, { bits: 4.5 }, { bits: 8, signed: false, restrictRange: true }] as QuantSpec[])
      expect(() => observeWeight(undefined as never, spec)).toThrow(InvalidArgumentError);
    const bad: [QuantRequest, RegExp][] = [
      [{ method: 'binary', bits: 3 }, /binary weights take 1 bit/],
      [{ method: 'ternary', symmetric: false }, /signed and symmetric/],
      [{ method: 'kmeans', bits: 9 }, /from 1 to 8/],
      [{ method: 'kmeans', bits: 4, perChannel: true }, /one codebook per layer/],
      [{ method: 'median' as never, bits: 4 }, /Unknown quantization method 'median'/],
      [{ symmetric: false }, /bits must be an integer from 2 to 8, got undefined/],
    ];
    for (const [spec, message] of bad) expect(() => normalizeSpec(spec)).toThrow(message);
  });

  it('specs are canonical: implied bits filled in, defaults left out', () => {
    expect(normalizeSpec({ bits: 8, symmetric: true, signed: true, perChannel: true, restrictRange: false })).toEqual({ bits: 8 });
    expect(normalizeSpec({ method: 'minmax', bits: 4, symmetric: false, perChannel: false })).toEqual({ bits: 4, symmetric: false, perChannel: false });
    expect(normalizeSpec({ method: 'binary' })).toEqual({ method: 'binary', bits: 1 });
    expect(normalizeSpec({ method: 'ternary', perChannel: false })).toEqual({ method: 'ternary', bits: 2, perChannel: false });
    expect(normalizeSpec({ method: 'kmeans', bits: 1 })).toEqual({ method: 'kmeans', bits: 1 });
  });
});

/** Distance in units in the last place between two f32 values of the same sign. */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0]! - bits[1]!);
}

describe.each(testBackends())('quantization kernels on %s', (backend) => {
  const ctx = useDevice(backend);
  const specs: QuantSpec[] = [{ bits: 8 }, { bits: 8, restrictRange: true }, { bits: 4, perChannel: false }, { bits: 6, symmetric: false }, { bits: 3, signed: false, symmetric: false }];

  it.each(specs)('%o: GPU parameters and fake quantization match the CPU formulas', async (spec) => {
    const { device } = ctx;
    const [rows, cols] = [37, 11];
    const w = randomArray(rows * cols, 5, -0.7, 1.2);
    for (let r = 0; r < rows; r++) {
      w[r * cols + 2] = 0; // an all-zero channel: PyTorch's eps scale
      w[r * cols + 5] = ((r % 7) - 3) * 1.7e-9; // a range below eps * 127
    }
    const t = device.tensor(w, [rows, cols]);
    const q = observeWeight(t, spec);
    const [scale, zero] = [await q.scale.read(), await q.zero.read()];
    const channels = spec.perChannel === false ? 1 : cols;
    for (let c = 0; c < channels; c++) {
      const column = spec.perChannel === false ? Array.from(w) : Array.from({ length: rows }, (_, r) => w[r * cols + c]!);
      const ref = referenceParams(Math.min(...column), Math.max(...column), spec);
      expect(relativeError([scale[c]!], [ref.scale])).toBeLessThan(1e-6);
      expect(zero[c]).toBe(ref.zero);
    }
    const fq = await fakeQuant(t, q, spec.perChannel === false ? 'tensor' : 'cols').read();
    const [qmin, qmax] = qrange(spec);
    let off = 0;
    w.forEach((v, i) => {
      const c = spec.perChannel === false ? 0 : i % cols;
      const s = scale[c]!,
        z = zero[c]!;
      const want = Math.fround((Math.min(qmax, Math.max(qmin, roundHalfEven(v / s) + z)) - z) * s);
      if (fq[i] !== want) off++;
      expect(Math.abs(fq[i]! - want)).toBeLessThanOrEqual(s * 1.0001); // at most one step, at a rounding tie
    });
    expect(off).toBeLessThanOrEqual(1);
  });

  it.each([8, 4] as const)('qgemm with %i-bit weight lanes equals the integer arithmetic done on the CPU', async (laneBits) => {
    const { device } = ctx;
    const [M, N, K] = [13, 11, 37]; // K not a multiple of 8: padding must contribute nothing
    const x = randomArray(M * K, 1, 0, 3);
    const wt = randomArray(N * K, 2, -1, 1); // W^T [N, K]
    const spec = laneBits === 8 ? { bits: 8 } : { bits: 4 };
    // Per-output-channel parameters: observe W = (W^T)^T column by column.
    const wT = device.tensor(wt, [N, K]);
    const W = device.tensor(
      Float32Array.from({ length: K * N }, (_, i) => wt[(i % N) * K + Math.floor(i / N)]!),
      [K, N],
    );
    const weight = observeWeight(W, spec);
    const words = Math.ceil(K / 8) * (laneBits === 8 ? 2 : 1);
    const packedW = packRows(wT, weight, 'rows', laneBits, words);
    const sx = 3 / 255,
      zx = 0;
    const inputQ = { scale: device.tensor(new Float32Array([sx])), zero: device.tensor(new Int32Array([zx])), qmin: 0, qmax: 255 };
    const xwords = (words * (32 / laneBits)) / 4;
    const packedX = packRows(device.tensor(x, [M, K]), inputQ, 'tensor', 8, xwords);
    const bias = randomArray(N, 3);
    const sw0 = await weight.scale.read();
    const outScale = Float32Array.from(sw0, (v) => sx * v);
    const common = { laneBits, zx, outScale: device.tensor(outScale), weightZero: weight.zero };
    const out = await qgemm(packedX, packedW, { ...common, bias: device.tensor(bias) }).read();
    const plain = await qgemm(packedX, packedW, common).read();
    // Unpack the GPU's own integers and redo the arithmetic exactly.
    const [pw, px, zw] = [await packedW.read(), await packedX.read(), await weight.zero.read()];
    const lane = (word: number, j: number, bits: number, signed: boolean) => {
      const v = (word >>> (j * bits)) & ((1 << bits) - 1);
      return signed && v >= 1 << (bits - 1) ? v - (1 << bits) : v;
    };
    const lanes = 32 / laneBits;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < words * lanes; k++) {
          const xb = lane(px[m * xwords + Math.floor(k / 4)]!, k % 4, 8, false);
          const wv = lane(pw[n * words + Math.floor(k / lanes)]!, k % lanes, laneBits, true);
          if (k >= K) expect([xb - zx, wv - zw[n]!]).toContain(0); // padding contributes nothing
          acc += (xb - zx) * (wv - zw[n]!);
        }
        // Exact: the integer sum, then one correctly rounded multiply.
        const scaled = Math.fround(outScale[n]! * acc);
        expect(plain[m * N + n], `m ${m} n ${n}`).toBe(scaled);
        // With the bias, a compiler may fuse the multiply and add (one rounding fewer): one ulp.
        expect(ulps(out[m * N + n]!, Math.fround(scaled + bias[n]!)), `m ${m} n ${n}`).toBeLessThanOrEqual(1);
      }
    // And the integers are the quantized inputs: dequantized they are within half a step.
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) expect(Math.abs(lane(px[m * xwords + Math.floor(k / 4)]!, k % 4, 8, false) * sx - x[m * K + k]!)).toBeLessThanOrEqual(sx / 2 + 1e-7);
  });

  it('post-training quantization keeps pruned weights at 0; integer inference tracks the float model', async () => {
    const { device } = ctx;
    const features = randomArray(600 * 10, 4);
    const labels = Int32Array.from({ length: 600 }, (_, i) => (features[i * 10]! + features[i * 10 + 1]! > 0 ? 1 : 0) + (features[i * 10 + 2]! > 0.4 ? 1 : 0));
    const data = { features, rows: 600, cols: 10, labels, classes: 3 };
    const model = MLP.create(device, [10, 24, 16, 3], { seed: 3 });
    await fit(model, data, { epochs: 20, batchSize: 30, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 } });
    await prune(model, { type: 'layer', sparsity: 0.5 });
    const float = (await evaluate(model, data)).accuracy;
    const before = await model.read();
    await quantizeWeights(model, { bits: 8, restrictRange: true });
    const after = await model.read();
    after.forEach((l, i) =>
      l.weight.forEach((v, j) => {
        if (before[i]!.weight[j] === 0) expect(Object.is(v, 0)).toBe(true);
        else expect(Math.abs(v - before[i]!.weight[j]!)).toBeLessThan(0.01);
      }),
    );
    const ptq = (await evaluate(model, data)).accuracy;
    expect(Math.abs(ptq - float)).toBeLessThan(0.02);
    const q = await QuantizedMLP.from(model, await calibrateActivations(model, data, { batches: 2 }));
    const x = device.tensor(features.slice(0, 100 * 10), [100, 10]);
    const zi = await q.forward(x).read();
    const zf = await model.predict(x);
    expect(relativeError(zi, zf)).toBeLessThan(0.05);
    let agree = 0;
    for (let r = 0; r < 100; r++) {
      const a = Array.from(zi.subarray(r * 3, r * 3 + 3)),
        b = Array.from(zf.subarray(r * 3, r * 3 + 3));
      if (a.indexOf(Math.max(...a)) === b.indexOf(Math.max(...b))) agree++;
    }
    expect(agree).toBeGreaterThanOrEqual(95);
    q.dispose();
    model.dispose();
  });
});
