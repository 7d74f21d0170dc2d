// Split-K for C = A^T B with few outputs and a long inner dimension: the weight gradient of a
// convolution (a 25 x 20 filter gradient summed over 36,864 image positions). One thread per
// output walking all of K leaves a GPU with a few hundred busy threads; here each of `splits`
// slices of K gets its own threads, and a second pass adds the slices.
//   splitk_partial  partial[s, m, n] = sum over k in slice s of A[k, m] B[k, n], A [K, M], B [K, N];
//                   with sums = 1 an extra row m = M holds the slice's column sums of B (a bias
//                   gradient beside the weight gradient).
//   splitk_sum      c[m, n] = sum over s of partial[s, m, n]; the extra row into sums[n].
// Neighbouring threads take neighbouring n: their loads of B are contiguous, of A the same value.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  chunk: u32,   // K per slice
  splits: u32,
  sums: u32,    // 1: also column sums of B
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read> partial_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(64)
fn splitk_partial(@builtin(global_invocation_id) gid: vec3u) {
  let rows = p.M + p.sums;
  let idx = gid.x;
  if (idx >= rows * p.N) { return; }
  let m = idx / p.N;
  let n = idx % p.N;
  let s = gid.y;
  let k0 = s * p.chunk;
  let k1 = min(p.K, k0 + p.chunk);
  var acc = 0.0;
  if (m < p.M) {
    for (var k = k0; k < k1; k++) { acc += a[k * p.M + m] * b[k * p.N + n]; }
  } else {
    for (var k = k0; k < k1; k++) { acc += b[k * p.N + n]; }
  }
  partial[(s * rows + m) * p.N + n] = acc;
}

@compute @workgroup_size(64)
fn splitk_sum(@builtin(global_invocation_id) gid: vec3u) {
  let rows = p.M + p.sums;
  let idx = gid.x;
  if (idx >= rows * p.N) { return; }
  var acc = 0.0;
  for (var s = 0u; s < p.splits; s++) { acc += partial_in[s * rows * p.N + idx]; }
  if (idx < p.M * p.N) { c[idx] = acc; } else { sums[idx - p.M * p.N] = acc; }
}
