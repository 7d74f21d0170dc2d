/**
 * The inference kernels that read their operands as textures (sparse.wgsl, block-sparse.wgsl,
 * packed.wgsl), in the form the device reads fastest: read-only storage textures on llvmpipe,
 * sampled textures elsewhere (as gemm.ts: gemmKernel explains).
 */
import type { Device } from '../gpu/device.js';
import type { Kernel } from '../gpu/kernel.js';
import { SHADERS } from '../gpu/shaders.generated.js';
import { STORAGE_TEXTURE_FEATURE } from './gemm.js';

export function texturedKernel(device: Device, name: 'sparse' | 'block-sparse' | 'packed'): Kernel {
  if (device.llvmpipe && device.wgslFeatures.has(STORAGE_TEXTURE_FEATURE)) return device.kernel(name);
  return device.kernel(`${name}-sampled`, sampledSource(SHADERS[name]));
}

/** A kernel's source with its storage textures (f32 and u32) read as sampled textures, at mip level 0. */
export function sampledSource(source: string): string {
  return source
    .replaceAll('texture_storage_2d<rgba32float, read>', 'texture_2d<f32>')
    .replaceAll('texture_storage_2d<rgba32uint, read>', 'texture_2d<u32>')
    .replaceAll('textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW))', 'textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW), 0)');
}
