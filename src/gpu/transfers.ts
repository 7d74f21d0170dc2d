/**
 * Moving tensor data: uploads (queue.writeBuffer, after the work recorded so far is submitted),
 * copies on the GPU (recorded in order), and read-back through a staging buffer, the only point
 * where the host waits for the GPU.
 */
import { ShapeError } from '../errors.js';
import type { BufferPool } from './buffer-pool.js';
import type { DeviceHealth } from './health.js';
import type { Recorder } from './recorder.js';
import { dtypeOf, typedArrayFor, type DType, type Tensor, type TypedArrayFor } from './tensor.js';
import type { WriteStamps } from './write-stamps.js';

export class Transfers {
  constructor(
    private readonly gpu: GPUDevice,
    private readonly recorder: Recorder,
    private readonly health: DeviceHealth,
    private readonly stamps: WriteStamps,
    private readonly pool: BufferPool,
  ) {}

  /** Records a copy of `from`'s bytes into `to`, after all work recorded before it. */
  copy(from: Tensor, to: Tensor): void {
    const source = from.buffer; // throws DisposedError for a disposed tensor
    if (from.byteLength > 0) this.recorder.copies().copyBufferToBuffer(source, 0, to.buffer, 0, from.byteLength);
    this.stamps.touch(to.buffer);
  }

  write<D extends DType>(tensor: Tensor<D>, data: TypedArrayFor<D>): void {
    this.health.check();
    if (data.length !== tensor.size) throw new ShapeError(`write: ${data.length} values for a tensor of ${tensor.size} elements.`);
    if (dtypeOf(data) !== tensor.dtype) throw new ShapeError(`write: ${dtypeOf(data)} data into a ${tensor.dtype} tensor.`);
    this.recorder.flush(); // queue.writeBuffer runs before commands still in the encoder: submit those first
    if (data.length > 0) this.gpu.queue.writeBuffer(tensor.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.stamps.touch(tensor.buffer);
  }

  async read<D extends DType>(tensor: Tensor<D>): Promise<TypedArrayFor<D>> {
    await this.health.settle();
    const bytes = tensor.byteLength;
    if (bytes === 0) return typedArrayFor(tensor.dtype, new ArrayBuffer(0), 0);
    const staging = this.pool.acquireStaging(bytes);
    this.recorder.copies().copyBufferToBuffer(tensor.buffer, 0, staging, 0, bytes);
    this.recorder.flush();
    let reusable = false;
    try {
      await this.health.untilLost(staging.mapAsync(GPUMapMode.READ, 0, bytes));
      await this.health.settle();
      const copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      reusable = true;
      return typedArrayFor(tensor.dtype, copy, tensor.size);
    } finally {
      if (reusable) this.pool.releaseStaging(staging);
      else staging.destroy(); // possibly still mapped, or the device is gone
    }
  }

  async sync(): Promise<void> {
    this.recorder.flush();
    await this.health.settle();
    await this.health.untilLost(this.gpu.queue.onSubmittedWorkDone());
    await this.health.settle();
  }
}
