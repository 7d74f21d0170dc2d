/** Host side of shaders/sign.wgsl: binary and ternary weights with per-channel alpha. */
import { grid } from '../gpu/grid.js';
import type { Tensor } from '../gpu/tensor.js';
import { linearWorkgroup, output, placeholder, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

export interface SignQuantized {
  /** The binary or ternary weights [rows, cols]: +-alpha (and 0 for ternary and pruned weights). */
  out: F32;
  /** Per channel (columns) or one: alpha. */
  alpha: F32;
}

/** Binarizes (XNOR-Net) or ternarizes (TWN) w [rows, cols]; pruned weights (mask 0) stay 0. */
export function signQuantize(w: F32, options: { ternary: boolean; perChannel: boolean; mask?: F32; out?: F32 }): SignQuantized {
  requireRank('signQuantize', 'w', w, 2);
  if (options.mask) requireShape('signQuantize', 'mask', options.mask, w.shape);
  const device = w.device;
  const [rows, cols] = w.shape as [number, number];
  const channels = options.perChannel ? cols : 1;
  const alpha = device.empty([channels]);
  const delta = device.empty([channels]);
  const out = output(device, w.shape, 'f32', options.out, 'signQuantize');
  const p = { rows, cols, per_channel: options.perChannel ? 1 : 0, ternary: options.ternary ? 1 : 0 };
  const mask = options.mask ?? placeholder(device, 'f32');
  const overrides = { HAS_MASK: options.mask !== undefined };
  device.dispatch(device.kernel('sign'), 'alpha_of', { p, w, mask, alpha, delta }, [Math.ceil(channels / 64)], { ...overrides, WG: 64 });
  const wg = linearWorkgroup(device);
  device.dispatch(device.kernel('sign'), 'apply', { p, w, mask, alpha_r: alpha, delta_r: delta, out }, grid(Math.ceil((rows * cols) / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension), {
    ...overrides,
    WG: wg,
  });
  delta.dispose();
  return { out, alpha };
}
