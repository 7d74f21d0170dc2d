/**
 * The device handle: owns the adapter, the GPUDevice and (in Node) the Dawn instance; records
 * dispatches into one command encoder and submits them only at a sync point (read, write, sync);
 * turns device loss and uncaught WebGPU errors into typed errors on the next call.
 */
import {
  DeviceLostError,
  GpuError,
  InvalidArgumentError,
  LimitError,
  NoAdapterError,
  ShaderCompileError,
  ShapeError,
  ShrinkrayError,
} from '../errors.js';
import { BACKENDS, isCpuAdapter, type Backend } from './backend.js';
import { BufferPool, type MemoryStats } from './buffer-pool.js';
import { checkArgs, Kernel, packUniform, TEXTURE_ROW, type EntryPoint, type KernelArgs, type Overrides, type UniformValues } from './kernel.js';
import { SHADERS, type ShaderName } from './shaders.generated.js';
import { dtypeOf, elementCount, Tensor, typedArrayFor, type AnyTypedArray, type DType, type TypedArrayFor } from './tensor.js';

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

export interface DeviceDescription {
  /** How the adapter was found: hardware, llvmpipe, swiftshader (Node), browser, or external. */
  backend: string;
  adapter: string;
  vendor: string;
  architecture: string;
  featureLevel: 'core' | 'compatibility';
  cpuFallback: boolean;
  features: string[];
  limits: Record<(typeof KERNEL_LIMITS)[number], number>;
}

/** Limits our kernels benefit from; we ask for what the adapter offers instead of the defaults. */
const KERNEL_LIMITS = [
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

/** Optional features we use when present. */
const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];

const UNIFORM_RING_BYTES = 256 * 1024;
/** Bind groups kept for reuse; a training step of a deep MLP binds a few dozen. */
const BIND_GROUP_CACHE = 1024;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function backendFromEnv(option: Backend | undefined): Backend {
  const value = option ?? (isNode() ? process.env.SHRINKRAY_BACKEND : undefined) ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`Unknown backend '${value}' (option backend or SHRINKRAY_BACKEND); use one of ${BACKENDS.join(', ')}.`);
  return value as Backend;
}

/** Finds an adapter and creates a device with the limits our kernels need. */
export async function createDevice(options: CreateDeviceOptions = {}): Promise<Device> {
  if (options.device) return new Device(options.device, null, null, 'external', options);
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
  let gpuDevice: GPUDevice;
  try {
    gpuDevice = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'shrinkray' });
  } catch (e) {
    throw new NoAdapterError(`The ${backend} adapter refused to create a device: ${(e as Error).message}`, { cause: e });
  }
  return new Device(gpuDevice, adapter, instance, backend, options);
}

