/**
 * Split-K A^T B (kernels/splitk.ts), which gemm runs on GPUs for small, deep products: against a
 * float64 reference on shapes that are no multiple of the slice or the workgroup, with and without
 * column sums, last slices short, NaN-poisoned outputs, on each CPU adapter (the rule that picks
 * it is for GPUs; here it is called directly).
 */
import { describe, expect, it } from 'vitest';
import { gemmSplitK, useSplitK } from '../src/kernels/splitk.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { refAtB } from './kernel-checks.js';

describe.each(testBackends())('split-K A^T B on %s', (backend) => {
  const ctx = useDevice(backend);
  it.each([
    [7, 5, 1000, undefined],
    [29, 20, 3001, undefined],
    [3, 2, 700, 1],
    [13, 6, 513, 600], // more slices asked than K allows: one element each at most
  ])('M %i, N %i, K %i (splits %s)', async (M, N, K, splits) => {
    const { device } = ctx;
    const a = randomArray(K * M, M + K);
    const b = randomArray(K * N, N + 7);
    const { ref, refSums } = refAtB(a, b, M, N, K);
    const ta = device.tensor(a, [K, M]);
    const tb = device.tensor(b, [K, N]);
    const sums = poisoned(device, [N]);
    const c = gemmSplitK(ta, tb, { out: poisoned(device, [M, N]), columnSums: sums, ...(splits ? { splits } : {}) });
    await expectClose(c, ref, 1e-5);
    await expectClose(sums, refSums, 1e-5);
    const alone = gemmSplitK(ta, tb); // without column sums
    await expectClose(alone, ref, 1e-5);
    for (const t of [ta, tb, sums, c, alone]) t.dispose();
  });
});

it('gemm splits along K on a GPU only, for a small, deep A^T B (a convolution weight gradient)', () => {
  expect(useSplitK(true, 28, 20, 36_864, true, false)).toBe(true); // LeNet-5 conv1 at batch 64
  expect(useSplitK(true, 500, 52, 4096, true, false)).toBe(true); // conv2
  expect(useSplitK(false, 28, 20, 36_864, true, false)).toBe(false); // CPU adapters keep the blocked GEMMs
  expect(useSplitK(true, 300, 100, 128, true, false)).toBe(false); // an MLP's weight gradient: K is the batch
  expect(useSplitK(true, 784, 300, 8192, true, false)).toBe(false); // enough outputs for the whole chip
  expect(useSplitK(true, 28, 20, 36_864, false, false)).toBe(false);
});
