/**
 * The device handle, a thin face over adapter choice (adapter.ts, create-device.ts), kernels and dispatches
 * (dispatcher.ts, recorder.ts, bindings.ts), buffers (buffer-pool.ts), data transfers
 * (transfers.ts) and error handling (health.ts). Work runs at sync points (read, write, sync).
 */
import { ShapeError } from '../errors.js';
import { checkTensorSize, describeDevice, type CreateDeviceOptions, type DeviceDescription } from './adapter.js';
import { Bindings } from './bindings.js';
import { BufferPool, type MemoryStats } from './buffer-pool.js';
import { DeviceHealth } from './health.js';
import { Dispatcher } from './dispatcher.js';
import type { Kernel, KernelArgs, Overrides } from './kernel.js';
import { Recorder } from './recorder.js';
import type { CpuProbe } from './runs-like-cpu.js';
import type { ShaderName } from './shaders.generated.js';
import { dtypeOf, elementCount, Tensor, type AnyTypedArray, type DType, type TypedArrayFor } from './tensor.js';
import { Transfers } from './transfers.js';
import { WriteStamps } from './write-stamps.js';

export type { CreateDeviceOptions, DeviceDescription } from './adapter.js';
export { alignTo } from './recorder.js';
export { grid } from './grid.js';

export class Device {
  private readonly pool: BufferPool;
  private readonly recorder: Recorder;
  private readonly bindings: Bindings;
  private readonly stamps = new WriteStamps();
  private readonly health: DeviceHealth;
  private readonly transfers: Transfers;
  private readonly dispatcher: Dispatcher;
  /** WGSL language features the compiler accepts (empty where unknown, e.g. a caller's device in Node). */
  readonly wgslFeatures: ReadonlySet<string>;
  /** Whether the adapter is a CPU rasterizer (llvmpipe, SwiftShader), by its name or, with none, measured by createDevice: kernels pick versions by it. */
  cpuFallback: boolean;
  /** What createDevice's timing measured, for an adapter that gave no name (null otherwise). */
  cpuProbe: CpuProbe | null = null;
  /** Whether the adapter is Mesa's llvmpipe, whose costs differ from SwiftShader's (gemm.ts). */
  readonly llvmpipe: boolean;

  /** Use createDevice(); this constructor wraps an existing GPUDevice. The Dawn instance is held as long as the device. */
  constructor(
    readonly gpu: GPUDevice,
    readonly adapter: GPUAdapter | null,
    // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held so that the Dawn instance lives as long as the device
    private instance: GPU | null,
    readonly backend: string,
    options: CreateDeviceOptions,
  ) {
    this.wgslFeatures = new Set((instance ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu)?.wgslLanguageFeatures ?? []);
    this.pool = new BufferPool(gpu);
    this.recorder = new Recorder(gpu);
    this.bindings = new Bindings(gpu, this.recorder, this.stamps);
    this.health = new DeviceHealth(gpu);
    this.transfers = new Transfers(gpu, this.recorder, this.health, this.stamps, this.pool);
    this.dispatcher = new Dispatcher(this, this.bindings, this.recorder, this.health, options.debug ?? false);
    const d = describeDevice(gpu, adapter, backend);
    [this.cpuFallback, this.llvmpipe] = [d.cpuFallback, /llvmpipe/i.test(d.adapter)];
  }

  /** Throws the first error WebGPU reported since the last call, or DeviceLostError. */
  check = (): void => this.health.check();

  describe(): DeviceDescription {
    return { ...describeDevice(this.gpu, this.adapter, this.backend), cpuFallback: this.cpuFallback, ...(this.cpuProbe && { cpuProbe: this.cpuProbe }) };
  }

  /** Releases buffers, textures, the device (if ours) and the Dawn instance. */
  destroy(): void {
    if (this.health.destroyed) return;
    this.health.destroyed = true;
    this.bindings.clear();
    this.pool.trim();
    this.recorder.destroy();
    if (this.adapter) this.gpu.destroy();
    this.instance = null;
  }

