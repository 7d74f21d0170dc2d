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
//   gemm_tiled_b4  B read as vec4 along N (B not transposed, N % 4 == 0); A as scalars.
//   gemm_tiled_ab4 A as vec4 along K and B as vec4 along N (C = A B, K and N % 4 == 0).
//   gemm_tiled_k4  A and B^T both as vec4 along K, combined with dot() (C = A B^T, K % 4 == 0).
//   gemm_tiled_tn4 A^T as vec4 along M and B as vec4 along N (C = A^T B, M and N % 4 == 0).
// Why this shape: on CPU adapters (llvmpipe, SwiftShader) an invocation is one SIMD lane, every
// load costs about as much as ten multiply-adds, and workgroup memory with barriers costs more
// than it saves. So: no workgroup memory, each loaded value reused 4 or 8 times from registers,
// vec4 loads wherever the layout allows. Larger blocks (8x16) spill registers and measured
// slower (bench/RESULTS.md).

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
  has_bias: u32,
  act: u32,     // 0 identity, 1 relu, 2 tanh, 3 sigmoid (src/kernels/gemm.ts: ACTIVATIONS)
  dact: u32,    // the same codes: multiply by f'(z) of this activation, from y = f(z); 0 = none
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> y: array<f32>;

const TM: u32 = 8u;   // rows of C per invocation
const TN: u32 = 4u;   // columns of C per invocation (one vec4)

fn activate(x: f32) -> f32 {
  switch p.act {
    case 1u: { return max(x, 0.0); }
    // tanh of a large |x| can overflow inside some implementations; |x| > 15 is +-1 in f32.
    case 2u: { return tanh(clamp(x, -15.0, 15.0)); }
    case 3u: { return 1.0 / (1.0 + exp(-x)); }
    default: { return x; }
  }
}

// f'(z) written in terms of y = f(z), so backpropagation needs only the stored outputs.
fn derivative(yv: f32) -> f32 {
  switch p.dact {
    case 1u: { return select(0.0, 1.0, yv > 0.0); }
    case 2u: { return 1.0 - yv * yv; }
    case 3u: { return yv * (1.0 - yv); }
    default: { return 1.0; }
  }
}

fn a_at(m: u32, k: u32) -> f32 {
  return a[m * p.a_m + k * p.a_k];
}

fn b_at(k: u32, n: u32) -> f32 {
  return b[k * p.b_k + n * p.b_n];
}

// Writes one element of C; beta == 0 never reads C, so a NaN already there cannot leak in.
fn store(m: u32, n: u32, acc: f32) {
  let i = m * p.N + n;
  var v = p.alpha * acc;
  if (p.beta != 0.0) { v += p.beta * c[i]; }
  if (p.has_bias != 0u) { v += bias[n]; }
  v = activate(v);
  if (p.dact != 0u) { v *= derivative(y[i]); }
  c[i] = v;
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

@compute @workgroup_size(8, 8)
fn gemm_tiled(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var acc: array<vec4f, 8>;
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4f(b_at(k, col_of(0u, n0)), b_at(k, col_of(1u, n0)), b_at(k, col_of(2u, n0)), b_at(k, col_of(3u, n0)));
    for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4f(a_at(row_of(i, m0), k)), bv, acc[i]); }
  }
  store_block(&acc, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_b4(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let col4 = n0 / 4u;
  var acc: array<vec4f, 8>;
  for (var k = 0u; k < p.K; k++) {
    let bv = b4[k * n4 + col4];
    for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4f(a_at(row_of(i, m0), k)), bv, acc[i]); }
  }
  store_block(&acc, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_ab4(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let k4 = p.K / 4u;
  let col4 = n0 / 4u;
  var acc: array<vec4f, 8>;
  for (var kk = 0u; kk < k4; kk++) {
    var av: array<vec4f, 8>;
    for (var i = 0u; i < TM; i++) { av[i] = a4[row_of(i, m0) * k4 + kk]; }
    for (var r = 0u; r < 4u; r++) {
      let bv = b4[(kk * 4u + r) * n4 + col4];
      for (var i = 0u; i < TM; i++) { acc[i] = fma(vec4f(av[i][r]), bv, acc[i]); }
    }
  }
  store_block(&acc, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_k4(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let k4 = p.K / 4u;
  var acc: array<vec4f, 8>;
  for (var kk = 0u; kk < k4; kk++) {
    // Four columns of op(B) = four rows of the stored B^T, four k at a time.
    let b0 = b4[col_of(0u, n0) * k4 + kk];
    let b1 = b4[col_of(1u, n0) * k4 + kk];
    let b2 = b4[col_of(2u, n0) * k4 + kk];
    let b3 = b4[col_of(3u, n0) * k4 + kk];
    for (var i = 0u; i < TM; i++) {
      let av = a4[row_of(i, m0) * k4 + kk];
      acc[i] += vec4f(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3));
    }
  }
  store_block(&acc, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_tn4(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  let m4 = p.M / 4u;
  let col4 = n0 / 4u;
  // Rows m0..m0+7 of op(A) for one k are two vec4s of the stored A^T (clamped past the edge).
  let r0 = m0 / 4u;
  let r1 = min(r0 + 1u, m4 - 1u);
  var acc: array<vec4f, 8>;
  for (var k = 0u; k < p.K; k++) {
    let bv = b4[k * n4 + col4];
    let lo = a4[k * m4 + r0];
    let hi = a4[k * m4 + r1];
    for (var i = 0u; i < 4u; i++) {
      acc[i] = fma(vec4f(lo[i]), bv, acc[i]);
      acc[i + 4u] = fma(vec4f(hi[i]), bv, acc[i + 4u]);
    }
  }
  store_block(&acc, m0, n0);
}
