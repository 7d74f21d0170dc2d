/**
 * Write stamps: a clock value per buffer, advanced whenever the buffer may have been written
 * through the device (a read_write binding, write(), a copy into it, a new allocation). Caches of
 * values derived from a tensor (padded or sparse inference weights) compare stamps to know they
 * are current.
 */
export class WriteStamps {
  private readonly stamps = new WeakMap<GPUBuffer, number>();
  private clock = 0;

  touch(buffer: GPUBuffer): void {
    this.stamps.set(buffer, ++this.clock);
  }

  of(buffer: GPUBuffer): number {
    return this.stamps.get(buffer) ?? 0;
  }
}