  memory(): MemoryStats {
    return { ...this.pool.memory(), residentTextureBytes: this.bindings.residentBytes };
  }

  /** Frees pooled (unused) buffers, read-back ones included, and the textures kept for texture bindings. */
  trim(): void {
    this.flush();
    this.bindings.clear();
    this.pool.trim();
  }

  /** Throws LimitError when a tensor of this shape cannot exist on this device (before anything is allocated for it). */
  checkTensorSize(shape: readonly number[], dtype: DType = 'f32', what = `A ${dtype} tensor [${shape.join(', ')}]`): void {
    checkTensorSize(this.gpu.limits, elementCount(shape) * 4, what);
  }

  /** An uninitialized tensor (contents are whatever the pooled buffer held). */
  empty<D extends DType = 'f32'>(shape: readonly number[], dtype: D = 'f32' as D): Tensor<D> {
    this.check();
    this.checkTensorSize(shape, dtype);
    const buffer = this.pool.acquire(Math.max(elementCount(shape) * 4, 16));
    this.stamps.touch(buffer); // a pooled buffer holds another tensor's old contents
    return new Tensor(this, [...shape], dtype, buffer);
  }

  /** A number that changes whenever the tensor's buffer may have been written through this device (write-stamps.ts); writes straight to tensor.buffer are not seen. */
  writeStamp(tensor: Tensor): number {
    return this.stamps.of(tensor.buffer);
  }

  /** Uploads typed-array data; the shape defaults to [data.length]. */
  tensor<A extends AnyTypedArray>(data: A, shape: readonly number[] = [data.length]): Tensor<DTypeOfArray<A>> {
    if (elementCount(shape) !== data.length) throw new ShapeError(`Data of ${data.length} elements does not fit shape [${shape.join(', ')}].`);
    const t = this.empty(shape, dtypeOf(data) as DTypeOfArray<A>);
    this.write(t, data as unknown as TypedArrayFor<DTypeOfArray<A>>);
    return t;
  }

  /** A copy of `tensor` (any dtype) made on the GPU, ordered after all work recorded before it. */
  duplicate<D extends DType>(tensor: Tensor<D>): Tensor<D> {
    void tensor.buffer; // a disposed tensor throws DisposedError before anything is allocated
    const copy = this.empty(tensor.shape, tensor.dtype);
    this.transfers.copy(tensor, copy);
    return copy;
  }

  /** Queues a write of `data` into `tensor`, ordered after all work recorded before it. */
  write = <D extends DType>(tensor: Tensor<D>, data: TypedArrayFor<D>): void => this.transfers.write(tensor, data);
  /** Reads a tensor back. The only sync point: pending work is submitted and awaited. */
  read = <D extends DType>(tensor: Tensor<D>): Promise<TypedArrayFor<D>> => this.transfers.read(tensor);
  /** Waits until all submitted work is done, then throws any error it produced. */
  sync = (): Promise<void> => this.transfers.sync();
  /** Submits everything recorded so far. */
  flush = (): void => this.recorder.flush();

  releaseBuffer(buffer: GPUBuffer): void {
    if (!this.health.destroyed) this.pool.release(buffer);
  }

  /** A built-in kernel family by name (shaders/NAME.wgsl), or your own WGSL under a name of yours. */
  kernel = (name: ShaderName | (string & {}), code?: string): Kernel => this.dispatcher.kernel(name, code);
  /** Records one dispatch of `entry` with `args` (tensors for storage bindings, field objects for uniform structs, by WGSL name). Nothing runs until a sync point. */
  dispatch = (kernel: Kernel, entry: string, args: KernelArgs, workgroups: readonly number[], overrides?: Overrides): void => this.dispatcher.dispatch(kernel, entry, args, workgroups, overrides);
}

type DTypeOfArray<A> = A extends Float32Array ? 'f32' : A extends Int32Array ? 'i32' : 'u32';
