/**
 * Node only: finds a WebGPU adapter through Dawn (the npm package `webgpu`).
 *
 * Order for 'auto': a hardware, core-level adapter (Vulkan/Metal/D3D12) first; without one, the
 * CPU adapter measured fastest for our kernels (bench/RESULTS.md): Mesa llvmpipe through Dawn's
 * OpenGL ES backend (compatibility level), then SwiftShader through Dawn's Vulkan backend with
 * Chromium's ICD (core level).
 */
import { existsSync, readdirSync } from 'node:fs';
import { NoAdapterError } from '../errors.js';
import { BACKENDS, isCpuAdapter, type Backend } from './backend.js';

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

export interface FoundAdapter {
  adapter: GPUAdapter;
  /** The Dawn instance; it must stay referenced while the device lives and be dropped after. */
  instance: GPU;
  backend: Exclude<Backend, 'auto'>;
  featureLevel: 'core' | 'compatibility';
}

/** Debian's `chromium` package ships this ICD; SHRINKRAY_SWIFTSHADER_ICD, when set, replaces it. */
export function swiftShaderIcd(): string | null {
  const path = process.env.SHRINKRAY_SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
  return existsSync(path) ? path : null;
}

let dawn: DawnModule | null = null;

/**
 * Every Dawn instance made, kept for the life of the process. An instance dropped while its
 * threads still ran (after device.destroy(), or when a backend was only tried) was sometimes
 * collected during exit, and the process then died in native code (std::system_error, SIGSEGV)
 * after printing its result: about one error exit in twenty. Kept, they end with the process.
 */
const instances: GPU[] = [];

function keep(instance: GPU): GPU {
  instances.push(instance);
  return instance;
}
async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    const mod = (await import('webgpu')) as unknown as DawnModule;
    // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn exports them.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    dawn = mod;
  }
  return dawn;
}

async function tryBackend(backend: Exclude<Backend, 'auto'>): Promise<FoundAdapter | string> {
  const { create } = await loadDawn();
  if (backend === 'hardware') {
    const instance = keep(create([]));
    const adapter = await instance.requestAdapter({ powerPreference: 'high-performance', featureLevel: 'core' });
    if (!adapter) return 'no Vulkan/Metal/D3D12 adapter';
    if (isCpuAdapter(adapter.info)) return `only a CPU adapter (${adapter.info.description || adapter.info.architecture})`;
    return { adapter, instance, backend, featureLevel: 'core' };
  }
  if (backend === 'llvmpipe') {
    // Mesa's EGL needs a platform without a display server.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const instance = keep(create(['backend=opengles']));
    const adapter = await instance.requestAdapter({ featureLevel: 'compatibility' });
    if (!adapter) return 'no OpenGL ES adapter (install libegl1 libegl-mesa0 libgl1-mesa-dri)';
    return { adapter, instance, backend, featureLevel: 'compatibility' };
  }
  const icd = swiftShaderIcd();
  if (!icd) return 'no SwiftShader ICD (install chromium, or set SHRINKRAY_SWIFTSHADER_ICD)';
  // The Vulkan loader reads this when Dawn creates its Vulkan instance, i.e. in create().
  const previous = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = icd;
  try {
    const instance = keep(create(['backend=vulkan']));
    const adapter = await instance.requestAdapter({ featureLevel: 'core' });
    if (!adapter) return 'SwiftShader ICD found but no Vulkan adapter (install libvulkan1)';
    return { adapter, instance, backend, featureLevel: 'core' };
  } finally {
    if (previous === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = previous;
  }
}

/**
 * Whether the Vulkan loader can find any driver on Linux: a manifest in the icd.d folders it
 * searches, or one named by its environment variables. Without one, probing for a GPU only makes
 * the loader and Dawn print warnings ("vkCreateInstance: Found no drivers!"), so 'auto' skips it.
 */
export function vulkanDriversListed(): boolean {
  if (process.platform !== 'linux') return true;
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES) return true;
  const config = (process.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const data = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const home = process.env.HOME ? [`${process.env.HOME}/.local/share`] : [];
  const folders = [...config, '/etc', ...data, ...home].map((d) => `${d}/vulkan/icd.d`);
  return folders.some((f) => {
    try {
      return readdirSync(f).some((name) => name.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** Tries the backends in order and returns the first adapter; throws NoAdapterError listing why each failed. */
export async function findDawnAdapter(choice: Backend): Promise<FoundAdapter> {
  const order: Exclude<Backend, 'auto'>[] = choice === 'auto' ? ['hardware', 'llvmpipe', 'swiftshader'] : [choice];
  const reasons: string[] = [];
  for (const backend of order) {
    let result: FoundAdapter | string;
    if (choice === 'auto' && backend === 'hardware' && !vulkanDriversListed()) {
      reasons.push('hardware: no Vulkan driver installed (no icd.d manifest)');
      continue;
    }
    try {
      result = await tryBackend(backend);
    } catch (e) {
      result = e instanceof Error ? e.message : String(e);
    }
    if (typeof result !== 'string') return result;
    reasons.push(`${backend}: ${result}`);
  }
  throw new NoAdapterError(
    `No WebGPU adapter found (${reasons.join('; ')}). On Debian/Ubuntu: ` +
      `apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri (llvmpipe) or chromium libvulkan1 (SwiftShader). ` +
      `Backends: ${BACKENDS.join(', ')}.`,
  );
}
