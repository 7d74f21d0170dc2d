/**
 * A dataset uploaded to the GPU once; mini-batches are gathered there from an index tensor, so no
 * features cross the bus per batch. Features stay packed as bytes when the dataset has them.
 */
import { LimitError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { gatherBytes, gatherLabels, gatherRows } from '../kernels/gather.js';
import { validateDataset, type Dataset } from './dataset.js';

export class GpuDataset {
  readonly rows: number;
  readonly cols: number;
  private readonly features?: Tensor<'f32'>;
  private readonly packed?: Tensor<'u32'>;
  readonly labels?: Tensor<'i32'>;
  readonly targets?: Tensor<'f32'>;
  readonly targetCols: number;

  constructor(
    readonly device: Device,
    readonly data: Dataset,
  ) {
    validateDataset(data);
    this.rows = data.rows;
    this.cols = data.cols;
    this.targetCols = data.targetCols ?? 0;
    const limit = device.gpu.limits.maxStorageBufferBindingSize;
    const usePacked = !!data.bytes && data.cols % 4 === 0;
    const bytes = usePacked ? data.rows * data.cols : data.rows * data.cols * 4;
    if (bytes > limit)
      throw new LimitError(
        `The dataset's features need ${bytes} bytes on the GPU, over maxStorageBufferBindingSize (${limit}). ` +
          `Train on fewer rows${usePacked ? '' : ', or give byte features (Dataset.bytes) to store them 4x smaller'}.`,
      );
    if (usePacked) {
      const b = data.bytes!;
      this.packed = device.tensor(new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), [data.rows, data.cols / 4]);
    } else this.features = device.tensor(data.features, [data.rows, data.cols]);
    if (data.labels) this.labels = device.tensor(data.labels);
    if (data.targets) this.targets = device.tensor(data.targets, [data.rows, this.targetCols]);
  }

  /** Gathers rows index[offset .. offset + x.rows) into x (and their labels or targets into y). */
  batch(index: Tensor<'u32'>, offset: number, x: Tensor<'f32'>, y: Tensor): void {
    const count = x.shape[0]!;
    // Packed images and their labels in one dispatch.
    const labels = this.labels ? { from: this.labels, out: y as Tensor<'i32'> } : undefined;
    if (this.packed) gatherBytes(this.packed, index, this.data.byteScale!, { offset, count, out: x, labels });
    else gatherRows(this.features!, index, { offset, count, out: x });
    if (this.labels && !this.packed) gatherLabels(this.labels, index, { offset, count, out: y as Tensor<'i32'> });
    else if (this.targets) gatherRows(this.targets, index, { offset, count, out: y as Tensor<'f32'> });
    // An unlabelled dataset (a distillation transfer set) has nothing more to gather.
  }

  /**
   * Visits `rows` (default all, in order) in batches of at most batchSize: each visit gets the
   * batch gathered into x [count, cols] and y (labels or targets), and the batch's first position
   * in `rows`. Tensors are reused across batches and freed at the end.
   */
  async forEachBatch(batchSize: number, visit: (x: Tensor<'f32'>, y: Tensor, offset: number) => void | Promise<void>, rows?: ArrayLike<number>): Promise<void> {
    const order = rows ? Uint32Array.from(rows) : Uint32Array.from({ length: this.rows }, (_, i) => i);
    const index = this.device.tensor(order);
    const buffers = new Map<number, { x: Tensor<'f32'>; y: Tensor }>();
    try {
      for (let offset = 0; offset < order.length; offset += batchSize) {
        const count = Math.min(batchSize, order.length - offset);
        let b = buffers.get(count);
        if (!b) buffers.set(count, (b = { x: this.device.empty([count, this.cols]), y: this.targetTensor(count) }));
        this.batch(index, offset, b.x, b.y);
        await visit(b.x, b.y, offset);
      }
    } finally {
      index.dispose();
      for (const { x, y } of buffers.values()) x.dispose(), y.dispose();
    }
  }

  /** A tensor to receive a batch's labels ([count] i32) or targets ([count, k] f32); unlabelled data gets an unused [count] i32. */
  targetTensor(count: number): Tensor {
    return this.targets ? this.device.empty([count, this.targetCols]) : this.device.empty([count], 'i32');
  }

  dispose(): void {
    this.features?.dispose();
    this.packed?.dispose();
    this.labels?.dispose();
    this.targets?.dispose();
  }
}

/** The host rows of data given in either form. */
export function hostData(data: Dataset | GpuDataset): Dataset {
  return data instanceof GpuDataset ? data.data : data;
}

/** Data given in either form on the GPU, and whether the caller made it (and disposes it). */
export function onGpu(device: Device, data: Dataset | GpuDataset): { gpu: GpuDataset; owned: boolean } {
  return data instanceof GpuDataset ? { gpu: data, owned: false } : { gpu: new GpuDataset(device, data), owned: true };
}
