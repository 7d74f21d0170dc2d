/** Host side of shaders/gemm.wgsl: C = act(alpha * op(A) * op(B) + beta * C + bias). */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { TEXTURE_ROW, type Kernel } from '../gpu/kernel.js';
import { SHADERS } from '../gpu/shaders.generated.js';
import { output, placeholder, requireMatrices, requireShape, rowQuads } from './launch.js';
import { reduce } from './reduce.js';
import { gemmSplitK, useSplitK } from './splitk.js';

type F32 = Tensor<'f32'>;

/** Activation codes shared with the ACT and DACT overrides in shaders/gemm.wgsl. */
export const ACTIVATIONS = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;
export type Activation = keyof typeof ACTIVATIONS;

export const GEMM_VARIANTS = ['naive', 'tiled', 'tiled_b4', 'mat_nn', 'mat_tn', 'mat_nt'] as const;
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
  /**
   * Also write the column sums of op(B) here, [N]: a layer's bias gradient beside its weight
   * gradient (A^T B with B its deltas). Fused into mat_tn, tiled and tiled_b4; a reduction
   * after the others.
   */
  columnSums?: F32;
  /** Force a kernel version (tests and benchmarks); default picks the fastest that applies. */
  variant?: GemmVariant | 'auto';
}

const TM = 8;
const TN = 4;
const WG = 8;
/** Rows and columns of C per invocation in the gemm_mat_* versions. */
const MAT_ROWS = 16;
const MAT_COLS = 8;
/** The versions that can write op(B)'s column sums as they go (HAS_SUMS), by their binding. */
const SUMS_BINDING: Partial<Record<GemmVariant, string>> = { mat_tn: 'sums4', tiled: 'sums', tiled_b4: 'sums' };
/** Outputs below which a GPU runs the naive version: 256 workgroups of 64 x 32 (see autoVariant). */
const GPU_NAIVE_BELOW = 256 * 64 * 32;

/**
 * The versions whose layout requirements hold for this problem, fastest first (on llvmpipe,
 * bench/RESULTS.md). The mat versions read A and B as textures, so each must fit one:
 * textureElements is the most f32 values a texture binding holds (4 x 1024 x
 * maxTextureDimension2D; the default is WebGPU's compatibility-level minimum).
 */
export function applicableVariants(M: number, N: number, K: number, transA: boolean, transB: boolean, textureElements = 4 * TEXTURE_ROW * 4096): GemmVariant[] {
  const v: GemmVariant[] = [];
  const fit = M * K <= textureElements && K * N <= textureElements;
  if (fit && !transA && !transB && K % 4 === 0 && N % 4 === 0) v.push('mat_nn');
  if (fit && transA && !transB && M % 4 === 0 && N % 4 === 0) v.push('mat_tn');
  if (fit && !transA && transB && K % 4 === 0 && N % 4 === 0) v.push('mat_nt');
  if (!transB && N % 4 === 0) v.push('tiled_b4');
  v.push('tiled', 'naive');
  return v;
}

/**
 * The version 'auto' runs: the fastest that applies (measured on CPU adapters, bench/RESULTS.md).
 * On a GPU the blocked versions leave most of the chip idle when they make few workgroups; there
 * the naive kernel (one output per thread) is faster. On an H200 it beat an 8x4-blocked version
 * (64 x 32 outputs per workgroup) on every MLP shape (2 to 130 workgroups), tied at 128 and lost
 * at 512 (1024^3), so a GPU gets the naive version below 256 such workgroups' worth of outputs.
 */
export function autoVariant(M: number, N: number, K: number, transA: boolean, transB: boolean, gpu: boolean, textureElements?: number): GemmVariant {
  if (gpu && M * N < GPU_NAIVE_BELOW) return 'naive';
  return applicableVariants(M, N, K, transA, transB, textureElements)[0]!;
}

