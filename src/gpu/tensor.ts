import { DisposedError, InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from './device.js';

export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint32Array;

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`Shape [${shape.join(', ')}] must hold non-negative integers.`);
    n *= d;
  }
  return n;
}

export function dtypeOf(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint32Array) return 'u32';
  throw new InvalidArgumentError('Tensor data must be a Float32Array, Int32Array or Uint32Array.');
}

export function typedArrayFor<D extends DType>(dtype: D, buffer: ArrayBuffer, length: number): TypedArrayFor<D> {
  const C = dtype === 'f32' ? Float32Array : dtype === 'i32' ? Int32Array : Uint32Array;
  return new C(buffer, 0, length) as TypedArrayFor<D>;
}

/**
 * A dense, row-major array on the GPU. Four bytes per element; the buffer comes from the
 * device's pool and goes back to it on dispose().
 */
export class Tensor<D extends DType = DType> {
  readonly size: number;
  private _buffer: GPUBuffer | null;

  constructor(
    readonly device: Device,
    readonly shape: readonly number[],
    readonly dtype: D,
    buffer: GPUBuffer,
  ) {
    this.size = elementCount(shape);
    this._buffer = buffer;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get disposed(): boolean {
    return this._buffer === null;
  }

  /** The GPU buffer; it may be larger than byteLength (pool size classes). */
  get buffer(): GPUBuffer {
    if (!this._buffer) throw new DisposedError(`A ${this.dtype} tensor [${this.shape.join(', ')}] was used after dispose().`);
    return this._buffer;
  }

  /** Copies the contents back to the CPU. This is a sync point: pending GPU work is submitted. */
  read(): Promise<TypedArrayFor<D>> {
    return this.device.read(this);
  }

  /** Replaces the contents (same element count). */
  write(data: TypedArrayFor<D>): void {
    this.device.write(this, data);
  }

  /** A view with another shape of the same element count, sharing the buffer (not owning it). */
  reshape(shape: readonly number[]): Tensor<D> {
    if (elementCount(shape) !== this.size) throw new ShapeError(`Cannot reshape [${this.shape.join(', ')}] (${this.size} elements) to [${shape.join(', ')}].`);
    return new TensorView(this, shape);
  }

  /** Returns the buffer to the pool. Safe to call twice. */
  dispose(): void {
    if (!this._buffer) return;
    this.device.releaseBuffer(this._buffer);
    this._buffer = null;
  }
}

/** A reshaped alias: disposing it does nothing; the owner's lifetime rules. */
class TensorView<D extends DType> extends Tensor<D> {
  constructor(
    private readonly owner: Tensor<D>,
    shape: readonly number[],
  ) {
    super(owner.device, shape, owner.dtype, owner.buffer);
  }
  override get buffer(): GPUBuffer {
    return this.owner.buffer;
  }
  override get disposed(): boolean {
    return this.owner.disposed;
  }
  override dispose(): void {}
}
