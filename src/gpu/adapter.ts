/**
 * Adapter choice: Dawn's adapters in Node (hardware first, then the fastest CPU rasterizer),
 * navigator.gpu in browsers, and a device with the limits and features our kernels use.
 */
import { InvalidArgumentError, LimitError, NoAdapterError } from '../errors.js';
import { BACKENDS, isCpuAdapter, type Backend } from './backend.js';
import type { CpuProbe } from './runs-like-cpu.js';

export interface CreateDeviceOptions {
  /** Force an adapter; default: env SHRINKRAY_BACKEND, else 'auto'. Ignored in browsers. */
  backend?: Backend;
  /** Use a GPUDevice the caller already has (shrinkray will not destroy it). */
  device?: GPUDevice;
  /** Wrap every dispatch in error scopes and report validation errors by kernel name (slow). */
  debug?: boolean;
  /**
   * Browsers: 'compatibility' asks for a compatibility-level adapter only (what many Android and
   * older Windows machines offer), to test there; default core first, then compatibility.
   */
  featureLevel?: 'core' | 'compatibility';
}

/** Limits our kernels benefit from; we ask for what the adapter offers instead of the defaults. */
export const KERNEL_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxTextureDimension2D',
] as const;

export interface DeviceDescription {
  /** How the adapter was found: hardware, llvmpipe, swiftshader (Node), browser, or external. */
  backend: string;
  adapter: string;
  vendor: string;
  architecture: string;
  featureLevel: 'core' | 'compatibility';
  /** Whether the adapter is a CPU rasterizer, by its name or, for an adapter with none, measured (runs-like-cpu.ts). */
  cpuFallback: boolean;
  /** Whether the adapter gave a name (vendor, architecture, device or description): Chromium gives none without --enable-webgpu-developer-features. */
  adapterNamed: boolean;
  /** For an adapter with no name, what the timing measured (runs-like-cpu.ts). */
  cpuProbe?: CpuProbe;
  features: string[];
  limits: Record<(typeof KERNEL_LIMITS)[number], number>;
}

/** Optional features we use when present. */
const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function backendFromEnv(option: Backend | undefined): Backend {
  const value = option ?? (isNode() ? process.env.SHRINKRAY_BACKEND : undefined) ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`Unknown backend '${value}' (option backend or SHRINKRAY_BACKEND); use one of ${BACKENDS.join(', ')}.`);
  return value as Backend;
}

export interface OpenedAdapter {
  gpu: GPUDevice;
  adapter: GPUAdapter;
  /** The Dawn instance in Node (kept alive as long as the device), else null. */
  instance: GPU | null;
  backend: string;
}

/** Finds an adapter and creates a device with the limits our kernels need. */
export async function openAdapter(options: CreateDeviceOptions): Promise<OpenedAdapter> {
  const choice = backendFromEnv(options.backend);
  let adapter: GPUAdapter;
  let instance: GPU | null = null;
  let backend: string;
  if (isNode()) {
    const { findDawnAdapter } = await import('./dawn.js');
    ({ adapter, instance, backend } = await findDawnAdapter(choice));
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new NoAdapterError('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Firefox.');
    const found =
      (options.featureLevel === 'compatibility' ? null : await gpu.requestAdapter({ featureLevel: 'core' })) ??
      (options.featureLevel === 'core' ? null : await gpu.requestAdapter({ featureLevel: 'compatibility' }));
    if (!found) throw new NoAdapterError('navigator.gpu returned no adapter. Enable WebGPU (chrome://flags/#enable-unsafe-webgpu).');
    adapter = found;
    backend = 'browser';
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of KERNEL_LIMITS) requiredLimits[key] = adapter.limits[key];
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  try {
    return { gpu: await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'shrinkray' }), adapter, instance, backend };
  } catch (e) {
    throw new NoAdapterError(`The ${backend} adapter refused to create a device: ${(e as Error).message}`, { cause: e });
  }
}

/** What the device is: adapter names, feature level, whether its name says CPU rasterizer, the limits we use. */
export function describeDevice(gpu: GPUDevice, adapter: GPUAdapter | null, backend: string): DeviceDescription {
  const info: GPUAdapterInfo | undefined = adapter?.info ?? (gpu as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const limits = {} as DeviceDescription['limits'];
  for (const key of KERNEL_LIMITS) limits[key] = gpu.limits[key];
  const named = info !== undefined && [info.vendor, info.architecture, info.device, info.description].some(Boolean);
  return {
    backend,
    adapter: [info?.architecture || info?.device, info?.description].filter(Boolean).join(' / ') || 'unknown',
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    featureLevel: gpu.features.has('core-features-and-limits') ? 'core' : 'compatibility',
    cpuFallback: info ? isCpuAdapter(info) : false,
    adapterNamed: named,
    features: [...gpu.features].sort(),
    limits,
  };
}

/** Throws LimitError when a buffer of `bytes` cannot exist on a device with these limits. */
export function checkTensorSize(limits: GPUSupportedLimits, bytes: number, what: string): void {
  const { maxBufferSize, maxStorageBufferBindingSize } = limits;
  const [limit, value] = bytes > maxStorageBufferBindingSize ? ['maxStorageBufferBindingSize', maxStorageBufferBindingSize] : ['maxBufferSize', maxBufferSize];
  if (bytes > value) throw new LimitError(`${what} needs ${bytes} bytes, over this device's ${limit} of ${value}. Split the data into smaller tensors.`);
}
