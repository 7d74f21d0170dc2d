import { describe, expect, it } from 'vitest';
import { add, copy, fill, mul, scale, sub } from '../src/kernels/elementwise.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

// Lengths that exercise both the scalar path (not a multiple of 4) and the vec4 path.
const SIZES = [1, 3, 4, 1001, 4096, 70_003];

describe.each(testBackends())('elementwise on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each(SIZES)('add, sub and mul match float64 for n = %i', async (n) => {
    const { device } = ctx;
    const a = randomArray(n, n),
      b = randomArray(n, n + 1);
    const ta = device.tensor(a),
      tb = device.tensor(b);
    const ops = [
      [add, (x: number, y: number) => x + y],
      [sub, (x: number, y: number) => x - y],
      [mul, (x: number, y: number) => x * y],
    ] as const;
    for (const [op, ref] of ops) {
      const out = op(ta, tb, poisoned(device, [n]));
      await expectClose(
        out,
        Array.from(a, (x, i) => ref(x, b[i]!)),
      );
    }
  });

  it.each(SIZES)('scale, copy and fill match float64 for n = %i', async (n) => {
    const { device } = ctx;
    const a = randomArray(n, 7 * n);
    const ta = device.tensor(a);
    await expectClose(
      scale(ta, -2.5, poisoned(device, [n])),
      Array.from(a, (x) => -2.5 * x),
    );
    await expectClose(copy(ta, poisoned(device, [n])), a);
    await expectClose(fill(poisoned(device, [n]), 0.75), new Array(n).fill(0.75));
  });

  it('a grid beyond 65535 workgroups covers every element (2D dispatch)', async () => {
    const { device } = ctx;
    const n = 65_536 * 256 + 17; // scalar path: more than 65535 workgroups of 256
    const out = fill(poisoned(device, [n]), 2);
    const data = await out.read();
    expect(data.every((v) => v === 2)).toBe(true);
  });

  it('rejects mismatched shapes', () => {
    const { device } = ctx;
    expect(() => add(device.tensor(new Float32Array(3)), device.tensor(new Float32Array(4)))).toThrow(/shape \[4\], expected \[3\]/);
  });
});
