/**
 * Moving tensor data: uploads (queue.writeBuffer, after the work recorded so far is submitted),
 * copies on the GPU (recorded in order), and read-back through a staging buffer, the only point
 * where the host waits for the GPU.
 */
import { ShapeError } from '../errors.js';
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
    const staging = this.gpu.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.recorder.copies().copyBufferToBuffer(tensor.buffer, 0, staging, 0, bytes);
    this.recorder.flush();
    try {
      await this.health.untilLost(staging.mapAsync(GPUMapMode.READ));
      await this.health.settle();
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      return typedArrayFor(tensor.dtype, copy, tensor.size);
    } finally {
      staging.destroy();
    }
  }

  async sync(): Promise<void> {
    this.recorder.flush();
    await this.health.settle();
    await this.health.untilLost(this.gpu.queue.onSubmittedWorkDone());
    await this.health.settle();
  }
}
