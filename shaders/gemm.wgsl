// GEMM: C = act(alpha * op(A) * op(B) + beta * C + bias) * dact'(Y), op(X) = X or X^T.
// A is stored [M, K] (or [K, M] when transposed), B [K, N] (or [N, K] when transposed), C [M, N],
// all row-major and contiguous. bias has N elements (one per output column). The last factor is
// for backpropagation: Y [M, N] holds a layer's outputs y = f(z), and f'(z) is computed from y.
//
// Versions, each checked against the same float64 reference in test/gemm.test.ts and timed
// against each other in bench/gemm.bench.ts:
//   gemm_naive     one invocation per element of C. The baseline.
//   gemm_tiled     one invocation per 8x4 block of C, held in 8 vec4 registers; A and B read as
//                  scalars, any layout.
//   gemm_tiled_b4  the same with B read as vec4 along N (B not transposed, N % 4 == 0).
//   gemm_mat_nn    one invocation per 16x8 block of C, written as 4x4 matrix products (below),
//                  read from textures, stored as vec4 rows: C = A B with A as vec4 along K, B
//                  along N.
//   gemm_mat_tn    the same for C = A^T B (A^T as vec4 along M, B along N; M % 4 == 0).
//   gemm_mat_nt    the same for C = A B^T (A and B^T as vec4 along K).
//                  All three need N % 4 == 0, and K % 4 == 0 where A or B is read along K.
// Why these shapes: on CPU adapters (llvmpipe, SwiftShader) an invocation is one SIMD lane and
// workgroup memory with barriers costs more than it saves, so there is none; each loaded value
// is reused from registers instead. On llvmpipe a storage-buffer load costs about 25 multiply-adds
// (a loop over the lanes with a bounds check per component; bench/RESULTS.md), so the number of
// loads per multiply-add decides the speed: gemm_mat_* load 24 vec4 per 4 k for 512 multiply-adds
// (an 8x8 block: 16 for 256; 8x4: 12 for 128), and measured faster than 8x8 blocks on every MLP
// shape although their accumulators no longer fit in registers. They have no loops or arrays
// indexed by a variable inside the k loop: a register array indexed by a loop counter that the
// compiler leaves rolled becomes memory with a gather per access (unrolling alone made the 8x4
// block 1.5x faster).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  a_m: u32,     // op(A)[m, k] = a[m * a_m + k * a_k]
  a_k: u32,
  b_k: u32,     // op(B)[k, n] = b[k * b_k + n * b_n]
  b_n: u32,
  alpha: f32,
  beta: f32,
}

// The epilogue is fixed per pipeline, so each pipeline holds only the code it runs: a CPU
// adapter executes every side of a branch under a lane mask, even when the condition is uniform
// (computing tanh and exp for a relu layer, for instance).
override ACT: u32 = 0u;           // 0 identity, 1 relu, 2 tanh, 3 sigmoid (src/kernels/gemm.ts: ACTIVATIONS)
override DACT: u32 = 0u;          // the same codes: multiply by f'(z) of this activation, from y = f(z); 0 = none
override HAS_BIAS: bool = false;
override HAS_BETA: bool = false;  // beta != 0; otherwise C is never read, so a NaN there cannot leak in
// The blocked versions' grid runs x along the column blocks of C, or with this along the row
// blocks. A CPU adapter runs 8 invocations along x as the lanes of one SIMD register, so x should
// take the side that leaves fewer lanes idle (gemm.ts: rowsAlongX): a 10-wide output layer has
// three blocks of 4 columns, 5 of 8 lanes idle, but 16 blocks of 8 rows.
override ROWS_ALONG_X: bool = false;
override ROW_QUADS: u32 = 4u;  // mat_nn: quads of rows a block (all 4 but for a single short block)
override HAS_SUMS: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(5) var<storage, read> y: array<f32>;
@group(0) @binding(5) var<storage, read> y4: array<vec4f>;
// With HAS_SUMS, gemm_mat_tn, gemm_tiled and gemm_tiled_b4 also write the column sums of op(B),
// sums[n] = sum over k of op(B)[k, n] (a layer's bias gradient, when B holds its deltas), from
// the loads they make anyway: a separate reduction was one more dispatch per layer, about 70 us
// on llvmpipe. The invocations of the first block row store them.
@group(0) @binding(6) var<storage, read_write> sums: array<f32>;
@group(0) @binding(6) var<storage, read_write> sums4: array<vec4f>;
// The gemm_mat_* versions read A and B as textures: the runtime copies each tensor into an
// rgba32float texture, its vec4s in order, TEXTURE_ROW to a row (src/gpu/kernel.ts), and the
// copies run at memory speed. Read-only storage textures, not sampled ones: WebGPU's robustness
// clamps a sampled texture's mip level to a count read from a uniform, so llvmpipe fetches every
// texel through its per-lane mip-level path; an image load has no level and made these GEMMs
// 1.6-2x faster (bench/RESULTS.md). Other adapters (SwiftShader read storage textures 0.7-0.9x as
// fast) and compilers without read-only storage textures get these declarations and texel()
// rewritten to a texture_2d<f32> (gemm.ts: gemmKernel, sampledTextures).
@group(0) @binding(1) var ta: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var tb: texture_storage_2d<rgba32float, read>;
//! include _texel.wgsl
//! include _tanh.wgsl

