/** Names a user can give to force an adapter (option `backend` or env SHRINKRAY_BACKEND). */
export const BACKENDS = ['auto', 'hardware', 'llvmpipe', 'swiftshader'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Software rasterizers report themselves by name; WebGPU has no portable "is CPU" flag. */
export function isCpuAdapter(info: GPUAdapterInfo): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render/.test(text);
}
