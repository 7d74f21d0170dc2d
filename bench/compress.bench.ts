/**
 * Compression kernels: (1) the exact-count magnitude threshold and mask for 1M and 10M weights
 * on the GPU (radix select) against the usual CPU way (sort |w|, take the k-th, build the mask);
 * (2) the integer GEMM (int8 and int4 weights, uint8 inputs, quantizing the inputs included)
 * against the f32 GEMM, at LeNet-300-100's first layer and at 1024^2 x 1024, on the same device;
 * (3) which mask encoding is fastest to apply to the weights: f32 (one per weight, what the
 * optimizers use), bytes (four per u32) or bits (32 per u32).
 */
import { fill } from '../src/kernels/elementwise.js';
import { gemm } from '../src/kernels/gemm.js';
import { maskBelow, selectKey } from '../src/kernels/prune.js';
import { packRows, qgemm, type QParams } from '../src/kernels/quant.js';
import { Random } from '../src/random.js';
import { benchDevice, fmt, timeTasks } from './common.js';

export async function benchCompress(): Promise<void> {
  const device = await benchDevice();
  const quick = process.env.BENCH_QUICK === '1';
  console.log('\nMagnitude threshold and mask at 90 % sparsity (exact count): ms per call, best of 3 rounds');
  console.log(['weights'.padStart(10), 'GPU select+mask', 'CPU sort+mask', 'speedup'].join('  '));
  for (const n of quick ? [1_000_000] : [1_000_000, 10_000_000]) {
    const r = new Random(n);
    const w = Float32Array.from({ length: n }, () => r.normal());
    const tw = device.tensor(w);
    const mask = fill(device.empty([n]), 1);
    const k = n - Math.round(0.1 * n);
    const gpu = async () => {
      const key = await selectKey([{ w: tw, base: 0 }], k - 1);
      maskBelow(tw, mask, 0, key);
      await device.sync();
    };
    const cpu = async () => {
      const a = Float32Array.from(w, Math.abs).sort();
      const t = a[k - 1]!;
      const m = new Uint8Array(n);
      for (let i = 0; i < n; i++) m[i] = Math.abs(w[i]!) > t ? 1 : 0;
      return m;
    };
    let best = { gpu: Infinity, cpu: Infinity };
    for (let round = 0; round < 3; round++) {
      const t = await timeTasks({ gpu, cpu }, { iterations: 1, time: 0, warm: round === 0 });
      best = { gpu: Math.min(best.gpu, t.gpu!), cpu: Math.min(best.cpu, t.cpu!) };
    }
    console.log([String(n).padStart(10), fmt(best.gpu * 1000, 1).padStart(15), fmt(best.cpu * 1000, 1).padStart(13), `${fmt(best.cpu / best.gpu)}x`.padStart(7)].join('  '));
    tw.dispose();
    mask.dispose();
  }

  console.log('\nInteger GEMM against f32 GEMM (GFLOP/s counting 2 M N K; the integer path includes quantizing the inputs)');
  console.log(['shape'.padEnd(16), 'f32 gemm', 'int8 qgemm', 'int4 qgemm'].join('  '));
  const shapes: [number, number, number][] = quick
    ? [[128, 300, 784]]
    : [
        [128, 300, 784],
        [1024, 1024, 1024],
      ];
  for (const [M, N, K] of shapes) {
    const r = new Random(M + N + K);
    const x = device.tensor(
      Float32Array.from({ length: M * K }, () => r.uniform(0, 1)),
      [M, K],
    );
    const w = device.tensor(
      Float32Array.from({ length: K * N }, () => r.normal() * 0.05),
      [K, N],
    );
    const wt = device.tensor(
      Float32Array.from({ length: N * K }, () => r.normal() * 0.05),
      [N, K],
    );
    const c = device.empty([M, N]);
    const params = (s: number, z: number, channels: number): QParams => ({
      scale: device.tensor(new Float32Array(channels).fill(s)),
      zero: device.tensor(new Int32Array(channels).fill(z)),
      qmin: -128,
      qmax: 127,
    });
    const inputQ = { ...params(1 / 255, 0, 1), qmin: 0, qmax: 255 };
    const reps = Math.max(1, Math.round(5e8 / (2 * M * N * K)));
    const tasks: Record<string, () => Promise<unknown>> = {
      f32: async () => {
        for (let i = 0; i < reps; i++) gemm(x, w, { out: c });
        await device.sync();
      },
    };
    for (const laneBits of [8, 4] as const) {
      const wq = params(0.05 / (laneBits === 8 ? 127 : 7), 0, N);
      const words = Math.ceil(K / 8) * (laneBits === 8 ? 2 : 1);
      const packed = packRows(wt, wq, 'rows', laneBits, words);
      const outScale = device.tensor(new Float32Array(N).fill(0.05 / 127 / 255));
      tasks[`int${laneBits}`] = async () => {
        for (let i = 0; i < reps; i++) {
          const xq = packRows(x, inputQ, 'tensor', 8, (words * (32 / laneBits)) / 4);
          qgemm(xq, packed, { laneBits, zx: 0, outScale, weightZero: wq.zero }).dispose();
          xq.dispose();
        }
        await device.sync();
      };
    }
    let best: Record<string, number> = { f32: Infinity, int8: Infinity, int4: Infinity };
    for (let round = 0; round < 3; round++) {
      const t = await timeTasks(tasks, { iterations: 1, time: 0, warm: round === 0 });
      best = Object.fromEntries(Object.keys(best).map((k) => [k, Math.min(best[k]!, t[k]!)]));
    }
    const g = (s: number) => fmt((2 * M * N * K * reps) / s / 1e9);
    console.log([`${M}x${N}x${K}`.padEnd(16), g(best.f32!).padStart(8), g(best.int8!).padStart(10), g(best.int4!).padStart(10)].join('  '));
  }
  await benchMaskEncodings(device, quick);
  device.destroy();
}

