/**
 * Read-back (MAP_READ) buffers kept for reuse by size class: on Dawn's OpenGL backend creating and
 * destroying one per read made most of a read's cost (40 KB read back in 0.35 ms median with a new
 * buffer, 0.23 with a kept one, on llvmpipe; bench/RESULTS.md). Free buffers are kept up to
 * POOLED_BYTES in all.
 */
import { sizeClass } from './buffer-pool.js';

const POOLED_BYTES = 16 * 1024 * 1024;

export class StagingPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooled = 0;

  constructor(private readonly gpu: GPUDevice) {}

  /** An unmapped buffer of at least `bytes` that the GPU can copy into and the host map for reading. */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const buffer = this.free.get(size)?.pop();
    if (buffer) {
      this.pooled -= size;
      return buffer;
    }
    return this.gpu.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `shrinkray-staging-${size}` });
  }

  /** Takes back an unmapped buffer from acquire (destroyed when the pool is full). */
  release(buffer: GPUBuffer): void {
    if (this.pooled + buffer.size > POOLED_BYTES) {
      buffer.destroy();
      return;
    }
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooled += buffer.size;
  }

  /** Destroys the free buffers. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
  }
}
