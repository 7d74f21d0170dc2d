/**
 * Kernels and their dispatches: compiled kernel families cached by name (compile errors surface
 * at the next call), and each dispatch checked (workgroup limits, arguments against the WGSL
 * bindings), bound and recorded.
 */
import { GpuError, InvalidArgumentError, LimitError } from '../errors.js';
import type { Bindings } from './bindings.js';
import type { Device } from './device.js';
import type { DeviceHealth } from './health.js';
import { checkArgs, Kernel, type KernelArgs, type Overrides } from './kernel.js';
import type { Recorder } from './recorder.js';
import { SHADERS, type ShaderName } from './shaders.generated.js';

export class Dispatcher {
  private readonly kernels = new Map<string, Kernel>();

  constructor(
    private readonly device: Device,
    private readonly bindings: Bindings,
    private readonly recorder: Recorder,
    private readonly health: DeviceHealth,
    /** Wrap every dispatch in an error scope and report validation errors by kernel name (slow). */
    private readonly debug: boolean,
  ) {}

  kernel(name: ShaderName | (string & {}), code?: string): Kernel {
    const source = code ?? (SHADERS as Record<string, string>)[name];
    if (source === undefined) throw new InvalidArgumentError(`No built-in kernel '${name}'; pass its WGSL code.`);
    const cached = this.kernels.get(name);
    if (cached && cached.code === source) return cached;
    const k = new Kernel(this.device.gpu, name, source);
    this.kernels.set(name, k);
    this.health.watch(k.compiled);
    return k;
  }

  dispatch(kernel: Kernel, entry: string, args: KernelArgs, workgroups: readonly number[], overrides?: Overrides): void {
    this.health.check();
    const gpu = this.device.gpu;
    const max = gpu.limits.maxComputeWorkgroupsPerDimension;
    const where = `${kernel.name}.${entry}`;
    if (workgroups.some((w) => !Number.isInteger(w) || w < 0 || w > max))
      throw new LimitError(`kernel '${where}': workgroups [${workgroups.join(', ')}] exceed maxComputeWorkgroupsPerDimension ${max}.`);
    if (workgroups.some((w) => w === 0)) return;
    if (kernel.failure) throw kernel.failure;
    const info = kernel.entry(entry);
    checkArgs(kernel.name, info, args, this.device);
    if (this.debug) gpu.pushErrorScope('validation');
    const pipeline = kernel.pipeline(entry, overrides);
    const { group, offsets } = this.bindings.bind(info, args, where);
    this.recorder.dispatch(pipeline, group, offsets, workgroups);
    if (!this.debug) return;
    this.recorder.flush();
    this.health.watch(
      gpu.popErrorScope().then((e) => {
        if (e) throw new GpuError(`kernel '${where}': ${e.message}`);
      }),
    );
  }
}