const MASK_KERNELS = `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> mf: array<f32>;
@group(0) @binding(2) var<storage, read> mu: array<u32>;
@compute @workgroup_size(256) fn floats(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = g.x + g.y * n.x * 256u;
  if (i < p.n) { w[i] = select(0.0, w[i], mf[i] != 0.0); }
}
@compute @workgroup_size(256) fn bytes(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = g.x + g.y * n.x * 256u;
  if (i < p.n) { w[i] = select(0.0, w[i], ((mu[i / 4u] >> (8u * (i % 4u))) & 255u) != 0u); }
}
@compute @workgroup_size(256) fn bits(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = g.x + g.y * n.x * 256u;
  if (i < p.n) { w[i] = select(0.0, w[i], ((mu[i / 32u] >> (i % 32u)) & 1u) != 0u); }
}`;

async function benchMaskEncodings(device: Awaited<ReturnType<typeof benchDevice>>, quick: boolean): Promise<void> {
  console.log('\nApplying a pruning mask (w = mask ? w : 0), GB/s of weights updated, best of 3 rounds');
  console.log(['weights'.padStart(10), 'f32 mask', 'byte mask', 'bit mask'].join('  '));
  const k = device.kernel('mask-encodings', MASK_KERNELS);
  for (const n of quick ? [266_200] : [266_200, 10_000_000]) {
    const r = new Random(n);
    const keep = Array.from({ length: n }, () => r.next() < 0.1);
    const w = device.tensor(Float32Array.from({ length: n }, () => r.normal()));
    const mf = device.tensor(Float32Array.from(keep, (b) => (b ? 1 : 0)));
    const bytes = new Uint8Array(Math.ceil(n / 4) * 4);
    keep.forEach((b, i) => (bytes[i] = b ? 1 : 0));
    const mb = device.tensor(new Uint32Array(bytes.buffer));
    const bits = new Uint32Array(Math.ceil(n / 32));
    keep.forEach((b, i) => b && (bits[i >> 5]! |= 1 << (i & 31)));
    const mbit = device.tensor(bits);
    const reps = Math.max(1, Math.round(5e7 / n));
    const groups = Math.ceil(n / 256);
    const grid = [Math.min(groups, 65535), Math.ceil(groups / 65535)];
    const run = (entry: string, args: Record<string, unknown>) => async () => {
      for (let i = 0; i < reps; i++) device.dispatch(k, entry, { p: { n }, w, ...args } as never, grid);
      await device.sync();
    };
    let best: Record<string, number> = { floats: Infinity, bytes: Infinity, bits: Infinity };
    for (let round = 0; round < 3; round++) {
      const t = await timeTasks({ floats: run('floats', { mf }), bytes: run('bytes', { mu: mb }), bits: run('bits', { mu: mbit }) }, { iterations: 1, time: 0, warm: round === 0 });
      best = Object.fromEntries(Object.keys(best).map((key) => [key, Math.min(best[key]!, t[key]!)]));
    }
    const gbs = (sec: number) => fmt((n * 4 * reps) / sec / 1e9);
    console.log([String(n).padStart(10), gbs(best.floats!).padStart(8), gbs(best.bytes!).padStart(9), gbs(best.bits!).padStart(8)].join('  '));
    for (const t of [w, mf, mb, mbit]) t.dispose();
  }
}