/** C = act(alpha * op(A) * op(B) + beta * C + bias). A, B, C are row-major 2D f32 tensors. */
export function gemm(a: F32, b: F32, options: GemmOptions = {}): F32 {
  const { transA = false, transB = false, alpha = 1, beta = 0, bias, activation = 'identity', variant = 'auto' } = options;
  requireMatrices('gemm', a, b);
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) throw new ShapeError(`gemm: op(A) is [${M}, ${K}] but op(B) is [${K2}, ${N}] (A [${a.shape}]${transA ? '^T' : ''}, B [${b.shape}]${transB ? '^T' : ''}); inner sizes must match.`);
  if (M < 1 || N < 1 || K < 1) throw new ShapeError(`gemm: M, N and K must be at least 1, got ${M}, ${N}, ${K}.`);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new InvalidArgumentError(`gemm: alpha and beta must be finite (${alpha}, ${beta}).`);
  if (beta !== 0 && !options.out) throw new InvalidArgumentError('gemm: beta != 0 scales the existing C, so pass it as out.');
  if (!(activation in ACTIVATIONS)) throw new InvalidArgumentError(`gemm: unknown activation '${activation}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
  if (bias) requireShape('gemm', 'bias', bias, [N]);
  if (options.columnSums) requireShape('gemm', 'columnSums', options.columnSums, [N]);
  const deriv = options.derivativeOf;
  if (deriv) {
    requireShape('gemm', 'derivativeOf.output', deriv.output, [M, N]);
    if (!(deriv.activation in ACTIVATIONS)) throw new InvalidArgumentError(`gemm: unknown activation '${deriv.activation}' in derivativeOf.`);
  }

  const device = a.device;
  // A GPU splits a small, deep A^T B along K (kernels/splitk.ts): a convolution's weight gradient.
  if (variant === 'auto' && alpha === 1 && beta === 0 && !bias && activation === 'identity' && !deriv && useSplitK(!device.cpuFallback, M, N, K, transA, transB))
    return gemmSplitK(a, b, { ...(options.out ? { out: options.out } : {}), ...(options.columnSums ? { columnSums: options.columnSums } : {}) });
  const c = output(device, [M, N], 'f32', options.out, 'gemm');
  const textureElements = 4 * TEXTURE_ROW * device.gpu.limits.maxTextureDimension2D;
  const usable = applicableVariants(M, N, K, transA, transB, textureElements);
  const chosen = variant === 'auto' ? autoVariant(M, N, K, transA, transB, !device.cpuFallback, textureElements) : variant;
  if (!usable.includes(chosen)) throw new InvalidArgumentError(`gemm: version ${chosen} does not apply to M=${M} N=${N} K=${K} transA=${transA} transB=${transB} (use ${usable.join(', ')}).`);

  const unused = placeholder(device, 'f32');
  const sumsBinding = SUMS_BINDING[chosen];
  const mat = chosen.startsWith('mat_'); // A and B as textures of vec4s, vec4 epilogue
  const vec4 = (name: string, yes: boolean) => (yes ? `${name}4` : name);
  const args = {
    p: {
      M,
      N,
      K,
      alpha,
      beta,
      a_m: transA ? 1 : K,
      a_k: transA ? M : 1,
      b_k: transB ? 1 : N,
      b_n: transB ? K : 1,
    },
    [mat ? 'ta' : 'a']: a,
    [mat ? 'tb' : vec4('b', chosen === 'tiled_b4')]: b,
    [vec4('bias', mat)]: bias ?? unused,
    [vec4('c', mat)]: c,
    [vec4('y', mat)]: deriv?.output ?? unused,
    ...(sumsBinding ? { [sumsBinding]: options.columnSums ?? placeholder(device, 'f32', 1) } : {}),
  };
  const fusedSums = sumsBinding !== undefined && options.columnSums !== undefined;
  // Only mat_nn reads ROW_QUADS; the others keep one pipeline for every M.
  const quads = chosen === 'mat_nn' ? rowQuads(M, MAT_ROWS) : MAT_ROWS / 4;
  const [rows, cols] = chosen === 'naive' ? [1, 1] : mat ? [MAT_ROWS, MAT_COLS] : [TM, TN];
  const rowBlocks = Math.ceil(M / rows),
    colBlocks = Math.ceil(N / cols);
  // On a GPU, x stays along N: neighbouring threads then read neighbouring columns of B (and the
  // rule was measured on CPU adapters only).
  const alongX = device.cpuFallback && chosen !== 'naive' && rowsAlongX(rowBlocks, colBlocks);
  const overrides = {
    ACT: ACTIVATIONS[activation],
    DACT: deriv ? ACTIVATIONS[deriv.activation] : 0,
    HAS_BIAS: bias !== undefined,
    HAS_BETA: beta !== 0,
    ROWS_ALONG_X: alongX,
    ROW_QUADS: quads,
    HAS_SUMS: fusedSums,
  };
  const groups = [Math.ceil(colBlocks / WG), Math.ceil(rowBlocks / WG)]; // gemm.wgsl: block_of
  device.dispatch(gemmKernel(device), `gemm_${chosen}`, args, groups, overrides);
  if (options.columnSums && !fusedSums) reduce(b, 'sum', transB ? 'rows' : 'cols', options.columnSums);
  return c;
}

/**
 * Whether the blocked versions should run their lanes (a workgroup's x: the 8 lanes of a CPU
 * adapter's SIMD register) along the row blocks of C: when that leaves fewer of the lanes idle
 * than along the column blocks. The 10-wide output layer of an MLP (3 blocks of 4 columns, 16 of
 * 8 rows) ran its three products 1.2-1.9x faster so on llvmpipe; ties keep them along the
 * columns. The workgroup grid runs along the columns either way (gemm.wgsl: block_of). CPU
 * adapters only.
 */
export function rowsAlongX(rowBlocks: number, colBlocks: number): boolean {
  const idle = (blocks: number) => (Math.ceil(blocks / WG) * WG - blocks) / (Math.ceil(blocks / WG) * WG);
  return idle(rowBlocks) < idle(colBlocks);
}

/** The WGSL feature the mat versions' read-only storage textures need. */
export const STORAGE_TEXTURE_FEATURE = 'readonly_and_readwrite_storage_textures';

/**
 * gemm.wgsl, whose mat versions read read-only storage textures, on llvmpipe: there they ran
 * 1.6-2x faster than sampled ones (bench/RESULTS.md). Elsewhere its sampled-texture form:
 * SwiftShader read storage textures slower (0.7-0.9x), GPUs are unmeasured, and some WGSL
 * compilers lack read-only storage textures.
 */
export function gemmKernel(device: Device): Kernel {
  if (device.llvmpipe && device.wgslFeatures.has(STORAGE_TEXTURE_FEATURE)) return device.kernel('gemm');
  return device.kernel('gemm-sampled', sampledTextures(SHADERS.gemm));
}

/**
 * gemm.wgsl with ta and tb as texture_2d<f32>, read at mip level 0: the same texels through the
 * sampled-texture path, which every WebGPU implementation has (slower on llvmpipe, see gemm.wgsl).
 */
export function sampledTextures(source: string): string {
  const storage = 'texture_storage_2d<rgba32float, read>';
  const load = 'textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW))';
  if (source.split(storage).length !== 5 || !source.includes(load)) throw new Error('gemm.wgsl changed: update sampledTextures (four texture_storage_2d uses and texel() expected).');
  return source.replaceAll(storage, 'texture_2d<f32>').replace(load, 'textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW), 0)');
}
