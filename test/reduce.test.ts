import { describe, expect, it } from 'vitest';
import { reduce, type ReduceOp } from '../src/kernels/reduce.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

const REF: Record<ReduceOp, (acc: number, v: number) => number> = {
  sum: (a, v) => a + v,
  min: (a, v) => Math.min(a, v),
  max: (a, v) => Math.max(a, v),
};
const START: Record<ReduceOp, number> = { sum: 0, min: Infinity, max: -Infinity };
const OPS: ReduceOp[] = ['sum', 'min', 'max'];

function refRows(x: Float32Array, rows: number, cols: number, op: ReduceOp): number[] {
  return Array.from({ length: rows }, (_, r) => x.subarray(r * cols, (r + 1) * cols).reduce(REF[op], START[op]));
}
function refCols(x: Float32Array, rows: number, cols: number, op: ReduceOp): number[] {
  return Array.from({ length: cols }, (_, c) => {
    let s = START[op];
    for (let r = 0; r < rows; r++) s = REF[op](s, x[r * cols + c]!);
    return s;
  });
}

describe.each(testBackends())('reduce on %s', (backend) => {
  const ctx = useDevice(backend);

  // Values in [-0.5, 1.5): sums stay away from 0, so the relative error means something.
  it.each([1, 7, 300, 4097, 100_003, 1_048_577])('sum, min and max over all %i elements', async (n) => {
    const { device } = ctx;
    const x = randomArray(n, n, -0.5, 1.5);
    const t = device.tensor(x);
    for (const op of OPS) await expectClose(reduce(t, op, 'all', poisoned(device, [1])), [x.reduce(REF[op], START[op])], 1e-5);
  });

  it.each([
    [1, 1],
    [3, 1000],
    [129, 10],
    [1000, 3],
    [17, 300],
  ] as const)('rows and columns of a %i x %i matrix', async (rows, cols) => {
    const { device } = ctx;
    const x = randomArray(rows * cols, rows + cols, -0.5, 1.5);
    const t = device.tensor(x, [rows, cols]);
    for (const op of OPS) {
      await expectClose(reduce(t, op, 'rows', poisoned(device, [rows])), refRows(x, rows, cols, op), 1e-5);
      await expectClose(reduce(t, op, 'cols', poisoned(device, [cols])), refCols(x, rows, cols, op), 1e-5);
    }
  });

  it('rejects an empty tensor and rows/cols of a non-matrix', () => {
    const { device } = ctx;
    expect(() => reduce(device.empty([0]), 'sum')).toThrow(/empty tensor/);
    expect(() => reduce(device.empty([2, 2, 2]), 'sum', 'rows')).toThrow(/rank 2/);
  });
});
