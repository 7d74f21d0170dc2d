/**
 * Host side of shaders/pool.wgsl: max and average pooling of NHWC images with their backward
 * passes. Max pooling returns the index in x of each value it took (the backward pass sends the
 * gradient there, as PyTorch's indices do).
 */
import type { Tensor } from '../gpu/tensor.js';
import { type Window, type WindowOptions, windowOf } from './conv.js';
import { dispatchLinear, output, requireDType, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** Pooling windows: the stride defaults to the window size (PyTorch's MaxPool2d and AvgPool2d). */
export function poolWindow(shape: readonly number[], options: WindowOptions, op: string): Window {
  return windowOf(shape, { ...options, stride: options.stride ?? options.kernel }, op);
}

/** y [n, oh, ow, c], and argmax: the linear index in x of each maximum. */
export function maxPool(x: F32, options: WindowOptions, out: { y?: F32; argmax?: Tensor<'u32'> } = {}): { y: F32; argmax: Tensor<'u32'>; window: Window } {
  requireDType('maxPool', 'x', x, 'f32');
  const g = poolWindow(x.shape, options, 'maxPool');
  const y = output(x.device, [g.n, g.oh, g.ow, g.c], 'f32', out.y, 'maxPool');
  const argmax = output(x.device, [g.n, g.oh, g.ow, g.c], 'u32', out.argmax, 'maxPool');
  dispatchLinear(x.device, 'pool', 'max_forward', { g, x, y, argmax }, y.size);
  return { y, argmax, window: g };
}

/** dx [n, h, w, c]: each input element gets the dy of the windows whose maximum it was. */
export function maxPoolBackward(dy: F32, argmax: Tensor<'u32'>, g: Window, out?: F32): F32 {
  requireShape('maxPoolBackward', 'dy', dy, [g.n, g.oh, g.ow, g.c]);
  requireShape('maxPoolBackward', 'argmax', argmax, [g.n, g.oh, g.ow, g.c]);
  const dx = output(dy.device, [g.n, g.h, g.w, g.c], 'f32', out, 'maxPoolBackward');
  dispatchLinear(dy.device, 'pool', 'max_backward', { g, dy, dx, taken: argmax }, dx.size);
  return dx;
}

/** y [n, oh, ow, c]: window sums over kh * kw (padding counts as zeros). */
export function avgPool(x: F32, options: WindowOptions, out?: F32): { y: F32; window: Window } {
  requireDType('avgPool', 'x', x, 'f32');
  const g = poolWindow(x.shape, options, 'avgPool');
  const y = output(x.device, [g.n, g.oh, g.ow, g.c], 'f32', out, 'avgPool');
  dispatchLinear(x.device, 'pool', 'avg_forward', { g, x, y }, y.size);
  return { y, window: g };
}

/** dx [n, h, w, c]: each input element gets dy / (kh * kw) of every window that contains it. */
export function avgPoolBackward(dy: F32, g: Window, out?: F32): F32 {
  requireShape('avgPoolBackward', 'dy', dy, [g.n, g.oh, g.ow, g.c]);
  const dx = output(dy.device, [g.n, g.h, g.w, g.c], 'f32', out, 'avgPoolBackward');
  dispatchLinear(dy.device, 'pool', 'avg_backward', { g, dy, dx }, dx.size);
  return dx;
}