const TM: u32 = 8u;   // rows of C per invocation
const TN: u32 = 4u;   // columns of C per invocation (one vec4)

fn activate(x: f32) -> f32 {
  return act(vec4f(x)).x;
}

// f'(z) written in terms of y = f(z), so backpropagation needs only the stored outputs.
fn derivative(yv: f32) -> f32 {
  return derivative4(vec4f(yv)).x;
}

fn derivative4(yv: vec4f) -> vec4f {
  switch DACT {
    case 1u: { return select(vec4f(0.0), vec4f(1.0), yv > vec4f(0.0)); }
    case 2u: { return 1.0 - yv * yv; }
    case 3u: { return yv * (1.0 - yv); }
    default: { return vec4f(1.0); }
  }
}

fn a_at(m: u32, k: u32) -> f32 {
  return a[m * p.a_m + k * p.a_k];
}

fn b_at(k: u32, n: u32) -> f32 {
  return b[k * p.b_k + n * p.b_n];
}

// (column block, row block) of C for this invocation. The workgroup grid runs along the column
// blocks (x) and the row blocks (y), so neighbouring workgroups share rows of A; the lanes (local
// x) run along the row blocks with ROWS_ALONG_X, else along the column blocks. llvmpipe hands each
// thread a contiguous run of workgroups: with the grid's x along the row blocks (as the lanes) and
// the columns' partly idle last workgroups in y, one thread got every full workgroup and a
// 1,024 x 784 x 72 product took as long as x 128.
fn block_of(wid: vec3u, lid: vec3u) -> vec2u {
  return wid.xy * 8u + select(lid.xy, lid.yx, ROWS_ALONG_X);
}

// Writes one element of C.
fn store(m: u32, n: u32, acc: f32) {
  let i = m * p.N + n;
  var v = p.alpha * acc;
  if (HAS_BETA) { v += p.beta * c[i]; }
  if (HAS_BIAS) { v += bias[n]; }
  v = activate(v);
  if (DACT != 0u) { v *= derivative(y[i]); }
  c[i] = v;
}

// Writes C[m, n0..n0+3] (N % 4 == 0): one vec4 store instead of four scalar ones.
fn store_row(m: u32, n0: u32, acc: vec4f) {
  if (m >= p.M || n0 >= p.N) { return; }
  let i = (m * p.N + n0) / 4u;
  var v = p.alpha * acc;
  if (HAS_BETA) { v += p.beta * c4[i]; }
  if (HAS_BIAS) { v += bias4[n0 / 4u]; }
  v = act(v);
  if (DACT != 0u) { v *= derivative4(y4[i]); }
  c4[i] = v;
}

@compute @workgroup_size(8, 8)
fn gemm_naive(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  if (m >= p.M || n >= p.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    acc += a_at(m, k) * b_at(k, n);
  }
  store(m, n, acc);
}

