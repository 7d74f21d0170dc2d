import { describe, expect, it } from 'vitest';
import { applicableVariants, autoVariant, gemm, gemmKernel, GEMM_VARIANTS, rowsAlongX, sampledTextures, STORAGE_TEXTURE_FEATURE, type Activation } from '../src/kernels/gemm.js';
import { SHADERS } from '../src/gpu/shaders.generated.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

/** float64 reference of act(alpha * op(A) op(B) + beta * C + bias). */
function gemmRef(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  o: { transA: boolean; transB: boolean; alpha: number; beta: number; c?: Float32Array; bias?: Float32Array; act: Activation; dact?: Activation; y?: Float32Array },
): Float64Array {
  const act = { identity: (x: number) => x, relu: (x: number) => Math.max(x, 0), tanh: Math.tanh, sigmoid: (x: number) => 1 / (1 + Math.exp(-x)) }[o.act];
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[o.transA ? k * M + m : m * K + k]! * b[o.transB ? n * K + k : k * N + n]!;
      const v = o.alpha * s + (o.beta !== 0 ? o.beta * o.c![m * N + n]! : 0) + (o.bias ? o.bias[n]! : 0);
      const y = o.y?.[m * N + n] ?? 0;
      const d = { identity: 1, relu: y > 0 ? 1 : 0, tanh: 1 - y * y, sigmoid: y * (1 - y) }[o.dact ?? 'identity'];
      out[m * N + n] = act(v) * d;
    }
  return out;
}

// Not multiples of the 8x4, 8x8 or 16x8 blocks or of a workgroup's 64- or 128-row tile; some with
// N, K or M a multiple of 4 so the vec4 versions apply, and degenerate ones (1 x 1, a single row
// or column).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [37, 53, 29],
  [37, 52, 28],
  [36, 52, 28],
  [12, 20, 37],
  [132, 76, 44],
  [68, 72, 30],
  [260, 12, 8],
  [100, 8, 1],
  [130, 20, 12],
  [9, 1, 71],
  [1, 100, 784],
  [65, 36, 3],
  [4, 4, 4],
  [135, 20, 36],
  [136, 20, 36], // tall and narrow: the lanes run along the rows (rowsAlongX)
  [256, 100, 12], // lanes along the rows, two workgroups each way, the last column one partly idle
  [7, 12, 8], // a short A: mat_nn takes 2 of its 4 row quads
  [10, 36, 20], // 3 of 4
];

