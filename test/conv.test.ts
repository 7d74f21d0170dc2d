/**
 * Convolution and pooling kernels (NHWC) against float64 references written plainly here, on odd
 * shapes (1x1 images, a window as large as the image, strides above 1, padding, channel counts
 * that are not multiples of 4), with NaN-poisoned outputs; gradients against finite differences
 * of the float64 forward pass.
 */
import { describe, expect, it } from 'vitest';
import { col2im, conv2d, conv2dBackward, im2col, type Window, windowOf } from '../src/kernels/conv.js';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from '../src/kernels/pool.js';
import { Random } from '../src/random.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  f: number;
  kernel: number | [number, number];
  stride: number | [number, number];
  padding: number | [number, number];
}

const CASES: Case[] = [
  { n: 2, h: 7, w: 5, c: 3, f: 5, kernel: 3, stride: 1, padding: 0 },
  { n: 1, h: 6, w: 6, c: 1, f: 2, kernel: [2, 3], stride: 2, padding: 1 },
  { n: 3, h: 1, w: 1, c: 6, f: 3, kernel: 1, stride: 1, padding: 0 }, // 1x1 images
  { n: 2, h: 5, w: 5, c: 2, f: 4, kernel: 5, stride: 1, padding: 0 }, // the window is the image
  { n: 1, h: 9, w: 8, c: 5, f: 7, kernel: 3, stride: [2, 3], padding: [2, 1] },
  { n: 2, h: 12, w: 12, c: 1, f: 20, kernel: 5, stride: 1, padding: 0 }, // LeNet-5's first layer, small
  { n: 2, h: 6, w: 5, c: 8, f: 6, kernel: 3, stride: 1, padding: 1 }, // channels in whole vec4s (im2col_c4)
];

/** x[ni, y, x, ci] of an NHWC array. */
const at = (g: Window, ni: number, y: number, x: number, ci: number) => ((ni * g.h + y) * g.w + x) * g.c + ci;

/** float64 convolution: y[ni, oy, ox, fo] = bias[fo] + sum over the window of x * W[(ky, kx, ci), fo]. */
function referenceConv(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, g: Window, f: number): Float64Array {
  const y = new Float64Array(g.n * g.oh * g.ow * f);
  for (let ni = 0; ni < g.n; ni++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let fo = 0; fo < f; fo++) {
          let s = bias[fo]!;
          for (let ky = 0; ky < g.kh; ky++)
            for (let kx = 0; kx < g.kw; kx++) {
              const [iy, ix] = [oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx];
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (let ci = 0; ci < g.c; ci++) s += x[at(g, ni, iy, ix, ci)]! * weight[((ky * g.kw + kx) * g.c + ci) * f + fo]!;
            }
          y[((ni * g.oh + oy) * g.ow + ox) * f + fo] = s;
        }
  return y;
}

/** sum(conv(x) * r): a scalar whose gradients are what conv2dBackward computes for dy = r. */
function weighted(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, g: Window, f: number, r: ArrayLike<number>): number {
  return referenceConv(x, weight, bias, g, f).reduce((s, v, i) => s + v * r[i]!, 0);
}

/** Central finite differences of fn at a few seeded coordinates of `values`, in float64. */
function finiteDifferences(values: Float32Array, fn: (v: Float64Array) => number, picks: number[]): number[] {
  const v = Float64Array.from(values);
  return picks.map((i) => {
    const eps = 1e-4;
    const keep = v[i]!;
    v[i] = keep + eps;
    const up = fn(v);
    v[i] = keep - eps;
    const down = fn(v);
    v[i] = keep;
    return (up - down) / (2 * eps);
  });
}

const picksOf = (size: number, count: number, seed: number) => {
  const r = new Random(seed);
  return Array.from({ length: Math.min(count, size) }, () => r.int(size));
};

