/**
 * Tensors bound as textures unchanged get a texture of their own, copied once
 * (gpu/resident-textures.ts): every way a tensor's contents change must be seen, and a kept
 * texture must outlive the commands recorded with it.
 */
import { describe, expect, it } from 'vitest';
import { gemm } from '../src/kernels/gemm.js';
import { Recorder } from '../src/gpu/recorder.js';
import { ResidentTextures } from '../src/gpu/resident-textures.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';

const [M, K, N] = [7, 12, 20]; // mat_nn: K and N in whole vec4s, M not

function refProduct(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const c: number[] = [];
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[k * N + n]!;
      c.push(s);
    }
  return c;
}

describe.each(testBackends())('resident textures (%s)', (backend) => {
  const ctx = useDevice(backend);

  /** A = a B into a NaN-poisoned output (the mat_nn version reads A and B as textures). */
  const product = (a: Tensor<'f32'>, b: Tensor<'f32'>) => gemm(a, b, { variant: 'mat_nn', out: poisoned(ctx.device, [M, N]) });

  it('a tensor bound unchanged is copied once into its own texture; a write, a kernel writing it and a reused buffer are all seen', async () => {
    const device = ctx.device;
    device.trim();
    expect(device.memory().residentTextureBytes).toBe(0);
    const ha = randomArray(M * K, 1);
    const a = device.tensor(ha, [M, K]);
    let hb = randomArray(K * N, 2);
    let b = device.tensor(hb, [K, N]);
    for (let i = 0; i < 3; i++) await expectClose(product(a, b), refProduct(ha, hb));
    expect(device.memory().residentTextureBytes).toBe(2 * 1024 * 16); // a and b, unchanged since their first copy: a texture row each

    hb = randomArray(K * N, 3);
    device.write(b, hb);
    for (let i = 0; i < 3; i++) await expectClose(product(a, b), refProduct(ha, hb));

    // A kernel writes b (a read_write binding): B = I(12) C for a random C.
    const hc = randomArray(K * N, 4);
    const eye = new Float32Array(K * K).map((_, i) => (i % (K + 1) === 0 ? 1 : 0));
    gemm(device.tensor(eye, [K, K]), device.tensor(hc, [K, N]), { out: b });
    for (let i = 0; i < 3; i++) await expectClose(product(a, b), refProduct(ha, hc));

    // b's buffer goes back to the pool and comes out again for another tensor.
    const buffer = b.buffer;
    b.dispose();
    hb = randomArray(K * N, 5);
    b = device.tensor(hb, [K, N]);
    expect(b.buffer).toBe(buffer);
    for (let i = 0; i < 3; i++) await expectClose(product(a, b), refProduct(ha, hb));

    device.trim();
    expect(device.memory().residentTextureBytes).toBe(0);
  });

  it('a kept texture replaced while recorded commands still bind it is destroyed only after they are submitted', async () => {
    const device = ctx.device;
    const ha = randomArray(M * K, 6);
    const hb = randomArray(K * N, 7);
    const hc = randomArray(K * N, 8);
    const a = device.tensor(ha, [M, K]);
    const b = device.tensor(hb, [K, N]);
    const eye = device.tensor(
      new Float32Array(K * K).map((_, i) => (i % (K + 1) === 0 ? 1 : 0)),
      [K, K],
    );
    const c = device.tensor(hc, [K, N]);
    // Uploads submit what was recorded, so every tensor is made first: nothing is submitted between
    // the dispatches below and the first read.
    const outs = [0, 1, 2, 3, 4].map(() => poisoned(device, [M, N]));
    const into = (i: number) => gemm(a, b, { variant: 'mat_nn', out: outs[i] });
    into(0);
    into(1); // copies b into a texture of its own
    into(2); // binds that texture
    gemm(eye, c, { out: b }); // b rewritten within the same recording
    into(3);
    into(4); // keeps b's new contents, replacing the texture that dispatch 2 binds
    for (const i of [0, 1, 2]) await expectClose(outs[i]!, refProduct(ha, hb));
    for (const i of [3, 4]) await expectClose(outs[i]!, refProduct(ha, hc));
    device.check();
  });

  it('keeps at most its budget, dropping the least recently used texture first, and nothing larger than it', () => {
    const device = ctx.device;
    const recorder = new Recorder(device.gpu);
    const texels = 1024 * 4; // 64 KiB a texture
    const kept = new ResidentTextures(device.gpu, recorder, 2 * texels * 16);
    const buffers = [0, 1, 2].map(() => device.gpu.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
    const keep = (i: number) => kept.keep(buffers[i]!, 1, 'rgba32float', texels, [1024, 4])!.view;
    const views = [keep(0), keep(1)];
    expect(kept.lookup(buffers[0]!, 1, 'rgba32float', texels)).toBe(views[0]); // buffer 0 used last now
    views.push(keep(2));
    expect(kept.keptBytes).toBe(2 * texels * 16);
    expect(kept.lookup(buffers[1]!, 1, 'rgba32float', texels)).toBeUndefined();
    expect(kept.lookup(buffers[0]!, 1, 'rgba32float', texels)).toBe(views[0]);
    expect(kept.lookup(buffers[2]!, 1, 'rgba32float', texels)).toBe(views[2]);
    // A newer stamp, another format or another length is not what was kept.
    expect(kept.lookup(buffers[0]!, 2, 'rgba32float', texels)).toBeUndefined();
    expect(kept.lookup(buffers[0]!, 1, 'rgba32uint', texels)).toBeUndefined();
    expect(kept.lookup(buffers[0]!, 1, 'rgba32float', texels - 1)).toBeUndefined();
    // One texture over the whole budget is not kept, and drops nothing.
    expect(kept.keep(buffers[1]!, 1, 'rgba32float', 3 * texels, [1024, 12])).toBeUndefined();
    expect(kept.keptBytes).toBe(2 * texels * 16);
    expect(kept.lookup(buffers[0]!, 1, 'rgba32float', texels)).toBe(views[0]);
    expect(kept.lookup(buffers[2]!, 1, 'rgba32float', texels)).toBe(views[2]);
    kept.clear();
    expect(kept.keptBytes).toBe(0);
    for (const b of buffers) b.destroy();
    recorder.destroy();
  });
});
