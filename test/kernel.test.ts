import { describe, expect, it } from 'vitest';
import { createDevice } from '../src/gpu/create-device.js';
import { GpuError, KernelArgumentError, ShaderCompileError } from '../src/errors.js';
import { fill, add } from '../src/kernels/elementwise.js';
import { TEXTURE_ROW } from '../src/gpu/kernel.js';
import { testBackends, useDevice } from './helpers.js';

const SAXPY = /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn saxpy(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < p.n) { y[id.x] += p.alpha * x[id.x]; }
}`;

describe.each(testBackends())('kernel runtime on %s', (backend) => {
  const ctx = useDevice(backend);

  it("runs a user's own WGSL in a few lines (the README example)", async () => {
    const { device } = ctx;
    const x = device.tensor(new Float32Array([1, 2, 3]));
    const y = device.tensor(new Float32Array([10, 20, 30]));
    const saxpy = device.kernel('saxpy', SAXPY);
    device.dispatch(saxpy, 'saxpy', { p: { n: 3, alpha: 2 }, x, y }, [1]);
    expect(Array.from(await y.read())).toEqual([12, 24, 36]);
  });

  it('checks arguments against the reflected bindings and names the binding', () => {
    const { device } = ctx;
    const k = device.kernel('saxpy', SAXPY);
    const x = device.tensor(new Float32Array(4));
    const y = device.tensor(new Float32Array(4));
    const p = { n: 4, alpha: 1 };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ p, x }, /binding 'y': missing argument/],
      [{ p, x, y, z: y }, /binding 'z': no such binding/],
      [{ p: x, x, y }, /binding 'p': is a uniform struct/],
      [{ p, x: { n: 1 }, y }, /binding 'x': is a storage buffer; pass a Tensor/],
      [{ p, x: device.tensor(new Int32Array(4)), y }, /binding 'x': expects f32 elements but got a i32 tensor/],
      [{ p, x: y, y }, /same tensor is bound to 'x' and one of them is writable/],
      [{ p: { n: 4 }, x, y }, /field 'alpha' \(f32\) is missing/],
      [{ p: { n: 1.5, alpha: 1 }, x, y }, /field 'n' is u32 but got 1.5/],
      [{ p: { n: 4, alpha: 1, beta: 2 }, x, y }, /unknown field beta/],
    ];
    for (const [args, message] of bad) {
      expect(() => device.dispatch(k, 'saxpy', args as never, [1])).toThrow(KernelArgumentError);
      expect(() => device.dispatch(k, 'saxpy', args as never, [1])).toThrow(message);
    }
    expect(() => device.dispatch(k, 'nope', { p, x, y }, [1])).toThrow(/no compute entry point 'nope' \(it has: saxpy\)/);
    expect(() => device.dispatch(k, 'saxpy', { p, x, y }, [1], { WG2: 4 })).toThrow(/no override constant WG2/);
    const other = device.kernel('fixed', '@group(0) @binding(0) var<storage, read_write> v: array<f32, 64>;\n@compute @workgroup_size(1) fn main() { v[0] = 1.0; }');
    expect(() => device.dispatch(other, 'main', { v: y }, [1])).toThrow(/needs at least 256 bytes but the tensor has 16/);
  });

  it('compiles each (entry point, overrides) pipeline once', () => {
    const { device } = ctx;
    const k = device.kernel('saxpy', SAXPY);
    expect(device.kernel('saxpy', SAXPY)).toBe(k);
    expect(k.pipeline('saxpy', { WG: 32 })).toBe(k.pipeline('saxpy', { WG: 32 }));
    expect(k.pipeline('saxpy', { WG: 32 })).not.toBe(k.pipeline('saxpy', { WG: 64 }));
  });

  it('reuses a bind group for the same tensors and gives each dispatch its own uniforms', async () => {
    const { device } = ctx;
    const k = device.kernel('saxpy', SAXPY);
    const x = device.tensor(new Float32Array([1, 2, 3, 4]));
    const y = device.tensor(new Float32Array(4));
    const createBindGroup = device.gpu.createBindGroup.bind(device.gpu);
    let created = 0;
    device.gpu.createBindGroup = (d) => (created++, createBindGroup(d));
    try {
      for (const alpha of [1, 10, 100]) device.dispatch(k, 'saxpy', { p: { n: 4, alpha }, x, y }, [1]);
      expect(Array.from(await y.read())).toEqual([111, 222, 333, 444]);
      expect(created).toBe(1);
      // A buffer back in the pool and handed to a tensor of another size: bound at its new size.
      x.dispose();
      const x2 = device.tensor(new Float32Array([5, 6, 7, 8, 9, 10]));
      device.dispatch(k, 'saxpy', { p: { n: 4, alpha: 1 }, x: x2, y }, [1]);
      expect(Array.from(await y.read())).toEqual([116, 228, 340, 452]);
      expect(created).toBe(2);
      // trim() may destroy buffers cached bind groups hold, so it drops them.
      device.trim();
      device.dispatch(k, 'saxpy', { p: { n: 2, alpha: 1 }, x: x2, y }, [1]);
      expect(Array.from(await y.read())).toEqual([121, 234, 340, 452]);
      expect(created).toBe(3);
    } finally {
      device.gpu.createBindGroup = createBindGroup;
    }
  });

  it('a WGSL compile error surfaces as ShaderCompileError with the line', async () => {
    const { device } = ctx;
    const code = '@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n@compute @workgroup_size(1) fn main() {\n  let x: f32 = 1u;\n  v[0] = x;\n}';
    const k = device.kernel('broken', code);
    const v = device.tensor(new Float32Array(4));
    device.dispatch(k, 'main', { v }, [1]);
    const err = await device.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect((err as Error).message).toMatch(/broken\.wgsl:3:\d+:/);
    // Reported once; the kernel then refuses to run and the device stays usable.
    expect(() => device.dispatch(k, 'main', { v }, [1])).toThrow(ShaderCompileError);
    await device.sync();
  });

  it('batches dispatches into one submit; reading is the sync point', async () => {
    const { device } = ctx;
    const t = device.empty([1000]);
    await device.sync();
    let submits = 0;
    const queue = device.gpu.queue;
    const submit = queue.submit.bind(queue);
    queue.submit = (buffers) => (submits++, submit(buffers));
    try {
      fill(t, 1);
      for (let i = 0; i < 20; i++) add(t, t, t.device.empty([1000]));
      expect(submits).toBe(0);
      await t.read();
      expect(submits).toBe(1);
    } finally {
      queue.submit = submit;
    }
  });

  it.each([
    ['texture_2d<f32>', ', 0'],
    ['texture_storage_2d<rgba32float, read>', ''],
  ])('binds an f32 tensor to a %s as its vec4s in order, 1024 to a row, one copy per dispatch', async (type, level) => {
    const { device } = ctx;
    // out[i] = texel i of t (its four components summed with weights 1, 10, 100, 1000).
    const k = device.kernel(
      `texels ${type}`,
      `
      struct Params { n: u32 }
      @group(0) @binding(0) var<uniform> p: Params;
      @group(0) @binding(1) var t: ${type};
      @group(0) @binding(2) var<storage, read_write> out: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        let i = id.x + id.y * 64u * 1024u;
        if (i >= p.n) { return; }
        let v = textureLoad(t, vec2u(i % ${TEXTURE_ROW}u, i / ${TEXTURE_ROW}u)${level});
        out[i] = dot(v, vec4f(1.0, 10.0, 100.0, 1000.0));
      }`,
    );
    // 2.5 rows of texels (a partial last row), then a second tensor through the same texture
    // before any sync: each dispatch must see its own copy.
    const texels = 2 * TEXTURE_ROW + 517;
    const first = Float32Array.from({ length: 4 * texels }, (_, i) => (i * 7) % 13);
    const second = Float32Array.from({ length: 4 * texels }, (_, i) => (i * 5) % 11);
    const outs = [first, second].map((values) => {
      const out = device.tensor(new Float32Array(texels).fill(NaN));
      device.dispatch(k, 'main', { p: { n: texels }, t: device.tensor(values), out }, [Math.ceil(texels / 64)]);
      return out;
    });
    for (const [j, values] of [first, second].entries()) {
      const expected = Array.from({ length: texels }, (_, i) => values[4 * i]! + 10 * values[4 * i + 1]! + 100 * values[4 * i + 2]! + 1000 * values[4 * i + 3]!);
      expect(Array.from(await outs[j]!.read())).toEqual(expected);
    }
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ p: { n: 1 }, t: device.tensor(new Float32Array(6)), out: outs[0] }, /binding 't': a texture holds whole vec4s, but the tensor has 6 elements/],
      [{ p: { n: 1 }, t: { n: 1 }, out: outs[0] }, /binding 't': is a texture; pass a Tensor/],
      [{ p: { n: 1 }, t: device.tensor(new Int32Array(4)), out: outs[0] }, /binding 't': expects f32 elements/],
    ];
    for (const [args, message] of bad) expect(() => device.dispatch(k, 'main', args as never, [1])).toThrow(message);
    const writable = device.kernel(
      'writable texture',
      '@group(0) @binding(0) var t: texture_storage_2d<rgba32float, write>;\n@compute @workgroup_size(1) fn main() { textureStore(t, vec2u(0u, 0u), vec4f(1.0)); }',
    );
    expect(() => device.dispatch(writable, 'main', { t: device.tensor(new Float32Array(4)) }, [1])).toThrow(
      /only storage texture types supported are texture_storage_2d<rgba32float, read> and texture_storage_2d<rgba32uint, read>/,
    );
    // trim() frees the textures; the next dispatch makes new ones.
    device.trim();
    const again = device.tensor(new Float32Array(texels).fill(NaN));
    device.dispatch(k, 'main', { p: { n: texels }, t: device.tensor(second), out: again }, [Math.ceil(texels / 64)]);
    expect(Array.from(await again.read())).toEqual(Array.from(await outs[1]!.read()));
  });

  it.each([
    ['texture_2d<u32>', ', 0'],
    ['texture_storage_2d<rgba32uint, read>', ''],
  ])('binds a u32 tensor to a %s bit for bit (patterns that are NaN as floats too)', async (type, level) => {
    const { device } = ctx;
    const k = device.kernel(
      `u32 texels ${type}`,
      `
      struct Params { n: u32 }
      @group(0) @binding(0) var<uniform> p: Params;
      @group(0) @binding(1) var t: ${type};
      @group(0) @binding(2) var<storage, read_write> out: array<vec4u>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        let i = id.x;
        if (i >= p.n) { return; }
        out[i] = textureLoad(t, vec2u(i % ${TEXTURE_ROW}u, i / ${TEXTURE_ROW}u)${level});
      }`,
    );
    const texels = TEXTURE_ROW + 3;
    const values = Uint32Array.from({ length: 4 * texels }, (_, i) => [0xffffffff, 0x7fc00001, 0xff800001, 0x80000000][i % 4]! ^ (i * 2654435761));
    const out = device.tensor(new Uint32Array(4 * texels));
    device.dispatch(k, 'main', { p: { n: texels }, t: device.tensor(values), out }, [Math.ceil(texels / 64)]);
    expect(Array.from(await out.read())).toEqual(Array.from(values));
    expect(() => device.dispatch(k, 'main', { p: { n: 1 }, t: device.tensor(new Float32Array(4)), out }, [1])).toThrow(/binding 't': expects u32 elements/);
  });
});

describe('debug option', () => {
  it('reports a WebGPU validation error with the kernel that caused it', async () => {
    const device = await createDevice({ backend: 'llvmpipe', debug: true });
    const k = device.kernel('saxpy', SAXPY);
    const x = device.tensor(new Float32Array(4)),
      y = device.tensor(new Float32Array(4));
    // Passes shrinkray's checks, but no adapter allows a workgroup of 1 << 16 invocations.
    device.dispatch(k, 'saxpy', { p: { n: 4, alpha: 1 }, x, y }, [1], { WG: 1 << 16 });
    const err = await device.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toMatch(/^kernel 'saxpy\.saxpy': /);
    device.destroy();
  });
});
