import { describe, expect, it } from 'vitest';
import { probeCpu } from '../src/gpu/runs-like-cpu.js';
import { poisoned, randomArray, relativeError, testBackends, useDevice } from './helpers.js';

describe.each(testBackends())('telling a CPU adapter from a GPU by timing on %s', (backend) => {
  const ctx = useDevice(backend);

  it("the probe's two products (one output an invocation, a 4 x 4 block an invocation) match float64", async () => {
    const { device } = ctx;
    const n = 12; // 144 invocations and 9 blocks: neither fills whole workgroups of 64
    const a = randomArray(n * n, 31),
      b = randomArray(n * n, 32);
    const expected = Array.from({ length: n * n }, (_, ij) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[Math.floor(ij / n) * n + k]! * b[k * n + (ij % n)]!;
      return s;
    });
    const [ta, tb] = [device.tensor(a, [n, n]), device.tensor(b, [n, n])];
    const kernel = device.kernel('probe');
    const one = poisoned(device, [n, n]);
    device.dispatch(kernel, 'one_output', { p: { n }, a1: ta, b1: tb, c1: one }, [Math.ceil((n * n) / 64)]);
    const block = poisoned(device, [n, n]);
    device.dispatch(kernel, 'block_4x4', { p: { n }, a4: ta, b4: tb, c4: block }, [1]);
    expect(relativeError(await one.read(), expected)).toBeLessThan(1e-5);
    expect(relativeError(await block.read(), expected)).toBeLessThan(1e-5);
  });

  it('runs like a CPU: the blocked product at least twice as fast, in the best of alternating rounds', async () => {
    const probe = await probeCpu(ctx.device);
    expect(probe.blockMs).toBeGreaterThan(0);
    expect(probe.cpu, `block ${probe.blockMs.toFixed(2)} ms, one output ${probe.oneMs.toFixed(2)} ms`).toBe(true);
    expect(probe.oneMs).toBeGreaterThan(2 * probe.blockMs);
  });
});
