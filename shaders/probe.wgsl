// Whether a device runs kernels as a CPU does (src/gpu/runs-like-cpu.ts, for adapters that give
// no name): C = A B for n x n matrices (n a multiple of 4), with one output an invocation, as a
// GPU's thousands of threads suit, and with a 4 x 4 block an invocation, as a CPU's few SIMD
// threads suit (on a CPU adapter loads cost most: the block loads 8 vec4s per 64 multiply-adds,
// one output 2 values per multiply-add).
//   one_output  a1, b1 [n * n] -> c1 [n * n]
//   block_4x4   a4, b4 [n * n / 4] vec4 -> c4 [n * n / 4]

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a1: array<f32>;
@group(0) @binding(2) var<storage, read> b1: array<f32>;
@group(0) @binding(3) var<storage, read_write> c1: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4f>;
@group(0) @binding(5) var<storage, read> b4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> c4: array<vec4f>;

@compute @workgroup_size(64)
fn one_output(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x / p.n;
  let j = gid.x % p.n;
  if (i >= p.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.n; k++) { s += a1[i * p.n + k] * b1[k * p.n + j]; }
  c1[i * p.n + j] = s;
}

@compute @workgroup_size(64)
fn block_4x4(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = p.n / 4u;
  let i0 = (gid.x / n4) * 4u;  // rows i0..i0+3, column quad j of C
  let j = gid.x % n4;
  if (i0 >= p.n) { return; }
  var c = mat4x4f();  // c[r] = row i0 + r
  for (var k4 = 0u; k4 < n4; k4++) {
    let b = mat4x4f(b4[(4u * k4) * n4 + j], b4[(4u * k4 + 1u) * n4 + j], b4[(4u * k4 + 2u) * n4 + j], b4[(4u * k4 + 3u) * n4 + j]);
    let a = mat4x4f(a4[i0 * n4 + k4], a4[(i0 + 1u) * n4 + k4], a4[(i0 + 2u) * n4 + k4], a4[(i0 + 3u) * n4 + k4]);
    c += b * a;
  }
  c4[i0 * n4 + j] = c[0];
  c4[(i0 + 1u) * n4 + j] = c[1];
  c4[(i0 + 2u) * n4 + j] = c[2];
  c4[(i0 + 3u) * n4 + j] = c[3];
}
