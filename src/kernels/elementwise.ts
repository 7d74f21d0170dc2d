/** Host side of shaders/elementwise.wgsl: add, sub, mul, scale, fill, copy (vec4 paths when the length is a multiple of 4). */
import { InvalidArgumentError } from '../errors.js';
import type { KernelArgs } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { dispatchLinear, output, requireDType, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

function run(entry: string, out: F32, inputs: { a?: F32; b?: F32 }, alpha = 1, value = 0, offset = 0, count = out.size): F32 {
  const vec = count % 4 === 0 && offset % 4 === 0;
  const n = vec ? count / 4 : count;
  const suffix = vec ? '4' : '';
  const args: KernelArgs = { p: { n, alpha, value, offset: vec ? offset / 4 : offset }, [`out${suffix}`]: out };
  if (inputs.a) args[`a${suffix}`] = inputs.a;
  if (inputs.b) args[`b${suffix}`] = inputs.b;
  dispatchLinear(out.device, 'elementwise', entry + suffix, args, n);
  return out;
}

function binary(op: 'add' | 'sub' | 'mul', a: F32, b: F32, out?: F32): F32 {
  requireDType(op, 'a', a, 'f32');
  requireShape(op, 'b', b, a.shape);
  return run(op, output(a.device, a.shape, 'f32', out, op), { a, b });
}

/** out = a + b (same shapes). */
export const add = (a: F32, b: F32, out?: F32): F32 => binary('add', a, b, out);
/** out = a - b (same shapes). */
export const sub = (a: F32, b: F32, out?: F32): F32 => binary('sub', a, b, out);
/** out = a * b, elementwise (same shapes). */
export const mul = (a: F32, b: F32, out?: F32): F32 => binary('mul', a, b, out);

/** out = alpha * a. */
export function scale(a: F32, alpha: number, out?: F32): F32 {
  requireDType('scale', 'a', a, 'f32');
  if (!Number.isFinite(alpha)) throw new InvalidArgumentError(`scale: alpha must be finite, got ${alpha}.`);
  return run('scale', output(a.device, a.shape, 'f32', out, 'scale'), { a }, alpha);
}

/** out = a (a new tensor unless out is given). */
export function copy(a: F32, out?: F32): F32 {
  requireDType('copy', 'a', a, 'f32');
  return run('copy', output(a.device, a.shape, 'f32', out, 'copy'), { a });
}

/** Copies all of a into out starting at element `offset` of out (row blocks of a bigger tensor). */
export function copyInto(a: F32, out: F32, offset: number): F32 {
  requireDType('copyInto', 'a', a, 'f32');
  requireDType('copyInto', 'out', out, 'f32');
  if (!Number.isInteger(offset) || offset < 0 || offset + a.size > out.size) throw new InvalidArgumentError(`copyInto: ${a.size} elements at offset ${offset} do not fit ${out.size}.`);
  return run('copy', out, { a }, 1, 0, offset, a.size);
}

/** Sets every element of t to value (in place; NaN is allowed, tests poison with it); returns t. */
export function fill(t: F32, value: number): F32 {
  requireDType('fill', 't', t, 'f32');
  return run('fill', t, {}, 1, value);
}
