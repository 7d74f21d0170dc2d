/**
 * Dispatch recording: compute passes and copies go into one command encoder, uniforms into one
 * ring buffer at dynamic offsets, and everything is submitted at once by flush() (at a sync
 * point, or when the ring is full).
 */
import { packUniform, type Kernel, type UniformValues } from './kernel.js';

const UNIFORM_RING_BYTES = 256 * 1024;

export type UniformFields = NonNullable<ReturnType<Kernel['entry']>['bindings'][number]['fields']>;

export function alignTo(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export class Recorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The uniform buffer every dispatch binds at its own offset. */
  readonly uniforms: GPUBuffer;
  private readonly staging = new ArrayBuffer(UNIFORM_RING_BYTES);
  private offset = 0;
  private afterSubmit: (() => void)[] = [];

  constructor(private readonly gpu: GPUDevice) {
    this.uniforms = gpu.createBuffer({ size: UNIFORM_RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'shrinkray-uniforms' });
  }

  /** The encoder for a copy, after the work recorded so far (the compute pass is ended). */
  copies(): GPUCommandEncoder {
    this.endPass();
    return (this.encoder ??= this.gpu.createCommandEncoder());
  }

  /** Records one dispatch. */
  dispatch(pipeline: GPUComputePipeline, group: GPUBindGroup, offsets: number[], workgroups: readonly number[]): void {
    this.encoder ??= this.gpu.createCommandEncoder();
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group, offsets);
    this.pass.dispatchWorkgroups(workgroups[0] ?? 1, workgroups[1] ?? 1, workgroups[2] ?? 1);
  }

  /** Packs a uniform struct into the ring; returns its dynamic offset. */
  stageUniform(fields: UniformFields, values: UniformValues, bytes: number): number {
    const align = this.gpu.limits.minUniformBufferOffsetAlignment;
    if (this.offset + alignTo(bytes, 16) > UNIFORM_RING_BYTES) this.flush();
    const offset = this.offset;
    packUniform(fields, values, new DataView(this.staging), offset);
    this.offset = alignTo(offset + bytes, align);
    return offset;
  }

  /** Ends the pass, uploads this batch's uniforms and submits everything recorded. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.offset > 0) this.gpu.queue.writeBuffer(this.uniforms, 0, this.staging, 0, this.offset);
    this.gpu.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.offset = 0;
    for (const f of this.afterSubmit.splice(0)) f();
  }

  /**
   * Runs f once what is recorded now has been submitted (at once when nothing is): a texture that
   * recorded commands use may be destroyed only then.
   */
  whenSubmitted(f: () => void): void {
    if (this.encoder) this.afterSubmit.push(f);
    else f();
  }

  /** Drops what was recorded and frees the ring. */
  destroy(): void {
    this.pass = null;
    this.encoder = null; // what was recorded is dropped, so what waited for it can go
    for (const f of this.afterSubmit.splice(0)) f();
    this.uniforms.destroy();
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