/** Tile-friendly 2D grid for `count` workgroups: x at most the per-dimension limit. */
export function grid(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [Math.max(1, count), 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}

export class Device {
  private readonly pool: BufferPool;
  private readonly kernels = new Map<string, Kernel>();
  private readonly uniformRing: GPUBuffer;
  private readonly uniformStaging = new ArrayBuffer(UNIFORM_RING_BYTES);
  private uniformOffset = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Textures for texture bindings, by (binding slot, rows): reused across dispatches, since a
   * copy recorded for one dispatch runs after every dispatch recorded before it. */
  private readonly textures = new Map<string, { texture: GPUTexture; view: GPUTextureView }>();
  /** Bind groups by layout and resources. Creating one costs more than the rest of recording a
   * dispatch (11 us on Dawn in Node), and a training loop binds the same tensors every step. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  /** writeStamp's record: buffer -> the clock at its last write. */
  private readonly stamps = new WeakMap<GPUBuffer, number>();
  private clock = 0;
  private pendingError: ShrinkrayError | null = null;
  private lostError: DeviceLostError | null = null;
  private readonly pendingChecks = new Set<Promise<unknown>>();
  private destroyed = false;
  private readonly lostPromise: Promise<GPUDeviceLostInfo>;
  private readonly debug: boolean;

  /** Use createDevice(); this constructor wraps an existing GPUDevice. */
  constructor(
    readonly gpu: GPUDevice,
    readonly adapter: GPUAdapter | null,
    private instance: GPU | null,
    readonly backend: string,
    options: CreateDeviceOptions,
  ) {
    this.debug = options.debug ?? false;
    const gpuObject = instance ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    this.wgslFeatures = new Set(gpuObject?.wgslLanguageFeatures ?? []);
    this.pool = new BufferPool(gpu);
    this.uniformRing = gpu.createBuffer({
      size: UNIFORM_RING_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'shrinkray-uniforms',
    });
    this.lostPromise = gpu.lost;
    gpu.lost.then((info) => {
      if (!this.destroyed) this.lostError = new DeviceLostError(`The GPU device was lost (${info.reason}): ${info.message}. Create a new device.`);
    });
    gpu.addEventListener('uncapturederror', (event) => {
      const err = (event as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new GpuError(`WebGPU error: ${err.message}`);
    });
  }

  // ---- lifecycle and errors ----

  /** Throws the first error WebGPU reported since the last call, or DeviceLostError. */
  check(): void {
    if (this.destroyed) throw new DeviceLostError('This device was destroyed; create a new one with createDevice().');
    if (this.lostError) throw this.lostError;
    const e = this.pendingError;
    if (e) {
      this.pendingError = null;
      throw e;
    }
  }

  /** WGSL language features this device's compiler accepts (wgslLanguageFeatures of the Dawn
   * instance or navigator.gpu; empty where neither is known, e.g. a caller's device in Node). */
  readonly wgslFeatures: ReadonlySet<string>;

  private cpu?: boolean;
  /** Whether the adapter is a CPU rasterizer (llvmpipe, SwiftShader): kernels pick versions by it. */
  get cpuFallback(): boolean {
    return (this.cpu ??= this.describe().cpuFallback);
  }

  private mesa?: boolean;
  /** Whether the adapter is Mesa's llvmpipe, whose costs differ from SwiftShader's (gemm.ts). */
  get llvmpipe(): boolean {
    return (this.mesa ??= /llvmpipe/i.test(this.describe().adapter));
  }

  describe(): DeviceDescription {
    const info: GPUAdapterInfo | undefined = this.adapter?.info ?? (this.gpu as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const limits = {} as DeviceDescription['limits'];
    for (const key of KERNEL_LIMITS) limits[key] = this.gpu.limits[key];
    return {
      backend: this.backend,
      adapter: [info?.architecture || info?.device, info?.description].filter(Boolean).join(' / ') || 'unknown',
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      featureLevel: this.gpu.features.has('core-features-and-limits') ? 'core' : 'compatibility',
      cpuFallback: info ? isCpuAdapter(info) : false,
      features: [...this.gpu.features].sort(),
      limits,
    };
  }

  /** Submits pending work and releases buffers, the device (if ours) and the Dawn instance. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    this.bindGroups.clear();
    this.pool.trim();
    for (const t of this.textures.values()) t.texture.destroy();
    this.uniformRing.destroy();
    if (this.adapter) this.gpu.destroy();
    this.instance = null;
  }

  memory(): MemoryStats {
    return this.pool.memory();
  }

  /** Frees pooled (unused) buffers and the textures kept for texture bindings. */
  trim(): void {
    this.flush();
    this.bindGroups.clear();
    this.pool.trim();
    for (const t of this.textures.values()) t.texture.destroy();
    this.textures.clear();
  }

  // ---- tensors ----

  /** Throws LimitError when a tensor of this shape cannot exist on this device (before anything is allocated for it). */
  checkTensorSize(shape: readonly number[], dtype: DType = 'f32', what = `A ${dtype} tensor [${shape.join(', ')}]`): void {
    const bytes = elementCount(shape) * 4;
    const { maxBufferSize, maxStorageBufferBindingSize } = this.gpu.limits;
    if (bytes > maxStorageBufferBindingSize || bytes > maxBufferSize) {
      const [limit, value] =
        bytes > maxStorageBufferBindingSize ? ['maxStorageBufferBindingSize', maxStorageBufferBindingSize] : ['maxBufferSize', maxBufferSize];
      throw new LimitError(
        `${what} needs ${bytes} bytes, over this device's ${limit} of ${value}. Split the data into smaller tensors.`,
      );
    }
  }

  private allocate<D extends DType>(shape: readonly number[], dtype: D): Tensor<D> {
    this.check();
    this.checkTensorSize(shape, dtype);
    const bytes = elementCount(shape) * 4;
    const buffer = this.pool.acquire(Math.max(bytes, 16));
    this.touch(buffer); // a pooled buffer holds another tensor's old contents
    return new Tensor(this, [...shape], dtype, buffer);
  }

  /** An uninitialized tensor (contents are whatever the pooled buffer held). */
  empty<D extends DType = 'f32'>(shape: readonly number[], dtype: D = 'f32' as D): Tensor<D> {
    return this.allocate(shape, dtype);
  }

  /**
   * A number that changes whenever the tensor's buffer may have been written through this device
   * (a dispatch binding it read_write, write(), a copy into it, a new allocation): caches of
   * values derived from a tensor (padded inference weights) compare it to know they are current.
   * Writes made around the device, straight to tensor.buffer, are not seen.
   */
  writeStamp(tensor: Tensor): number {
    return this.stamps.get(tensor.buffer) ?? 0;
  }

  private touch(buffer: GPUBuffer): void {
    this.stamps.set(buffer, ++this.clock);
  }

  /** Uploads typed-array data; the shape defaults to [data.length]. */
  tensor<A extends AnyTypedArray>(data: A, shape: readonly number[] = [data.length]): Tensor<DTypeOfArray<A>> {
    const dtype = dtypeOf(data) as DTypeOfArray<A>;
    if (elementCount(shape) !== data.length)
      throw new ShapeError(`Data of ${data.length} elements does not fit shape [${shape.join(', ')}].`);
    const t = this.allocate(shape, dtype);
    this.write(t, data as unknown as TypedArrayFor<typeof dtype>);
    return t;
  }

  /** A copy of `tensor` (any dtype) made on the GPU, ordered after all work recorded before it. */
  duplicate<D extends DType>(tensor: Tensor<D>): Tensor<D> {
    const source = tensor.buffer; // throws DisposedError for a disposed tensor
    const copy = this.allocate(tensor.shape, tensor.dtype);
    this.endPass();
    this.encoder ??= this.gpu.createCommandEncoder();
    if (tensor.byteLength > 0) this.encoder.copyBufferToBuffer(source, 0, copy.buffer, 0, tensor.byteLength);
    this.touch(copy.buffer);
    return copy;
  }

  /** Queues a write of `data` into `tensor`, ordered after all work recorded before it. */
  write<D extends DType>(tensor: Tensor<D>, data: TypedArrayFor<D>): void {
    this.check();
    if (data.length !== tensor.size) throw new ShapeError(`write: ${data.length} values for a tensor of ${tensor.size} elements.`);
    if (dtypeOf(data) !== tensor.dtype) throw new ShapeError(`write: ${dtypeOf(data)} data into a ${tensor.dtype} tensor.`);
    // queue.writeBuffer runs before commands still in the encoder: submit those first.
    this.flush();
    if (data.length > 0) this.gpu.queue.writeBuffer(tensor.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.touch(tensor.buffer);
  }

  /** Reads a tensor back. The only sync point: pending work is submitted and awaited. */
  async read<D extends DType>(tensor: Tensor<D>): Promise<TypedArrayFor<D>> {
    await this.settle();
    const bytes = tensor.byteLength;
    if (bytes === 0) {
      await this.settle();
      return typedArrayFor(tensor.dtype, new ArrayBuffer(0), 0);
    }
    const staging = this.gpu.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.endPass();
    this.encoder ??= this.gpu.createCommandEncoder();
    this.encoder.copyBufferToBuffer(tensor.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await this.untilLost(staging.mapAsync(GPUMapMode.READ));
      await this.settle();
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      return typedArrayFor(tensor.dtype, copy, tensor.size);
    } finally {
      staging.destroy();
    }
  }

  /** Waits until all submitted work is done, then throws any error it produced. */
  async sync(): Promise<void> {
    this.flush();
    await this.settle();
    await this.untilLost(this.gpu.queue.onSubmittedWorkDone());
    await this.settle();
  }

  releaseBuffer(buffer: GPUBuffer): void {
    if (!this.destroyed) this.pool.release(buffer);
  }

  // ---- kernels ----

  /** A built-in kernel family by name (shaders/NAME.wgsl), or your own WGSL under a name of yours. */
  kernel(name: ShaderName | (string & {}), code?: string): Kernel {
    const source = code ?? (SHADERS as Record<string, string>)[name];
    if (source === undefined) throw new InvalidArgumentError(`No built-in kernel '${name}'; pass its WGSL code.`);
    const cached = this.kernels.get(name);
    if (cached && cached.code === source) return cached;
    const k = new Kernel(this.gpu, name, source);
    this.kernels.set(name, k);
    this.watch(k.compiled);
    return k;
  }

  /**
   * Records one dispatch of `entry` with `args` (tensors for storage bindings, field objects for
   * uniform structs, by WGSL name). Nothing runs until a sync point.
   */
  dispatch(kernel: Kernel, entry: string, args: KernelArgs, workgroups: readonly number[], overrides?: Overrides): void {
    this.check();
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => !Number.isInteger(w) || w < 0 || w > max))
      throw new LimitError(`kernel '${kernel.name}.${entry}': workgroups [${workgroups.join(', ')}] exceed maxComputeWorkgroupsPerDimension ${max}.`);
    if (workgroups.some((w) => w === 0)) return;
    if (kernel.failure) throw kernel.failure;
    const info = kernel.entry(entry);
    checkArgs(kernel.name, info, args, this);
    if (this.debug) this.gpu.pushErrorScope('validation');
    const pipeline = kernel.pipeline(entry, overrides);

    const dynamicOffsets: number[] = [];
    const resources: (GPUBufferBinding | GPUTextureView)[] = [];
    let key = String(this.idOf(info.layout));
    for (const b of info.bindings) {
      const arg = args[b.name]!;
      if (b.kind === 'uniform') {
        dynamicOffsets.push(this.stageUniform(b.fields!, arg as UniformValues, b.uniformBytes!));
        resources.push({ buffer: this.uniformRing, offset: 0, size: alignTo(b.uniformBytes!, 16) });
      } else if (b.kind === 'texture') {
        const view = this.textureOf(arg as Tensor, b.binding, `${kernel.name}.${entry}`);
        resources.push(view);
        key += `,t${this.idOf(view)}`;
      } else {
        const t = arg as Tensor;
        // Bind the tensor's bytes (rounded up so vec4 views see whole elements), not the pool's slack.
        const buffer = t.buffer;
        const size = Math.min(alignTo(t.byteLength, 16), buffer.size);
        resources.push({ buffer, offset: 0, size });
        key += `,${this.idOf(buffer)}:${size}`;
        if (b.access === 'read_write') this.touch(buffer);
      }
    }
    const bindGroup = this.bindGroupFor(key, info, resources);
    this.encoder ??= this.gpu.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup, dynamicOffsets);
    this.pass.dispatchWorkgroups(workgroups[0] ?? 1, workgroups[1] ?? 1, workgroups[2] ?? 1);
    if (this.debug) {
      this.flush();
      const where = `${kernel.name}.${entry}`;
      this.watch(
        this.gpu.popErrorScope().then((e) => {
          if (e) throw new GpuError(`kernel '${where}': ${e.message}`);
        }),
      );
    }
  }

  /** A cached bind group for these resources, or a new one. The cache is dropped when it grows
   * past a training step's worth of shapes, and by trim() (which may destroy what it holds). */
  private bindGroupFor(key: string, info: EntryPoint, resources: (GPUBufferBinding | GPUTextureView)[]): GPUBindGroup {
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      const entries = info.bindings.map((b, i) => ({ binding: b.binding, resource: resources[i]! }));
      group = this.gpu.createBindGroup({ layout: info.layout, entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** Texture rows a tensor of `elements` f32 values needs when bound to a texture. */
  private textureRows(elements: number): number {
    return Math.max(1, Math.ceil(elements / 4 / TEXTURE_ROW));
  }

  /**
   * Records a copy of `tensor` into the texture of binding slot `slot` (kernel.ts: TEXTURE_ROW
   * vec4s a row) and returns its view. Rows past the tensor keep stale texels; kernels never read
   * beyond the tensor's length.
   */
  private textureOf(tensor: Tensor, slot: number, where: string): GPUTextureView {
    const texels = tensor.size / 4;
    const rows = this.textureRows(tensor.size);
    const limit = this.gpu.limits.maxTextureDimension2D;
    if (rows > limit)
      throw new LimitError(`kernel '${where}': a tensor of ${tensor.size} elements needs ${rows} texture rows of ${TEXTURE_ROW} texels; maxTextureDimension2D is ${limit}.`);
    const key = `${slot}:${rows}`;
    let cached = this.textures.get(key);
    if (!cached) {
      const texture = this.gpu.createTexture({ size: [TEXTURE_ROW, rows], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST, label: `shrinkray-texture-${key}` });
      cached = { texture, view: texture.createView() };
      this.textures.set(key, cached);
    }
    const { texture, view } = cached;
    const buffer = tensor.buffer;
    this.endPass();
    this.encoder ??= this.gpu.createCommandEncoder();
    const full = Math.floor(texels / TEXTURE_ROW), rest = texels % TEXTURE_ROW;
    if (full > 0) this.encoder.copyBufferToTexture({ buffer, bytesPerRow: TEXTURE_ROW * 16 }, { texture }, [TEXTURE_ROW, full]);
    if (rest > 0) this.encoder.copyBufferToTexture({ buffer, offset: full * TEXTURE_ROW * 16 }, { texture, origin: [0, full] }, [rest, 1]);
    return view;
  }

  /** Ends the pass, uploads this batch's uniforms and submits everything recorded. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.uniformOffset > 0) this.gpu.queue.writeBuffer(this.uniformRing, 0, this.uniformStaging, 0, this.uniformOffset);
    this.gpu.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.uniformOffset = 0;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private stageUniform(fields: NonNullable<ReturnType<Kernel['entry']>['bindings'][number]['fields']>, values: UniformValues, bytes: number): number {
    const align = this.gpu.limits.minUniformBufferOffsetAlignment;
    if (this.uniformOffset + alignTo(bytes, 16) > UNIFORM_RING_BYTES) this.flush();
    const offset = this.uniformOffset;
    packUniform(fields, values, new DataView(this.uniformStaging), offset);
    this.uniformOffset = alignTo(offset + bytes, align);
    return offset;
  }

  /** Remembers an async check; its failure becomes the pending error. */
  private watch(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) => {
      // A compile error explains the pipeline errors WebGPU reports after it, so it wins.
      if (e instanceof ShaderCompileError) this.pendingError = e;
      else if (e instanceof ShrinkrayError) this.pendingError ??= e;
      else this.pendingError ??= new GpuError(String(e));
    });
    this.pendingChecks.add(tracked);
    void tracked.finally(() => this.pendingChecks.delete(tracked));
  }

  /** Awaits outstanding compile and debug checks, then throws what they found (a compile error
   * first: it explains the pipeline errors WebGPU reports after it). */
  private async settle(): Promise<void> {
    while (this.pendingChecks.size) await Promise.all([...this.pendingChecks]);
    this.check();
  }

  /** Rejects with DeviceLostError instead of waiting forever when the device goes away. */
  private untilLost<T>(p: Promise<T>): Promise<T> {
    return Promise.race([
      p,
      this.lostPromise.then((info) => {
        throw new DeviceLostError(`The GPU device was lost (${info.reason}) while waiting for GPU work: ${info.message}`);
      }),
    ]).catch((e: unknown) => {
      this.check();
      if (e instanceof ShrinkrayError) throw e;
      throw new GpuError(`GPU operation failed: ${(e as Error).message ?? e}`, { cause: e });
    });
  }
}

type DTypeOfArray<A> = A extends Float32Array ? 'f32' : A extends Int32Array ? 'i32' : 'u32';

export function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