describe.each(testBackends())('gemm on %s', (backend) => {
  const ctx = useDevice(backend);

  for (const variant of GEMM_VARIANTS) {
    it(`${variant}: every transpose pair and shape matches float64`, async () => {
      const { device } = ctx;
      let ran = 0;
      for (const [M, N, K] of SHAPES)
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            if (!applicableVariants(M, N, K, transA, transB).includes(variant)) continue;
            const seed = M * 1000 + N * 10 + K + (transA ? 1 : 0) + (transB ? 2 : 0);
            const a = randomArray(M * K, seed),
              b = randomArray(K * N, seed + 1);
            const ta = device.tensor(a, transA ? [K, M] : [M, K]);
            const tb = device.tensor(b, transB ? [N, K] : [K, N]);
            const out = gemm(ta, tb, { transA, transB, variant, out: poisoned(device, [M, N]) });
            await expectClose(out, gemmRef(a, b, M, N, K, { transA, transB, alpha: 1, beta: 0, act: 'identity' }), 1e-6);
            ran++;
          }
      expect(ran).toBeGreaterThan(2);
    });

    it(`${variant}: alpha, beta, bias and each activation in the epilogue`, async () => {
      const { device } = ctx;
      const [M, N, K] = variant === 'tiled_b4' || variant.startsWith('mat') ? [20, 44, 36] : [23, 45, 37];
      const transA = variant.endsWith('_tn');
      const transB = variant.endsWith('_nt');
      const a = randomArray(M * K, 11),
        b = randomArray(K * N, 12),
        c = randomArray(M * N, 13),
        bias = randomArray(N, 14);
      for (const act of ['identity', 'relu', 'tanh', 'sigmoid'] as const) {
        const out = device.tensor(c, [M, N]);
        gemm(device.tensor(a, transA ? [K, M] : [M, K]), device.tensor(b, transB ? [N, K] : [K, N]), {
          transA,
          transB,
          alpha: 0.5,
          beta: -1.5,
          bias: device.tensor(bias),
          activation: act,
          variant,
          out,
        });
        await expectClose(out, gemmRef(a, b, M, N, K, { transA, transB, alpha: 0.5, beta: -1.5, c, bias, act }), 1e-6);
      }
    });
  }

  it('tanh in the epilogue (shaders/_tanh.wgsl) is within 1e-6 of float64 tanh, relative, at every magnitude', async () => {
    const { device } = ctx;
    // C = A B with A's first column x and B's first row ones: C[m, j] = x[m], so C = tanh(x).
    const mags = [0, 1e-30, 1e-12, 1e-6, 3e-4, 0.01, 0.1, 0.5, 1, 2, 3.7, 5, 7.9, 8.99, 9, 9.01, 15, 1e4, Number.POSITIVE_INFINITY];
    const x = Float32Array.from([...mags, ...mags.map((v) => -v), ...randomArray(26, 21).map((v) => v * 12)]);
    const M = x.length;
    const a = new Float32Array(M * 4);
    x.forEach((v, m) => (a[m * 4] = v));
    const b = new Float32Array(16);
    b.fill(1, 0, 4);
    for (const variant of GEMM_VARIANTS.filter((v) => applicableVariants(M, 4, 4, false, false).includes(v))) {
      const out = await gemm(device.tensor(a, [M, 4]), device.tensor(b, [4, 4]), { activation: 'tanh', variant, out: poisoned(device, [M, 4]) }).read();
      for (let m = 0; m < M; m++) {
        const want = Math.tanh(x[m]!);
        for (let j = 0; j < 4; j++) expect(Math.abs(out[m * 4 + j]! - want), `${variant}: tanh(${x[m]})`).toBeLessThanOrEqual(1e-6 * Math.abs(want));
      }
    }
  });

  it('writes the column sums of op(B) beside C: fused in mat_tn and tiled, a reduction after the others', async () => {
    const { device } = ctx;
    let fused = 0;
    // mat_tn with a K % 4 tail and a last column quad past N; others with any layout.
    for (const [M, N, K] of [
      [36, 52, 29],
      [136, 20, 36],
      [37, 53, 29],
      [1, 1, 1],
    ] as [number, number, number][])
      for (const transA of [true, false])
        for (const transB of [false, true])
          for (const variant of applicableVariants(M, N, K, transA, transB)) {
            const a = randomArray(M * K, 41),
              b = randomArray(K * N, 42);
            const sums = poisoned(device, [N]);
            const out = gemm(device.tensor(a, transA ? [K, M] : [M, K]), device.tensor(b, transB ? [N, K] : [K, N]), { transA, transB, variant, out: poisoned(device, [M, N]), columnSums: sums });
            const ref = new Float64Array(N);
            for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) ref[n]! += b[transB ? n * K + k : k * N + n]!;
            await expectClose(sums, ref, 1e-6);
            await expectClose(out, gemmRef(a, b, M, N, K, { transA, transB, alpha: 1, beta: 0, act: 'identity' }), 1e-6);
            if (['mat_tn', 'tiled', 'tiled_b4'].includes(variant)) fused++;
          }
    expect(fused).toBe(22); // mat_tn 2, tiled_b4 4, tiled 16 of the runs above
    expect(() => gemm(device.empty([3, 4]), device.empty([4, 6]), { columnSums: device.empty([4]) })).toThrow(/columnSums has shape \[4\], expected \[6\]/);
  });

  it('multiplies by the activation derivative from stored outputs (backpropagation)', async () => {
    const { device } = ctx;
    const [M, N, K] = [19, 36, 24];
    const a = randomArray(M * K, 21),
      b = randomArray(N * K, 22),
      y = randomArray(M * N, 23, -0.2, 1);
    for (const dact of ['relu', 'tanh', 'sigmoid', 'identity'] as const) {
      const out = gemm(device.tensor(a, [M, K]), device.tensor(b, [N, K]), {
        transB: true,
        derivativeOf: { activation: dact, output: device.tensor(y, [M, N]) },
        out: poisoned(device, [M, N]),
      });
      await expectClose(out, gemmRef(a, b, M, N, K, { transA: false, transB: true, alpha: 1, beta: 0, act: 'identity', dact, y }), 1e-6);
    }
  });

  it('mat versions read storage textures on llvmpipe, sampled ones elsewhere or where WGSL lacks them', async () => {
    const { device } = ctx;
    expect(device.wgslFeatures.has(STORAGE_TEXTURE_FEATURE)).toBe(true); // Dawn has it
    // The tests above used the storage form on llvmpipe and the sampled one on SwiftShader.
    expect(gemmKernel(device).code === SHADERS.gemm).toBe(backend === 'llvmpipe');
    const features = device.wgslFeatures as Set<string>;
    features.delete(STORAGE_TEXTURE_FEATURE);
    try {
      expect(gemmKernel(device).code).toMatch(/var ta: texture_2d<f32>;/);
      const [M, N, K] = [37, 52, 28];
      for (const [variant, transA, transB] of [
        ['mat_nn', false, false],
        ['mat_tn', true, false],
        ['mat_nt', false, true],
      ] as const) {
        const [MM, KK] = variant === 'mat_tn' ? [36, 29] : [M, K]; // mat_tn: M % 4 == 0, any K
        const a = randomArray(MM * KK, 31),
          b = randomArray(KK * N, 32);
        const out = gemm(device.tensor(a, transA ? [KK, MM] : [MM, KK]), device.tensor(b, transB ? [N, KK] : [KK, N]), { transA, transB, variant, out: poisoned(device, [MM, N]) });
        await expectClose(out, gemmRef(a, b, MM, N, KK, { transA, transB, alpha: 1, beta: 0, act: 'identity' }), 1e-6);
      }
    } finally {
      features.add(STORAGE_TEXTURE_FEATURE);
    }
    expect(() => sampledTextures(SHADERS.gemm.replace('var tb: texture_storage_2d<rgba32float, read>;', 'var tb: texture_2d<f32>;'))).toThrow(/update sampledTextures/);
  });

  it('runs the grid along the side of C that leaves fewer SIMD lanes idle', () => {
    expect(rowsAlongX(16, 3)).toBe(true); // LeNet's output layer: 128 rows, 10 columns in blocks of 8 and 4
    expect(rowsAlongX(8, 38)).toBe(true); // its first layer, 16x8 blocks: 8 of 8 lanes against 38 of 40
    expect(rowsAlongX(8, 8)).toBe(false); // a tie keeps x along the columns
    expect(rowsAlongX(5, 14)).toBe(false);
  });

  it('picks a 16x8-blocked vec4 version for the MLP training shapes', () => {
    expect(applicableVariants(128, 300, 784, false, false)[0]).toBe('mat_nn');
    expect(applicableVariants(128, 784, 300, false, true)[0]).toBe('mat_nt');
    expect(applicableVariants(784, 300, 128, true, false)[0]).toBe('mat_tn');
    expect(applicableVariants(784, 300, 130, true, false)[0]).toBe('mat_tn'); // K % 4 != 0: tail loop
    expect(applicableVariants(128, 10, 100, false, false)[0]).toBe('tiled');
    // The mat versions read A and B as textures; an operand larger than one falls back.
    expect(applicableVariants(128, 300, 784, false, false, 784 * 300)[0]).toBe('mat_nn');
    expect(applicableVariants(128, 300, 784, false, false, 784 * 300 - 4)[0]).toBe('tiled_b4');
  });

  it('auto: the fastest version on a CPU adapter; on a GPU the naive one until the blocked ones fill 256 workgroups', () => {
    expect(autoVariant(128, 300, 784, false, false, false)).toBe('mat_nn');
    expect(autoVariant(128, 300, 784, false, false, true)).toBe('naive');
    expect(autoVariant(784, 300, 128, true, false, true)).toBe('naive');
    expect(autoVariant(1024, 1024, 1024, false, false, true)).toBe('mat_nn'); // 512 workgroups of 64 x 32
    expect(autoVariant(512, 512, 512, false, false, true)).toBe('naive'); // 128 of them
    expect(ctx.device.cpuFallback).toBe(true); // so the CPU tests above ran the blocked versions
  });

  it('rejects mismatched inner sizes and a bias of the wrong length', () => {
    const { device } = ctx;
    const a = device.empty([3, 4]),
      b = device.empty([5, 6]);
    expect(() => gemm(a, b)).toThrow(/inner sizes must match/);
    expect(() => gemm(a, device.empty([4, 6]), { bias: device.empty([5]) })).toThrow(/bias has shape \[5\], expected \[6\]/);
    expect(() => gemm(a, device.empty([4, 6]), { beta: 1 })).toThrow(/pass it as out/);
    expect(() => gemm(a, device.empty([4, 6]), { variant: 'mat_nt' })).toThrow(/does not apply/);
  });
});
