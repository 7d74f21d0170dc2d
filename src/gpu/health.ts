/**
 * A device's health: device loss and uncaught WebGPU errors become typed errors thrown on the
 * next call; asynchronous checks (shader compilation, debug error scopes) are awaited at sync
 * points; waits end with DeviceLostError instead of hanging when the device goes away.
 */
import { DeviceLostError, GpuError, ShaderCompileError, ShrinkrayError } from '../errors.js';

export class DeviceHealth {
  private pendingError: ShrinkrayError | null = null;
  private lostError: DeviceLostError | null = null;
  private readonly pendingChecks = new Set<Promise<unknown>>();
  private readonly lost: Promise<GPUDeviceLostInfo>;
  destroyed = false;

  constructor(gpu: GPUDevice) {
    this.lost = gpu.lost;
    gpu.lost.then((info) => {
      if (!this.destroyed) this.lostError = new DeviceLostError(`The GPU device was lost (${info.reason}): ${info.message}. Create a new device.`);
    });
    gpu.addEventListener('uncapturederror', (event) => {
      const err = (event as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new GpuError(`WebGPU error: ${err.message}`);
    });
  }

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

  /** Remembers an async check; its failure becomes the pending error. */
  watch(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) => {
      // A compile error explains the pipeline errors WebGPU reports after it, so it wins.
      if (e instanceof ShaderCompileError) this.pendingError = e;
      else if (e instanceof ShrinkrayError) this.pendingError ??= e;
      else this.pendingError ??= new GpuError(String(e));
    });
    this.pendingChecks.add(tracked);
    void tracked.finally(() => this.pendingChecks.delete(tracked));
  }

  /** Awaits outstanding checks, then throws what they found. */
  async settle(): Promise<void> {
    while (this.pendingChecks.size) await Promise.all([...this.pendingChecks]);
    this.check();
  }

  /** Rejects with DeviceLostError instead of waiting forever when the device goes away. */
  untilLost<T>(p: Promise<T>): Promise<T> {
    return Promise.race([
      p,
      this.lost.then((info) => {
        throw new DeviceLostError(`The GPU device was lost (${info.reason}) while waiting for GPU work: ${info.message}`);
      }),
    ]).catch((e: unknown) => {
      this.check();
      if (e instanceof ShrinkrayError) throw e;
      throw new GpuError(`GPU operation failed: ${(e as Error).message ?? e}`, { cause: e });
    });
  }
}