// acc[i] holds row m0 + i, columns n0..n0+3 of C.
fn store_block(acc: ptr<function, array<vec4f, 8>>, m0: u32, n0: u32) {
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= p.M) { return; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (n < p.N) { store(m, n, (*acc)[i][j]); }
    }
  }
}

// Rows and columns past the edge are clamped to the last valid one: their (discarded) sums cost
// the same as branching around them, and every load stays in bounds.
fn row_of(i: u32, m0: u32) -> u32 { return min(m0 + i, p.M - 1u); }
fn col_of(j: u32, n0: u32) -> u32 { return min(n0 + j, p.N - 1u); }

// Column sums of op(B) for columns n0..n0+3 (those below N), from the first block row.
fn store_sums(total: vec4f, m0: u32, n0: u32) {
  if (!HAS_SUMS || m0 != 0u) { return; }
  if (n0 < p.N) { sums[n0] = total.x; }
  if (n0 + 1u < p.N) { sums[n0 + 1u] = total.y; }
  if (n0 + 2u < p.N) { sums[n0 + 2u] = total.z; }
  if (n0 + 3u < p.N) { sums[n0 + 3u] = total.w; }
}

@compute @workgroup_size(8, 8)
fn gemm_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n0 = block_of(wid, lid).x * TN;
  let m0 = block_of(wid, lid).y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var acc: array<vec4f, 8>;
  var total = vec4f();
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4f(b_at(k, col_of(0u, n0)), b_at(k, col_of(1u, n0)), b_at(k, col_of(2u, n0)), b_at(k, col_of(3u, n0)));
    for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4f(a_at(row_of(i, m0), k)), bv, acc[i]); }
    if (HAS_SUMS) { total += bv; }
  }
  store_block(&acc, m0, n0);
  store_sums(total, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_b4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n0 = block_of(wid, lid).x * TN;
  let m0 = block_of(wid, lid).y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let col4 = n0 / 4u;
  var acc: array<vec4f, 8>;
  var total = vec4f();
  for (var k = 0u; k < p.K; k++) {
    let bv = b4[k * n4 + col4];
    for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4f(a_at(row_of(i, m0), k)), bv, acc[i]); }
    if (HAS_SUMS) { total += bv; }
  }
  store_block(&acc, m0, n0);
  store_sums(total, m0, n0);
}

// ---- 16x8 blocks as 4x4 matrix products ----
// With the rows of C as the columns of a mat4x4f ct (ct[i][j] = C[m0 + i, n0 + j]), one step of
// 4 k is ct += bm * am, where am[i] = (A[m0 + i, k..k+3]) and bm[r] = (B[k + r, n0..n0+3]):
// (bm * am)[i] = sum_r bm[r] * am[i][r]. Loads that come the other way round are transposed,
// which costs nothing on CPU adapters (registers are renamed). An invocation holds four row
// quads (am0..am3) by two column quads (bm0, bm1): c<row quad><column quad>.

// Constant indices only: a matrix indexed by a loop counter would be spilled and gathered.
fn store_mat(ct: mat4x4f, m0: u32, n0: u32) {
  store_row(m0, n0, ct[0]);
  store_row(m0 + 1u, n0, ct[1]);
  store_row(m0 + 2u, n0, ct[2]);
  store_row(m0 + 3u, n0, ct[3]);
}

fn store_block16(c00: mat4x4f, c01: mat4x4f, c10: mat4x4f, c11: mat4x4f, c20: mat4x4f, c21: mat4x4f, c30: mat4x4f, c31: mat4x4f, m0: u32, n0: u32) {
  store_mat(c00, m0, n0);
  store_mat(c01, m0, n0 + 4u);
  store_mat(c10, m0 + 4u, n0);
  store_mat(c11, m0 + 4u, n0 + 4u);
  store_mat(c20, m0 + 8u, n0);
  store_mat(c21, m0 + 8u, n0 + 4u);
  store_mat(c30, m0 + 12u, n0);
  store_mat(c31, m0 + 12u, n0 + 4u);
}

