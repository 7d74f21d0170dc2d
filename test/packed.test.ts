import { describe, expect, it } from 'vitest';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { InvalidArgumentError } from '../src/errors.js';
import { disposePacked, packedBitsFor, packedColumns, packedRange, packedForward, packWeights, uploadPacked, type PackedBits } from '../src/kernels/packed.js';
import { blockSparseForward, bsrOf, disposeBsr, packBlocks, uploadBsr } from '../src/kernels/block-sparse.js';
import { MLP } from '../src/nn/mlp.js';
import { Random } from '../src/random.js';
import { expectClose, expectTanhLayer, keepRandomBlocks, poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { refForward, toRef } from './reference-mlp.js';

/**
 * Integers in [lo, hi] at random, both ends included (in the last unit of the last two inputs),
 * with unit 1 and input 0 all zeros (a fully pruned unit and an unused input). K >= 3, N >= 3.
 */
function integers(K: number, N: number, lo: number, hi: number, seed: number): Int32Array {
  const r = new Random(seed);
  const q = Int32Array.from({ length: K * N }, (_, i) => (i % N === 1 || i < N ? 0 : lo + Math.floor(r.uniform(0, 1) * (hi - lo + 1))));
  q[(K - 2) * N + N - 1] = lo;
  q[(K - 1) * N + N - 1] = hi;
  return q;
}

/** Value (k, n) read back from packed words as the kernel reads them: sign-extended lanes, little end first. */
function unpacked(words: Uint32Array, k: number, n: number, units: number, bits: PackedBits): number {
  const perWord = 32 / bits;
  const rowWords = Math.ceil(units / packedColumns(bits)) * 4;
  const lane = (words[k * rowWords + Math.floor(n / perWord)]! >>> ((n % perWord) * bits)) & ((1 << bits) - 1);
  return lane >= 1 << (bits - 1) ? lane - (1 << bits) : lane;
}

describe('packing integer weights', () => {
  it.each([
    [37, 29, 8],
    [5, 3, 4],
    [4, 33, 4],
    [9, 16, 8],
  ] as const)('%i x %i at %i bits: every value reads back, rows and columns padded with zeros', (K, N, bits) => {
    const [lo, hi] = bits === 8 ? [-128, 127] : [-8, 7];
    const q = integers(K, N, lo, hi, K + N);
    const words = packWeights(q, K, N, bits);
    const rowWords = Math.ceil(N / packedColumns(bits)) * 4;
    expect(words.length).toBe(Math.ceil(K / 4) * 4 * rowWords);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) expect(unpacked(words, k, n, N, bits)).toBe(q[k * N + n]);
    for (let i = K * rowWords; i < words.length; i++) expect(words[i]).toBe(0); // padding rows
    expect(Math.min(...q)).toBe(lo); // the whole range is exercised, both ends
    expect(Math.max(...q)).toBe(hi);
  });

  it('rejects values outside the lanes and non-integers, and picks the narrowest lanes', () => {
    expect(() => packWeights([8], 1, 1, 4)).toThrow(InvalidArgumentError);
    expect(() => packWeights([-129], 1, 1, 8)).toThrow(InvalidArgumentError);
    expect(() => packWeights([0.5], 1, 1, 8)).toThrow(/not an integer/);
    expect(() => packWeights([1, 2], 1, 1, 8)).toThrow(/not 1 x 1/);
    expect([packedBitsFor(-1, 1), packedBitsFor(-8, 7), packedBitsFor(-127, 127), packedBitsFor(0, 255), packedBitsFor(-128, 128)]).toEqual([4, 4, 8, null, null]);
  });
});

