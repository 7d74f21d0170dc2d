/** shrinkray: train, compress and validate neural networks with WGSL compute shaders on WebGPU. */
export * from './errors.js';
export { createDevice, Device, type CreateDeviceOptions, type DeviceDescription } from './gpu/device.js';
export { formatDescription } from './gpu/describe.js';
export { BACKENDS, type Backend } from './gpu/backend.js';
export { Tensor, type DType } from './gpu/tensor.js';
export { Kernel, type KernelArgs, type Overrides, type UniformValues } from './gpu/kernel.js';
export type { MemoryStats } from './gpu/buffer-pool.js';
export { add, sub, mul, scale, copy, fill } from './kernels/elementwise.js';
export { reduce, sum, min, max, type ReduceOp, type ReduceAxis } from './kernels/reduce.js';
export { gemm, ACTIVATIONS, GEMM_VARIANTS, type Activation, type GemmOptions, type GemmVariant } from './kernels/gemm.js';
export { transpose } from './kernels/transpose.js';
export { gatherRows } from './kernels/gather.js';
export { Random } from './random.js';