describe.each(testBackends())('convolution on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each(CASES.map((c, i) => [i, c] as const))('case %i: im2col, conv2d with bias and relu, against float64', async (i, c) => {
    const { device } = ctx;
    const g = windowOf([c.n, c.h, c.w, c.c], c, 'test');
    const x = randomArray(c.n * c.h * c.w * c.c, 10 + i);
    const w = randomArray(g.kh * g.kw * c.c * c.f, 20 + i);
    const b = randomArray(c.f, 30 + i);
    const xt = device.tensor(x, [c.n, c.h, c.w, c.c]);
    const wt = device.tensor(w, [g.kh * g.kw * c.c, c.f]);
    const bt = device.tensor(b);
    // im2col into a poisoned buffer: every element written, each one the window's value or 0,
    // with zero columns from kh * kw * c up to kp, a multiple of 4.
    const k = g.kh * g.kw * g.c;
    expect([g.kp % 4, g.kp - k]).toEqual([0, (4 - (k % 4)) % 4]);
    const cols = im2col(xt, g, poisoned(device, [g.n * g.oh * g.ow, g.kp]));
    const eye = new Float32Array(k * g.kp);
    for (let j = 0; j < k; j++) eye[j * g.kp + j] = 1;
    await expectClose(cols, referenceConv(x, eye, new Float32Array(g.kp), g, g.kp), 1e-7);
    const { y, cols: used } = conv2d(xt, wt, { ...c, bias: bt, activation: 'relu' });
    expect(y.shape).toEqual([c.n, g.oh, g.ow, c.f]);
    await expectClose(
      y,
      referenceConv(x, w, b, g, c.f).map((v) => Math.max(v, 0)),
      1e-5,
    );
    for (const t of [xt, wt, bt, cols, used, y]) t.dispose();
  });

  it.each(CASES.map((c, i) => [i, c] as const))('case %i: weight, bias and input gradients against float64 and finite differences', async (i, c) => {
    const { device } = ctx;
    const g = windowOf([c.n, c.h, c.w, c.c], c, 'test');
    const x = randomArray(c.n * c.h * c.w * c.c, 40 + i);
    const w = randomArray(g.kh * g.kw * c.c * c.f, 50 + i);
    const b = randomArray(c.f, 60 + i);
    const r = randomArray(c.n * g.oh * g.ow * c.f, 70 + i);
    const xt = device.tensor(x, [c.n, c.h, c.w, c.c]);
    const wt = device.tensor(w, [g.kh * g.kw * c.c, c.f]);
    const { y, cols } = conv2d(xt, wt, c);
    const dy = device.tensor(r, [c.n, g.oh, g.ow, c.f]);
    const grads = conv2dBackward(dy, cols, wt, g, { bias: true, input: true });
    // float64 references: dW = sum over positions of x_window * r, db = sum of r, dx = the adjoint.
    const dw = new Float64Array(w.length);
    const db = new Float64Array(c.f);
    const dx = new Float64Array(x.length);
    for (let ni = 0; ni < g.n; ni++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++)
          for (let fo = 0; fo < c.f; fo++) {
            const ry = r[((ni * g.oh + oy) * g.ow + ox) * c.f + fo]!;
            db[fo]! += ry;
            for (let ky = 0; ky < g.kh; ky++)
              for (let kx = 0; kx < g.kw; kx++) {
                const [iy, ix] = [oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx];
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                for (let ci = 0; ci < g.c; ci++) {
                  const k = ((ky * g.kw + kx) * g.c + ci) * c.f + fo;
                  dw[k]! += x[at(g, ni, iy, ix, ci)]! * ry;
                  dx[at(g, ni, iy, ix, ci)]! += w[k]! * ry;
                }
              }
          }
    await expectClose(grads.dweight, dw, 1e-5);
    await expectClose(grads.dbias!, db, 1e-5);
    await expectClose(grads.dx!, dx, 1e-5);
    // The same gradients as finite differences of the float64 forward pass, at sampled coordinates.
    const [gw, gx] = [await grads.dweight.read(), await grads.dx!.read()];
    const pw = picksOf(w.length, 6, 80 + i);
    finiteDifferences(w, (v) => weighted(x, v, b, g, c.f, r), pw).forEach((fd, j) => expect(gw[pw[j]!]!).toBeCloseTo(fd, 3));
    const px = picksOf(x.length, 6, 90 + i);
    finiteDifferences(x, (v) => weighted(v, w, b, g, c.f, r), px).forEach((fd, j) => expect(gx[px[j]!]!).toBeCloseTo(fd, 3));
    for (const t of [xt, wt, y, cols, dy, grads.dweight, grads.dbias!, grads.dx!]) t.dispose();
  });

  it('col2im is the adjoint of im2col: <im2col(x), d> = <x, col2im(d)>', async () => {
    const { device } = ctx;
    const g = windowOf([2, 6, 7, 3], { kernel: 3, stride: 2, padding: 1 }, 'test');
    const x = randomArray(2 * 6 * 7 * 3, 1);
    const d = randomArray(g.n * g.oh * g.ow * g.kp, 2);
    const cols = await im2col(device.tensor(x, [2, 6, 7, 3]), g).read();
    const back = await col2im(device.tensor(d, [g.n * g.oh * g.ow, g.kp]), g, poisoned(device, [2, 6, 7, 3])).read();
    const left = cols.reduce((s, v, i) => s + v * d[i]!, 0);
    const right = back.reduce((s, v, i) => s + v * x[i]!, 0);
    expect(left).toBeCloseTo(right, 3);
  });

  it('refuses windows that do not fit and filter banks of the wrong size', () => {
    const { device } = ctx;
    const x = device.tensor(new Float32Array(2 * 4 * 4 * 3), [2, 4, 4, 3]);
    expect(() => conv2d(x, device.tensor(new Float32Array(27 * 2), [27, 2]), { kernel: 5 })).toThrow(/a 5x5 window with padding 0,0 does not fit a 4x4 image/);
    expect(() => conv2d(x, device.tensor(new Float32Array(26 * 2), [26, 2]), { kernel: 3 })).toThrow(/weight has 26 rows; a 3x3 window over 3 channels needs 27/);
    expect(() => conv2d(x, device.tensor(new Float32Array(27 * 2), [27, 2]), { kernel: 3, stride: 0 })).toThrow(/stride must be a whole number of at least 1/);
    expect(() => conv2d(device.tensor(new Float32Array(4), [4]), device.tensor(new Float32Array(2), [1, 2]), { kernel: 1 })).toThrow(/NHWC/);
  });
});

