import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vulkanDriversListed } from '../src/gpu/dawn.js';
import { describe, expect, it } from 'vitest';
import { createDevice } from '../src/gpu/create-device.js';
import { formatDescription } from '../src/gpu/describe.js';
import { sizeClass } from '../src/gpu/buffer-pool.js';
import { DeviceLostError, GpuError, InvalidArgumentError, LimitError, NoAdapterError, DisposedError } from '../src/errors.js';
import { fill } from '../src/kernels/elementwise.js';
import { testBackends, useDevice } from './helpers.js';

describe('Vulkan driver discovery (Linux)', () => {
  it('finds a driver manifest in the loader folders or its variables, and none in empty folders', () => {
    const saved = { ...process.env };
    const root = mkdtempSync(join(tmpdir(), 'shrinkray-icd-'));
    try {
      for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES']) delete process.env[k];
      Object.assign(process.env, { XDG_CONFIG_DIRS: join(root, 'config'), XDG_DATA_DIRS: join(root, 'data'), HOME: join(root, 'home') });
      const found = vulkanDriversListed();
      // /etc/vulkan/icd.d is searched too: on this machine it may hold nothing.
      if (!existsSync('/etc/vulkan/icd.d') || readdirSync('/etc/vulkan/icd.d').every((f) => !f.endsWith('.json'))) expect(found).toBe(false);
      mkdirSync(join(root, 'data', 'vulkan', 'icd.d'), { recursive: true });
      writeFileSync(join(root, 'data', 'vulkan', 'icd.d', 'nvidia_icd.json'), '{}');
      expect(vulkanDriversListed()).toBe(true);
      rmSync(join(root, 'data'), { recursive: true });
      process.env.VK_ICD_FILENAMES = '/somewhere/icd.json';
      expect(vulkanDriversListed()).toBe(true);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('createDevice', () => {
  it('auto takes a hardware adapter first, else the llvmpipe CPU adapter, and describes it', async () => {
    const device = await createDevice();
    const d = device.describe();
    // No GPU on this machine: auto must fall back to the CPU adapter measured fastest.
    expect(d.backend).toBe(d.cpuFallback ? 'llvmpipe' : 'hardware');
    expect(d.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(formatDescription(d)).toContain(d.backend);
    device.destroy();
  });

  it.each(testBackends())('%s: reports the feature level and asks for the adapter limits, not the defaults', async (backend) => {
    const device = await createDevice({ backend });
    const d = device.describe();
    expect(d.backend).toBe(backend);
    expect(d.cpuFallback).toBe(true);
    expect(d.adapterNamed).toBe(true); // so cpuFallback came from the name, with no timing
    expect(formatDescription(d)).toContain('CPU adapter,');
    expect(d.featureLevel).toBe(backend === 'swiftshader' ? 'core' : 'compatibility');
    for (const key of Object.keys(d.limits) as (keyof typeof d.limits)[]) expect(d.limits[key]).toBe(device.adapter!.limits[key]);
    // Compatibility defaults are 128 invocations and 4 storage buffers; the adapters offer more.
    expect(d.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    device.destroy();
  });

  it('SHRINKRAY_BACKEND forces a choice, and an unknown name is a typed error', async () => {
    process.env.SHRINKRAY_BACKEND = 'llvmpipe';
    try {
      const device = await createDevice();
      expect(device.describe().backend).toBe('llvmpipe');
      device.destroy();
      process.env.SHRINKRAY_BACKEND = 'quantum';
      await expect(createDevice()).rejects.toThrow(InvalidArgumentError);
      await expect(createDevice()).rejects.toThrow(/use one of auto, hardware, llvmpipe, swiftshader/);
    } finally {
      delete process.env.SHRINKRAY_BACKEND;
    }
  });

  it('no adapter is a NoAdapterError that says what is missing and what to install', async () => {
    process.env.SHRINKRAY_SWIFTSHADER_ICD = '/nonexistent/vk_swiftshader_icd.json';
    try {
      const err = await createDevice({ backend: 'swiftshader' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoAdapterError);
      expect((err as Error).message).toMatch(/swiftshader: no SwiftShader ICD \(install chromium/);
      expect((err as Error).message).toMatch(/apt-get install -y libegl1/);
    } finally {
      delete process.env.SHRINKRAY_SWIFTSHADER_ICD;
    }
  });

  it('accepts a GPUDevice the caller already has, and leaves it alive on destroy()', async () => {
    const owner = await createDevice({ backend: 'llvmpipe' });
    const device = await createDevice({ device: owner.gpu });
    const t = fill(device.empty([5]), 3);
    expect(Array.from(await t.read())).toEqual([3, 3, 3, 3, 3]);
    expect(device.describe().backend).toBe('external');
    device.destroy();
    expect(Array.from(await fill(owner.empty([2]), 1).read())).toEqual([1, 1]);
    owner.destroy();
  });

  it.each(testBackends())('%s behind a GPUDevice that names no adapter (Chromium without developer features) is timed and counts as a CPU adapter', async (backend) => {
    const owner = await createDevice({ backend });
    const unnamed = { vendor: '', architecture: '', device: '', description: '' };
    // The caller's device as Chromium hands it out: the same device, its adapterInfo blank.
    const hidden = new Proxy(owner.gpu, {
      get: (target, key) => {
        if (key === 'adapterInfo') return unnamed;
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const device = await createDevice({ device: hidden });
    const d = device.describe();
    expect(d.adapterNamed).toBe(false);
    expect(d.cpuFallback).toBe(true);
    expect(device.cpuFallback).toBe(true); // what the GEMM's choice of version reads
    expect(d.cpuProbe!.oneMs).toBeGreaterThan(2 * d.cpuProbe!.blockMs); // what the verdict rests on, in the description
    expect(formatDescription(d)).toMatch(/CPU adapter by timing \(the adapter gives no name: a 4 x 4 block an invocation \d+\.\dx as fast as one output\)/);
    device.destroy();
    owner.destroy();
  });

  it('several devices in one process work independently: one destroyed, the others go on', async () => {
    const devices = await Promise.all([createDevice({ backend: 'llvmpipe' }), createDevice({ backend: 'llvmpipe' }), createDevice({ backend: testBackends().at(-1)! })]);
    const results = await Promise.all(
      devices.map(async (d, i) => {
        const a = d.tensor(new Float32Array([i + 1, 2, 3, 4]), [2, 2]);
        return Array.from(await (await import('../src/kernels/gemm.js')).gemm(a, a).read());
      }),
    );
    expect(results).toEqual([1, 2, 3].map((a) => [a * a + 6, 2 * a + 8, 3 * a + 12, 22])); // [[a, 2], [3, 4]] squared
    devices[0]!.destroy();
    const b = devices[1]!.tensor(new Float32Array([1, 1, 1, 1]), [2, 2]);
    expect(Array.from(await fill(b, 5).read())).toEqual([5, 5, 5, 5]);
    expect(() => devices[0]!.tensor(new Float32Array(4))).toThrow(DeviceLostError);
    devices[1]!.destroy();
    devices[2]!.destroy();
  });

  it('a process that used the library exits by itself within seconds', () => {
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/exit-child.ts'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, CHILD_BACKEND: 'llvmpipe' },
    });
    expect(child.error, 'the child did not exit on its own').toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual({ c: [7, 10, 15, 22], backend: 'llvmpipe' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe.each(testBackends())('device errors and memory on %s', (backend) => {
  const ctx = useDevice(backend);

  it('1000 create/dispose cycles keep live bytes flat and reuse buffers', () => {
    const { device } = ctx;
    const before = device.memory();
    for (let i = 0; i < 1000; i++) device.empty([1000 + (i % 7)]).dispose();
    const after = device.memory();
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.buffersCreated - before.buffersCreated).toBeLessThanOrEqual(1);
    const t = device.empty([1 << 16]);
    expect(device.memory().liveBytes).toBe(before.liveBytes + (1 << 18));
    expect(device.memory().peakBytes).toBeGreaterThanOrEqual(before.liveBytes + (1 << 18));
    t.dispose();
    t.dispose(); // twice is harmless
    expect(device.memory().liveBytes).toBe(before.liveBytes);
    expect(() => t.buffer).toThrow(DisposedError);
  });

  it('reads reuse their read-back buffers, one per read in flight', async () => {
    const { device } = ctx;
    const gpu = device.gpu;
    const create = gpu.createBuffer.bind(gpu);
    let staging = 0;
    gpu.createBuffer = (d: GPUBufferDescriptor) => {
      if (d.usage & GPUBufferUsage.MAP_READ) staging++;
      return create(d);
    };
    try {
      const data = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
      const t = device.tensor(data);
      expect(await t.read()).toEqual(data); // leaves a read-back buffer of this size class
      staging = 0;
      for (let i = 0; i < 5; i++) expect(await t.read()).toEqual(data);
      expect(staging).toBe(0);
      expect(await Promise.all([t.read(), t.read(), t.read()])).toEqual([data, data, data]);
      expect(staging).toBe(2); // three in flight at once: each has its own
      for (let i = 0; i < 5; i++) expect(await Promise.all([t.read(), t.read(), t.read()])).toEqual([data, data, data]);
      expect(staging).toBe(2);
      t.dispose();
    } finally {
      gpu.createBuffer = create;
    }
  });

  it('size classes waste at most a quarter', () => {
    for (const n of [1, 255, 256, 257, 1000, 4097, 123_457, 10_000_001]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(Math.max(256, n * 1.25));
    }
  });

  it('a tensor beyond maxStorageBufferBindingSize is a LimitError naming the limit', () => {
    const { device } = ctx;
    const limit = device.gpu.limits.maxStorageBufferBindingSize;
    expect(() => device.empty([limit / 4 + 1])).toThrow(LimitError);
    expect(() => device.empty([limit / 4 + 1])).toThrow(/maxStorageBufferBindingSize/);
  });

  it('uncaptured WebGPU errors become a typed error on the next call', async () => {
    const { device } = ctx;
    // MAP_READ may only go with COPY_DST: WebGPU reports this asynchronously.
    device.gpu.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await expect(device.sync()).rejects.toThrow(GpuError);
    await device.sync(); // reported once, then the device is usable again
  });
});

describe('device loss', () => {
  it('a lost device raises DeviceLostError on the next call and on a pending read, never hangs', async () => {
    const device = await createDevice({ backend: 'llvmpipe' });
    const t = fill(device.empty([1 << 20]), 1);
    const pending = t.read();
    device.gpu.destroy(); // what a driver reset looks like from here
    await expect(pending).rejects.toThrow(DeviceLostError);
    expect(() => device.empty([4])).toThrow(DeviceLostError);
    device.destroy();
  });
});
