/** Host side of shaders/gemm.wgsl: C = act(alpha * op(A) * op(B) + beta * C + bias). */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { output, placeholder, requireDType, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** Activation codes shared with Params.act in shaders/gemm.wgsl. */
export const ACTIVATIONS = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;
export type Activation = keyof typeof ACTIVATIONS;

export const GEMM_VARIANTS = ['naive', 'tiled', 'tiled_b4', 'tiled_ab4', 'tiled_k4', 'tiled_tn4'] as const;
export type GemmVariant = (typeof GEMM_VARIANTS)[number];

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** Scales the existing contents of `out`; non-zero needs `out`. */
  beta?: number;
  /** [N] values added to every row before the activation. */
  bias?: F32;
  activation?: Activation;
  /**
   * Backpropagation: multiply the result elementwise by f'(z) of `activation`, computed from
   * `output` [M, N] = f(z) (a layer's stored outputs).
   */
  derivativeOf?: { activation: Activation; output: F32 };
  /** Result tensor [M, N]; allocated when absent. */
  out?: F32;
  /** Force a kernel version (tests and benchmarks); default picks the fastest that applies. */
  variant?: GemmVariant | 'auto';
}

const TM = 8;
const TN = 4;
const WG = 8;

/** The versions whose layout requirements hold for this problem, fastest first. */
export function applicableVariants(M: number, N: number, K: number, transA: boolean, transB: boolean): GemmVariant[] {
  const v: GemmVariant[] = [];
  if (!transA && transB && K % 4 === 0) v.push('tiled_k4');
  if (!transA && !transB && K % 4 === 0 && N % 4 === 0) v.push('tiled_ab4');
  if (transA && !transB && M % 4 === 0 && N % 4 === 0) v.push('tiled_tn4');
  if (!transB && N % 4 === 0) v.push('tiled_b4');
  v.push('tiled', 'naive');
  return v;
}

/**
 * The version 'auto' runs: the fastest that applies (measured on CPU adapters, bench/RESULTS.md).
 * On a GPU the blocked versions (64 x 32 outputs per workgroup) leave most of the chip idle when
 * they make few workgroups; there the naive kernel (one output per thread) is faster. On an H200
 * it won on every MLP shape (2 to 130 workgroups), tied at 128 and lost at 512 (1024^3), so
 * below 256 workgroups a GPU gets the naive version.
 */
export function autoVariant(M: number, N: number, K: number, transA: boolean, transB: boolean, gpu: boolean): GemmVariant {
  if (gpu && Math.ceil(M / (TM * WG)) * Math.ceil(N / (TN * WG)) < 256) return 'naive';
  return applicableVariants(M, N, K, transA, transB)[0]!;
}

/** C = act(alpha * op(A) * op(B) + beta * C + bias). A, B, C are row-major 2D f32 tensors. */
export function gemm(a: F32, b: F32, options: GemmOptions = {}): F32 {
  const { transA = false, transB = false, alpha = 1, beta = 0, bias, activation = 'identity', variant = 'auto' } = options;
  requireRank('gemm', 'A', a, 2);
  requireRank('gemm', 'B', b, 2);
  requireDType('gemm', 'A', a, 'f32');
  requireDType('gemm', 'B', b, 'f32');
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2)
    throw new ShapeError(
      `gemm: op(A) is [${M}, ${K}] but op(B) is [${K2}, ${N}] (A [${a.shape}]${transA ? '^T' : ''}, B [${b.shape}]${transB ? '^T' : ''}); inner sizes must match.`,
    );
  if (M < 1 || N < 1 || K < 1) throw new ShapeError(`gemm: M, N and K must be at least 1, got ${M}, ${N}, ${K}.`);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new InvalidArgumentError(`gemm: alpha and beta must be finite (${alpha}, ${beta}).`);
  if (beta !== 0 && !options.out) throw new InvalidArgumentError('gemm: beta != 0 scales the existing C, so pass it as out.');
  if (!(activation in ACTIVATIONS)) throw new InvalidArgumentError(`gemm: unknown activation '${activation}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
  if (bias) requireShape('gemm', 'bias', bias, [N]);
  const deriv = options.derivativeOf;
  if (deriv) {
    requireShape('gemm', 'derivativeOf.output', deriv.output, [M, N]);
    if (!(deriv.activation in ACTIVATIONS)) throw new InvalidArgumentError(`gemm: unknown activation '${deriv.activation}' in derivativeOf.`);
  }

  const device = a.device;
  const c = output(device, [M, N], 'f32', options.out, 'gemm');
  const usable = applicableVariants(M, N, K, transA, transB);
  const chosen = variant === 'auto' ? autoVariant(M, N, K, transA, transB, !device.cpuFallback) : variant;
  if (!usable.includes(chosen))
    throw new InvalidArgumentError(`gemm: version ${chosen} does not apply to M=${M} N=${N} K=${K} transA=${transA} transB=${transB} (use ${usable.join(', ')}).`);

  const unused = placeholder(device, 'f32');
  const aVec = chosen === 'tiled_k4' || chosen === 'tiled_ab4' || chosen === 'tiled_tn4';
  const bVec = aVec || chosen === 'tiled_b4';
  const args = {
    p: {
      M, N, K, alpha, beta,
      a_m: transA ? 1 : K, a_k: transA ? M : 1,
      b_k: transB ? 1 : N, b_n: transB ? K : 1,
      has_bias: bias ? 1 : 0, act: ACTIVATIONS[activation],
      dact: deriv ? ACTIVATIONS[deriv.activation] : 0,
    },
    [aVec ? 'a4' : 'a']: a,
    [bVec ? 'b4' : 'b']: b,
    bias: bias ?? unused,
    c,
    y: deriv?.output ?? unused,
  };
  const groups =
    chosen === 'naive'
      ? [Math.ceil(N / WG), Math.ceil(M / WG)]
      : [Math.ceil(Math.ceil(N / TN) / WG), Math.ceil(Math.ceil(M / TM) / WG)];
  device.dispatch(device.kernel('gemm'), `gemm_${chosen}`, args, groups);
  return c;
}