// One k of the product: ct[i] += bk * ak[i], where ak holds 4 values of op(A)'s column k and bk
// 4 of op(B)'s row k. (Names differ from the bindings': reflection does not see shadowing.)
fn outer(bk: vec4f, ak: vec4f) -> mat4x4f {
  return mat4x4f(bk * ak.x, bk * ak.y, bk * ak.z, bk * ak.w);
}

@compute @workgroup_size(8, 8)
fn gemm_mat_nn(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n0 = block_of(wid, lid).x * 8u;
  let m0 = block_of(wid, lid).y * 16u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let k4 = p.K / 4u;
  let q0 = min(n0 / 4u, n4 - 1u);
  let q1 = min(n0 / 4u + 1u, n4 - 1u);
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c10 = mat4x4f(); var c11 = mat4x4f();
  var c20 = mat4x4f(); var c21 = mat4x4f(); var c30 = mat4x4f(); var c31 = mat4x4f();
  for (var kk = 0u; kk < k4; kk++) {
    let b0 = kk * 4u * n4;
    let b1 = b0 + n4; let b2 = b1 + n4; let b3 = b2 + n4;
    let bm0 = mat4x4f(texel(tb, b0 + q0), texel(tb, b1 + q0), texel(tb, b2 + q0), texel(tb, b3 + q0));
    let bm1 = mat4x4f(texel(tb, b0 + q1), texel(tb, b1 + q1), texel(tb, b2 + q1), texel(tb, b3 + q1));
    let am0 = rows4(ta, m0, p.M, k4, kk);
    c00 += bm0 * am0; c01 += bm1 * am0;
    // Fewer row quads for a short A (ROW_QUADS: gemm.ts); a constant, so the branches fold away.
    if (ROW_QUADS > 1u) { let am1 = rows4(ta, m0 + 4u, p.M, k4, kk); c10 += bm0 * am1; c11 += bm1 * am1; }
    if (ROW_QUADS > 2u) { let am2 = rows4(ta, m0 + 8u, p.M, k4, kk); c20 += bm0 * am2; c21 += bm1 * am2; }
    if (ROW_QUADS > 3u) { let am3 = rows4(ta, m0 + 12u, p.M, k4, kk); c30 += bm0 * am3; c31 += bm1 * am3; }
  }
  store_block16(c00, c01, c10, c11, c20, c21, c30, c31, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_mat_tn(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n0 = block_of(wid, lid).x * 8u;
  let m0 = block_of(wid, lid).y * 16u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let m4 = p.M / 4u;
  let q0 = min(n0 / 4u, n4 - 1u);
  let q1 = min(n0 / 4u + 1u, n4 - 1u);
  // Rows m0..m0+15 of op(A) for one k are four vec4s of the stored A^T.
  let s0 = min(m0 / 4u, m4 - 1u); let s1 = min(m0 / 4u + 1u, m4 - 1u);
  let s2 = min(m0 / 4u + 2u, m4 - 1u); let s3 = min(m0 / 4u + 3u, m4 - 1u);
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c10 = mat4x4f(); var c11 = mat4x4f();
  var c20 = mat4x4f(); var c21 = mat4x4f(); var c30 = mat4x4f(); var c31 = mat4x4f();
  var sum0 = vec4f(); var sum1 = vec4f();  // column sums of B over columns n0..n0+3, n0+4..n0+7
  var k = 0u;
  for (; k + 3u < p.K; k += 4u) {
    let a0 = k * m4; let a1 = a0 + m4; let a2 = a1 + m4; let a3 = a2 + m4;
    let am0 = transpose(mat4x4f(texel(ta, a0 + s0), texel(ta, a1 + s0), texel(ta, a2 + s0), texel(ta, a3 + s0)));
    let am1 = transpose(mat4x4f(texel(ta, a0 + s1), texel(ta, a1 + s1), texel(ta, a2 + s1), texel(ta, a3 + s1)));
    let am2 = transpose(mat4x4f(texel(ta, a0 + s2), texel(ta, a1 + s2), texel(ta, a2 + s2), texel(ta, a3 + s2)));
    let am3 = transpose(mat4x4f(texel(ta, a0 + s3), texel(ta, a1 + s3), texel(ta, a2 + s3), texel(ta, a3 + s3)));
    let b0 = k * n4; let b1 = b0 + n4; let b2 = b1 + n4; let b3 = b2 + n4;
    let bm0 = mat4x4f(texel(tb, b0 + q0), texel(tb, b1 + q0), texel(tb, b2 + q0), texel(tb, b3 + q0));
    let bm1 = mat4x4f(texel(tb, b0 + q1), texel(tb, b1 + q1), texel(tb, b2 + q1), texel(tb, b3 + q1));
    c00 += bm0 * am0; c01 += bm1 * am0; c10 += bm0 * am1; c11 += bm1 * am1;
    c20 += bm0 * am2; c21 += bm1 * am2; c30 += bm0 * am3; c31 += bm1 * am3;
    if (HAS_SUMS) { sum0 += bm0[0] + bm0[1] + bm0[2] + bm0[3]; sum1 += bm1[0] + bm1[1] + bm1[2] + bm1[3]; }
  }
  // The last K % 4 values of k: one outer product each.
  for (; k < p.K; k++) {
    let a0 = texel(ta, k * m4 + s0); let a1 = texel(ta, k * m4 + s1); let a2 = texel(ta, k * m4 + s2); let a3 = texel(ta, k * m4 + s3);
    let bv0 = texel(tb, k * n4 + q0);
    let bv1 = texel(tb, k * n4 + q1);
    c00 += outer(bv0, a0); c01 += outer(bv1, a0); c10 += outer(bv0, a1); c11 += outer(bv1, a1);
    c20 += outer(bv0, a2); c21 += outer(bv1, a2); c30 += outer(bv0, a3); c31 += outer(bv1, a3);
    if (HAS_SUMS) { sum0 += bv0; sum1 += bv1; }
  }
  store_block16(c00, c01, c10, c11, c20, c21, c30, c31, m0, n0);
  // Every block row computed the sums; the first stores them (q1 is clamped past the last column).
  if (HAS_SUMS && m0 == 0u) {
    sums4[q0] = sum0;
    if (n0 + 4u < p.N) { sums4[q1] = sum1; }
  }
}

@compute @workgroup_size(8, 8)
fn gemm_mat_nt(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n0 = block_of(wid, lid).x * 8u;
  let m0 = block_of(wid, lid).y * 16u;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let k4 = p.K / 4u;
  // Columns of op(B) are rows of the stored B^T; their offsets are kept outside the k loop here
  // (through rows4 this version ran 10-25 % slower).
  let w0 = col_of(0u, n0) * k4; let w1 = col_of(1u, n0) * k4; let w2 = col_of(2u, n0) * k4; let w3 = col_of(3u, n0) * k4;
  let w4 = col_of(4u, n0) * k4; let w5 = col_of(5u, n0) * k4; let w6 = col_of(6u, n0) * k4; let w7 = col_of(7u, n0) * k4;
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c10 = mat4x4f(); var c11 = mat4x4f();
  var c20 = mat4x4f(); var c21 = mat4x4f(); var c30 = mat4x4f(); var c31 = mat4x4f();
  for (var kk = 0u; kk < k4; kk++) {
    let am0 = rows4(ta, m0, p.M, k4, kk);
    let am1 = rows4(ta, m0 + 4u, p.M, k4, kk);
    let am2 = rows4(ta, m0 + 8u, p.M, k4, kk);
    let am3 = rows4(ta, m0 + 12u, p.M, k4, kk);
    let bm0 = transpose(mat4x4f(texel(tb, w0 + kk), texel(tb, w1 + kk), texel(tb, w2 + kk), texel(tb, w3 + kk)));
    let bm1 = transpose(mat4x4f(texel(tb, w4 + kk), texel(tb, w5 + kk), texel(tb, w6 + kk), texel(tb, w7 + kk)));
    c00 += bm0 * am0; c01 += bm1 * am0; c10 += bm0 * am1; c11 += bm1 * am1;
    c20 += bm0 * am2; c21 += bm1 * am2; c30 += bm0 * am3; c31 += bm1 * am3;
  }
  store_block16(c00, c01, c10, c11, c20, c21, c30, c31, m0, n0);
}