/** float64 max pooling as PyTorch: -inf start with the window's first element, > or NaN takes. */
function referenceMaxPool(x: ArrayLike<number>, g: Window): { y: number[]; argmax: number[] } {
  const [y, argmax]: [number[], number[]] = [[], []];
  for (let ni = 0; ni < g.n; ni++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++)
        for (let ci = 0; ci < g.c; ci++) {
          let [best, taken] = [-Infinity, -1];
          for (let ky = 0; ky < g.kh; ky++)
            for (let kx = 0; kx < g.kw; kx++) {
              const [iy, ix] = [oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx];
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              const j = at(g, ni, iy, ix, ci);
              if (taken < 0) taken = j;
              if (x[j]! > best || Number.isNaN(x[j]!)) [best, taken] = [x[j]!, j];
            }
          y.push(best);
          argmax.push(taken);
        }
  return { y, argmax };
}

describe.each(testBackends())('pooling on %s', (backend) => {
  const ctx = useDevice(backend);
  const POOLS = [
    { shape: [2, 8, 8, 3], kernel: 2 }, // LeNet's: non-overlapping
    { shape: [1, 7, 9, 5], kernel: 3, stride: 2, padding: 1 }, // overlapping windows, padding, odd sizes
    { shape: [3, 1, 1, 6], kernel: 1 },
    { shape: [1, 5, 5, 2], kernel: 5 },
  ] as const;

  it.each(POOLS.map((p, i) => [i, p] as const))('max pooling %i: values, argmax (ties to the first, as PyTorch) and the backward pass', async (i, p) => {
    const { device } = ctx;
    const size = p.shape.reduce((a: number, b: number) => a * b, 1);
    // Values on a coarse grid, so windows hold ties.
    const x = randomArray(size, 100 + i).map((v) => Math.round(v * 4) / 4);
    const { y, argmax, window: g } = maxPool(device.tensor(x, [...p.shape]), p);
    const ref = referenceMaxPool(x, g);
    expect(Array.from(await y.read())).toEqual(ref.y.map((v) => Math.fround(v)));
    expect(Array.from(await argmax.read())).toEqual(ref.argmax);
    const r = randomArray(y.size, 110 + i);
    const dx = maxPoolBackward(device.tensor(r, y.shape), argmax, g, poisoned(device, [...p.shape]));
    const want = new Float64Array(size);
    ref.argmax.forEach((j, o) => (want[j]! += r[o]!));
    await expectClose(dx, want, 1e-6); // overlapping windows add several gradients in float32
  });

  it('max pooling: a NaN in a window propagates (the last one), as PyTorch', async () => {
    const { device } = ctx;
    const x = Float32Array.from([1, Number.NaN, 3, Number.NaN, 5, 6, 7, 8, 9]);
    const { y, argmax } = maxPool(device.tensor(x, [1, 3, 3, 1]), { kernel: 2, stride: 1 });
    const values = await y.read();
    expect(Number.isNaN(values[0]!)).toBe(true);
    expect(Array.from(await argmax.read())).toEqual([3, 1, 3, 8]);
    expect(values[3]).toBe(9);
  });

  it.each(POOLS.map((p, i) => [i, p] as const))('average pooling %i: values and a backward pass that matches finite differences', async (i, p) => {
    const { device } = ctx;
    const size = p.shape.reduce((a: number, b: number) => a * b, 1);
    const x = randomArray(size, 120 + i);
    const { y, window: g } = avgPool(device.tensor(x, [...p.shape]), p);
    const forward = (v: ArrayLike<number>) => {
      const out: number[] = [];
      for (let ni = 0; ni < g.n; ni++)
        for (let oy = 0; oy < g.oh; oy++)
          for (let ox = 0; ox < g.ow; ox++)
            for (let ci = 0; ci < g.c; ci++) {
              let s = 0;
              for (let ky = 0; ky < g.kh; ky++)
                for (let kx = 0; kx < g.kw; kx++) {
                  const [iy, ix] = [oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx];
                  if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) s += v[at(g, ni, iy, ix, ci)]!;
                }
              out.push(s / (g.kh * g.kw));
            }
      return out;
    };
    await expectClose(y, forward(x), 1e-6);
    const r = randomArray(y.size, 130 + i);
    const dx = await avgPoolBackward(device.tensor(r, y.shape), g, poisoned(device, [...p.shape])).read();
    const picks = picksOf(size, 8, 140 + i);
    finiteDifferences(x, (v) => forward(v).reduce((s, o, k) => s + o * r[k]!, 0), picks).forEach((fd, j) => expect(dx[picks[j]!]!).toBeCloseTo(fd, 4));
  });
});
