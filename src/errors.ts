/**
 * Every error shrinkray raises on purpose is a ShrinkrayError, so callers can tell ours from
 * bugs. Each subclass names what went wrong; each message says what to do about it.
 */
export class ShrinkrayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No WebGPU adapter could be found (or the one asked for is missing). */
export class NoAdapterError extends ShrinkrayError {}

/** The GPU device was lost (driver reset, out of memory, destroyed). Create a new device. */
export class DeviceLostError extends ShrinkrayError {}

/** WebGPU reported a validation or out-of-memory error that was not caught where it happened. */
export class GpuError extends ShrinkrayError {}

/** WGSL failed to compile; the message carries the compiler's messages with line numbers. */
export class ShaderCompileError extends ShrinkrayError {}

/** Arguments passed to a kernel do not match its WGSL bindings. */
export class KernelArgumentError extends ShrinkrayError {}

/** Tensor shapes that do not fit together. */
export class ShapeError extends ShrinkrayError {}

/** A request beyond a device limit (buffer size, workgroups). */
export class LimitError extends ShrinkrayError {}

/** An option or value outside its allowed range (NaN, negative sizes, unknown names). */
export class InvalidArgumentError extends ShrinkrayError {}

/** A tensor was used after dispose(). */
export class DisposedError extends ShrinkrayError {}

/** A file that cannot be read or written as asked: missing folder, not a regular file, no permission, an input given as output. */
export class FileError extends ShrinkrayError {}

/** A data file that is truncated, corrupt or not of the expected format. */
export class DataFormatError extends ShrinkrayError {}

/** An optional package a feature needs is not installed (MNIST's data, the report's chart libraries); the message says how to get it. */
export class MissingPackageError extends ShrinkrayError {}

/** Training stopped because the loss stopped being finite; the model keeps the last good weights. */
export class TrainingDivergedError extends ShrinkrayError {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
  }
}
