// GEMM: C = act(alpha * op(A) * op(B) + beta * C + bias), op(X) = X or X^T.
// A is stored [M, K] (or [K, M] when transposed), B [K, N] (or [N, K] when transposed), C [M, N],
// all row-major and contiguous. bias has N elements (one per output column).
//
// Versions, each checked against the same float64 reference in test/gemm.test.ts:
//   gemm_naive    one invocation per output element. The baseline.
//   gemm_tiled    one invocation per 8x16 block of C, kept in 32 vec4 registers; A and B read as
//                 scalars. No workgroup memory: on CPU adapters (llvmpipe, SwiftShader) barriers
//                 and workgroup memory cost more than they save, and every load costs about as
//                 much as ten multiply-adds, so the win is reusing each loaded value 8 or 16 times.
//   gemm_tiled_b4 the same with B read as vec4 along N (needs B not transposed and N % 4 == 0): a quarter
//                 of the loads of B.
//   gemm_tiled_k4 the same with A and B^T both read as vec4 along K (needs A not transposed, B
//                 transposed and K % 4 == 0): 24 loads per 512 multiply-adds, for C = A * B^T.

// Transposition is carried by strides, and the epilogue's choices by fields, so that each version
// is one pipeline: compiling one costs seconds on llvmpipe.
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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

const TM: u32 = 8u;   // rows of C per invocation
const TN: u32 = 16u;  // columns of C per invocation (4 vec4s)

fn activate(x: f32) -> f32 {
  switch p.act {
    case 1u: { return max(x, 0.0); }
    // tanh of a large |x| can overflow inside some implementations; |x| > 15 is +-1 in f32.
    case 2u: { return tanh(clamp(x, -15.0, 15.0)); }
    case 3u: { return 1.0 / (1.0 + exp(-x)); }
    default: { return x; }
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
  c[i] = activate(v);
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

// Accumulators of an 8x16 block: acc[i * 4 + j] holds row i, columns 4j..4j+3.
fn store_block(acc: ptr<function, array<vec4f, 32>>, m0: u32, n0: u32) {
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= p.M) { return; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (n < p.N) { store(m, n, (*acc)[i * 4u + j / 4u][j % 4u]); }
    }
  }
}

// Rows and columns past the edge are clamped to the last valid one: their (discarded) sums cost
// the same as branching around them, and every load stays in bounds.
fn load_a_column(k: u32, m0: u32) -> array<f32, 8> {
  var av: array<f32, 8>;
  for (var i = 0u; i < TM; i++) { av[i] = a_at(min(m0 + i, p.M - 1u), k); }
  return av;
}

@compute @workgroup_size(8, 8)
fn gemm_tiled(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  var acc: array<vec4f, 32>;
  var col: array<u32, 16>;
  for (var j = 0u; j < TN; j++) { col[j] = min(n0 + j, p.N - 1u); }
  for (var k = 0u; k < p.K; k++) {
    let av = load_a_column(k, m0);
    for (var j = 0u; j < 4u; j++) {
      let bv = vec4f(b_at(k, col[4u * j]), b_at(k, col[4u * j + 1u]), b_at(k, col[4u * j + 2u]), b_at(k, col[4u * j + 3u]));
      for (var i = 0u; i < TM; i++) { acc[i * 4u + j] += av[i] * bv; }
    }
  }
  store_block(&acc, m0, n0);
}

@compute @workgroup_size(8, 8)
fn gemm_tiled_b4(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * TN;
  let m0 = gid.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let n4 = p.N / 4u;
  var acc: array<vec4f, 32>;
  var col4: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) { col4[j] = min(n0 / 4u + j, n4 - 1u); }
  for (var k = 0u; k < p.K; k++) {
    let av = load_a_column(k, m0);
    for (var j = 0u; j < 4u; j++) {
      let bv = b4[k * n4 + col4[j]];
      for (var i = 0u; i < TM; i++) { acc[i * 4u + j] += av[i] * bv; }
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
  var acc: array<vec4f, 32>;
  var row: array<u32, 8>;
  var col: array<u32, 16>;
  for (var i = 0u; i < TM; i++) { row[i] = min(m0 + i, p.M - 1u) * k4; }
  for (var j = 0u; j < TN; j++) { col[j] = min(n0 + j, p.N - 1u) * k4; }
  for (var kk = 0u; kk < k4; kk++) {
    var bv: array<vec4f, 16>;
    for (var j = 0u; j < TN; j++) { bv[j] = b4[col[j] + kk]; }
    for (var i = 0u; i < TM; i++) {
      let av = a4[row[i] + kk];
      for (var j = 0u; j < 4u; j++) {
        acc[i * 4u + j] += vec4f(dot(av, bv[4u * j]), dot(av, bv[4u * j + 1u]), dot(av, bv[4u * j + 2u]), dot(av, bv[4u * j + 3u]));
      }
    }
  }
  store_block(&acc, m0, n0);
}