describe.each(testBackends())('packed integer inference on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [37, 29, 70, 8, [-128, 127]],
    [5, 3, 1, 4, [-8, 7]],
    [64, 45, 13, 4, [-1, 1]], // binary and ternary values
    [12, 16, 25, 8, [-2, 1]], // 2 bits in 8-bit lanes
    [100, 10, 40, 8, [0, 0]], // an all-zero layer
    [37, 29, 250, 4, [-8, 7]], // three chunks of 96 rows, the last partial
    [20, 7, 6, 8, [-128, 127]], // under 12 rows: 2 of the 3 row quads
  ] as const)('K %i, N %i, %i rows at %i bits, values in %o: the packed kernel against float64, NaN-poisoned output', async (K, N, rows, bits, [lo, hi]) => {
    const { device } = ctx;
    const q = integers(K, N, lo, hi, rows);
    const scale = randomArray(N, 3, 0.001, 0.1);
    const bias = randomArray(N, 5);
    const x = randomArray(rows * K, 6);
    const w = uploadPacked(device, q, scale, K, N, bits);
    const weight = (k: number, n: number) => q[k * N + n]! * scale[n]!;
    await expectTanhLayer(device, { x, rows, K, N, kp: w.inputs, np: Math.ceil(N / 4) * 4, bias, weight }, (x, bias, out) => packedForward(x, w, { bias, activation: 'tanh', out }));
    disposePacked(w);
  });

  it('one scale for all units, no bias, identity: the packed kernel against float64', async () => {
    const { device } = ctx;
    const [K, N, rows] = [20, 7, 9];
    const q = integers(K, N, -8, 7, 1);
    const x = randomArray(rows * K, 2);
    const w = uploadPacked(device, q, [0.25], K, N, 4);
    const out = poisoned(device, [rows, 8]);
    packedForward(device.tensor(x, [rows, K]), w, { out });
    const expected = Array.from({ length: rows * 8 }, (_, i) => {
      const [r, n] = [Math.floor(i / 8), i % 8];
      let s = 0;
      for (let k = 0; k < K && n < N; k++) s += x[r * K + k]! * q[k * N + n]! * 0.25;
      return s;
    });
    await expectClose(out, expected, 1e-5);
    disposePacked(w);
  });

  it.each([[{ bits: 8, restrictRange: true }], [{ bits: 4 }], [{ bits: 2, perChannel: false }], [{ method: 'binary' }], [{ method: 'ternary' }]] as const)(
    'a model quantized with %o runs its layers packed and gives what float64 gives on its weights, at any batch',
    async (spec) => {
      const model = MLP.create(ctx.device, [50, 30, 13, 3], { seed: 9, activation: 'relu' });
      await quantizeWeights(model, spec);
      const ref = await toRef(model);
      expect(model.inferenceForms()).toEqual(['dense', 'dense', 'dense']);
      await model.prepareInference();
      expect(model.inferenceForms()).toEqual(['packed', 'packed', 'packed']);
      for (const rows of [1, 13, 70, 260]) {
        // under 256 rows the 3-wide last layer runs dense (no cut after it); from 256 packed
        const x = randomArray(rows * 50, rows);
        await expectClose(model.forward(ctx.device.tensor(x, [rows, 50])), refForward(ref, x, rows), 1e-5);
      }
      model.dispose();
    },
  );

  it('k-means codebooks and zero points run dense; weights written after quantization make the form stale, then dense', async () => {
    const shared = MLP.create(ctx.device, [20, 12, 3], { seed: 1 });
    await quantizeWeights(shared, { method: 'kmeans', bits: 4 });
    await shared.prepareInference();
    expect(shared.inferenceForms()).toEqual(['dense', 'dense']);
    const affine = MLP.create(ctx.device, [20, 12, 3], { seed: 1 });
    await quantizeWeights(affine, { bits: 8, symmetric: false });
    await affine.prepareInference();
    expect(affine.inferenceForms()).toEqual(['dense', 'dense']);
    const model = MLP.create(ctx.device, [20, 12, 3], { seed: 2 });
    await quantizeWeights(model, { bits: 8 });
    await model.prepareInference();
    expect(model.inferenceForms()).toEqual(['packed', 'packed']);
    model.layers[0]!.weight.write(randomArray(20 * 12, 3)); // no longer q * scale
    expect(model.inferenceForms()).toEqual(['dense', 'packed']);
    await model.prepareInference();
    expect(model.inferenceForms()).toEqual(['dense', 'packed']);
    const x = randomArray(9 * 20, 4);
    await expectClose(model.forward(ctx.device.tensor(x, [9, 20])), refForward(await toRef(model), x, 9), 1e-5);
    for (const m of [shared, affine, model]) m.dispose();
  });

  it.each([
    [37, 29, 70, 8, 0.3],
    [5, 3, 1, 4, 1],
    [64, 45, 300, 4, 0.1], // two chunks of 256 rows, the last partial; an odd number of blocks
    [8, 8, 40, 8, 0],
    [37, 29, 18, 4, 0.5], // under 32 rows: 5 of the 8 row quads
  ] as const)('K %i, N %i, %i rows, %i-bit blocks kept %f: packed integer blocks against float64, a group without blocks, NaN-poisoned output', async (K, N, rows, bits, fill) => {
    const { device } = ctx;
    const [lo, hi] = packedRange(bits);
    const q = integers(K, N, lo, hi, rows + 1);
    keepRandomBlocks(q, K, N, fill, 4);
    const scale = randomArray(N, 3, 0.001, 0.1);
    const w = Float32Array.from(q, (v, i) => v * scale[i % N]!);
    const bias = randomArray(N, 5);
    const x = randomArray(rows * K, 6);
    const host = bsrOf(w, K, N);
    const words = packBlocks(host, scale, bits);
    expect(words).not.toBeNull();
    const weight = uploadBsr(device, host, { bits, words: words!, scale });
    const at = (k: number, n: number) => q[k * N + n]! * scale[n]!;
    await expectTanhLayer(device, { x, rows, K, N, kp: host.inputs, np: host.units, bias, weight: at }, (x, bias, out) => blockSparseForward(x, weight, { bias, activation: 'tanh', out }));
    disposeBsr(weight);
  });

  it('packBlocks refuses blocks that are not integers times their unit scale', () => {
    const w = Float32Array.from({ length: 16 }, (_, i) => i * 0.5);
    const host = bsrOf(w, 4, 4);
    expect(packBlocks(host, [0.5], 8)).not.toBeNull();
    expect(packBlocks(host, [0.5], 4)).toBeNull(); // 15 does not fit 4 bits
    expect(packBlocks(host, [0.3], 8)).toBeNull(); // 0.5 is not a multiple of 0.3
  });

  it.each([8, 4])('a model pruned in blocks and quantized to %i bits runs its blocks packed and gives what float64 gives', async (bits) => {
    const model = MLP.create(ctx.device, [50, 40, 13, 3], { seed: 9, activation: 'relu' });
    await prune(model, { type: 'layer', sparsity: 0.8, block: [4, 4] });
    await quantizeWeights(model, { bits });
    await model.prepareInference();
    expect(model.inferenceForms().slice(0, 2)).toEqual(['block', 'block']);
    const ref = await toRef(model);
    for (const rows of [1, 70]) {
      const x = randomArray(rows * 50, rows + 5);
      await expectClose(model.forward(ctx.device.tensor(x, [rows, 50])), refForward(ref, x, rows), 1e-5);
    }
    model.dispose();
  });

  it('a pruned and quantized model runs its sparsest layer as column lists and the others packed', async () => {
    const model = MLP.create(ctx.device, [60, 40, 13, 3], { seed: 5, activation: 'sigmoid' });
    await prune(model, { type: 'layer', sparsity: [0.92, 0.5, 0.5] });
    await quantizeWeights(model, { bits: 4 });
    await model.prepareInference();
    expect(model.inferenceForms()).toEqual(['sparse', 'packed', 'packed']);
    const ref = await toRef(model);
    for (const rows of [1, 70]) {
      const x = randomArray(rows * 60, rows + 1);
      await expectClose(model.forward(ctx.device.tensor(x, [rows, 60])), refForward(ref, x, rows), 1e-5);
    }
    model.dispose();
  });
});
