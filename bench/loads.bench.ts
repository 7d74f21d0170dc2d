/**
 * What one load costs on this adapter, by where the data lives: the figure that decides how the
 * GEMM is blocked (shaders/gemm.wgsl). Each kernel sums K values per invocation, four components
 * per load where the type allows, in 256 workgroups of 64; the time per invocation and component
 * is printed beside the same loop without loads, best of three rounds. Raw WebGPU (the kernel
 * runtime binds storage and small uniform structs only): uniform arrays and textures as well.
 */
import { benchDevice } from './common.js';

const K = 1024;
const GROUPS = 256;
const LANES = 64;

interface Probe {
  name: string;
  declaration: string;
  body: string;
  binding?: 'storage' | 'uniform' | 'texture' | 'storageTexture';
}

// i wraps within 1024 vec4s so every source can hold it (a 16 KiB uniform buffer is the default limit).
const probes: Probe[] = [
  { name: 'no load (loop and adds only)', declaration: '', body: 'let v = vec4f(f32(k + lid));' },
  { name: 'storage, f32 x 4', declaration: 'var<storage, read> s: array<f32>;', body: 'let j = i * 4u; let v = vec4f(s[j], s[j + 1u], s[j + 2u], s[j + 3u]);', binding: 'storage' },
  { name: 'storage, vec4', declaration: 'var<storage, read> s4: array<vec4f>;', body: 'let v = s4[i];', binding: 'storage' },
  { name: 'storage, vec4, same address in every lane', declaration: 'var<storage, read> s4: array<vec4f>;', body: 'let v = s4[k / 4u];', binding: 'storage' },
  { name: 'uniform, vec4', declaration: 'var<uniform> u: array<vec4f, 1024>;', body: 'let v = u[i];', binding: 'uniform' },
  { name: 'texture rgba32float, textureLoad', declaration: 'var t: texture_2d<f32>;', body: 'let v = textureLoad(t, vec2u(i % 64u, i / 64u), 0);', binding: 'texture' },
  // No mip level to clamp (WebGPU's robustness clamps a sampled texture's to a count in a uniform).
  { name: 'storage texture rgba32float, read', declaration: 'var ts: texture_storage_2d<rgba32float, read>;', body: 'let v = textureLoad(ts, vec2u(i % 64u, i / 64u));', binding: 'storageTexture' },
  { name: 'private array, dynamic index', declaration: '', body: 'let v = local[(k / 4u + lid) & 15u];' },
];

export async function benchLoads(): Promise<void> {
  const device = await benchDevice();
  const g = device.gpu;
  const out = g.createBuffer({ size: GROUPS * LANES * 4, usage: GPUBufferUsage.STORAGE });
  const storage = g.createBuffer({ size: 16384, usage: GPUBufferUsage.STORAGE });
  const uniform = g.createBuffer({ size: 16384, usage: GPUBufferUsage.UNIFORM });
  const texture = g.createTexture({ size: [64, 16], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING });
  const timings: { name: string; ns: number }[] = [];
  for (const probe of probes) {
    const code = `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
${probe.declaration ? `@group(0) @binding(1) ${probe.declaration}` : ''}
@compute @workgroup_size(${LANES})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(global_invocation_id) gid: vec3u) {
  var local: array<vec4f, 16>;
  for (var j = 0u; j < 16u; j++) { local[j] = vec4f(f32(j + lid)); }
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k += 4u) {
    let i = (k / 4u + lid) & 1023u;
    ${probe.body}
    acc += v.x + v.y + v.z + v.w;
  }
  out[gid.x] = acc;
}`;
    const module = g.createShaderModule({ code });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`${probe.name}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
    const pipeline = await g.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: out } }];
    if (probe.binding === 'storage') entries.push({ binding: 1, resource: { buffer: storage } });
    if (probe.binding === 'uniform') entries.push({ binding: 1, resource: { buffer: uniform } });
    if (probe.binding === 'texture' || probe.binding === 'storageTexture') entries.push({ binding: 1, resource: texture.createView() });
    const group = g.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const run = async (reps: number) => {
      const encoder = g.createCommandEncoder();
      for (let r = 0; r < reps; r++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(GROUPS);
        pass.end();
      }
      g.queue.submit([encoder.finish()]);
      await g.queue.onSubmittedWorkDone();
    };
    await run(1);
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      await run(5);
      best = Math.min(best, (performance.now() - t0) / 5);
    }
    timings.push({ name: probe.name, ns: (best * 1e6) / (GROUPS * LANES * K) });
  }
  const floor = timings[0]!.ns;
  const vec4 = timings.find((t) => t.name === 'storage, vec4')!.ns - floor;
  console.log('\nOne load, ns per invocation and component (wall time, all threads); net = minus the loop without loads');
  console.log(['source'.padEnd(44), 'ns', 'net', 'net / storage vec4'].join('  '));
  for (const t of timings) console.log([t.name.padEnd(44), t.ns.toFixed(3), (t.ns - floor).toFixed(3), t === timings[0] ? '' : ((t.ns - floor) / vec4).toFixed(2)].join('  '));
  out.destroy();
  storage.destroy();
  uniform.destroy();
  texture.destroy();
  device.destroy();
}
