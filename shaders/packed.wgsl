// Weight-only packed integer inference (layers quantized with one scale per output channel and no
// zero point: min-max symmetric, binary, ternary): Y = act(X Q * scale + bias), with Q the
// integer weights [K, N], scale per column, X [M, K] float. Q stays packed, 8 or 4 bits a value,
// and is decoded in registers: on llvmpipe a load costs as much as some 25 multiply-adds per
// component (bench/RESULTS.md), so fewer bytes a weight means fewer loads, and the scale is
// applied once per output instead of once per weight.
//   packed_mm  tx [M, K4] vec4, tq [K, texels] vec4u -> y4 [M, N4]: with BITS 8, 16 columns a
//              texel, a byte each; with BITS 4, 32 columns a texel, a nibble each
// Row k of Q is `texels` texels; u32 j of a texel holds the next 4 (8) columns, the low byte
// (nibble) first, in two's complement. Both read X and Q as textures (gemm.wgsl says why).
// An invocation takes 12 rows by 16 columns of Y as gemm_mat_nn's 4 x 4 matrix products: per 4 k
// it loads 12 texels of X and 4 of Q for 768 multiply-adds, where the float GEMM loads 24 texels
// for 512.

struct Params {
  M: u32,
  k4: u32,      // vec4s of inputs per row of X (K / 4)
  groups: u32,  // groups of 16 columns
  texels: u32,  // texels per row of Q
  n4: u32,      // vec4s per row of Y (the columns written: N rounded up to 4)
  blocks: u32,  // row blocks of 12 rows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var tx: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var tq: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(3) var<storage, read> scale4: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;

override WG: u32 = 64u;
override ACT: u32 = 0u;  // _texel.wgsl: act()
override HAS_BIAS: bool = false;
override BITS: u32 = 8u;  // 8 or 4 (kernels/packed.ts: PackedBits)
override CHUNK: u32 = 8u;  // _chunk.wgsl
override ROW_QUADS: u32 = 3u;  // quads of rows an invocation: all 3 but for a batch under 12 rows

//! include _texel.wgsl
//! include _tanh.wgsl
//! include _int.wgsl
//! include _chunk.wgsl

// Row k of Q, columns 16 g .. 16 g + 15, as four vec4s (a matrix's columns): texel g of the
// row with 8 bits, half of texel g / 2 with 4 bits.
fn qrow8(k: u32, g: u32) -> mat4x4f {
  let w = qtexel(tq, k * p.texels + g);
  return mat4x4f(bytes4(w.x), bytes4(w.y), bytes4(w.z), bytes4(w.w));
}

fn qrow4(k: u32, g: u32) -> mat4x4f {
  let t = qtexel(tq, k * p.texels + g / 2u);
  let w = select(t.xy, t.zw, g % 2u == 1u);
  return mat4x4f(nibbles_lo(w.x), nibbles_hi(w.x), nibbles_lo(w.y), nibbles_hi(w.y));
}

fn qrow(k: u32, g: u32) -> mat4x4f {
  if (BITS == 8u) { return qrow8(k, g); }
  return qrow4(k, g);
}

fn store_row(v: vec4f, m: u32, c: u32) {
  if (m < p.M && c < p.n4) {
    var o = v * scale4[c];
    if (HAS_BIAS) { o += bias4[c]; }
    y4[m * p.n4 + c] = act(o);
  }
}

// ct[i] = row m0 + i of Y at column quad c (constant indices only: see gemm.wgsl).
fn store4(ct: mat4x4f, m0: u32, c: u32) {
  store_row(ct[0], m0, c);
  store_row(ct[1], m0 + 1u, c);
  store_row(ct[2], m0 + 2u, c);
  store_row(ct[3], m0 + 3u, c);
}

// Four column quads from q0 of rows m0..m0+3.
fn store16(c0: mat4x4f, c1: mat4x4f, c2: mat4x4f, c3: mat4x4f, m0: u32, q0: u32) {
  store4(c0, m0, q0); store4(c1, m0, q0 + 1u); store4(c2, m0, q0 + 2u); store4(c3, m0, q0 + 3u);
}

// Per 4 k: c<row quad><column quad> += bm<j> * am<r>, where am<r>'s columns are 4 rows of X and
// bm<j>'s column r is column quad j of Q's row k + r (w<r>); constant indices only (gemm.wgsl).
// 12 rows by 16 columns measured fastest on llvmpipe (1024 x 784 x 300, 8 bits: 1.33x the float
// GEMM, 8 rows 1.27x, 4 rows 1.08x; 16 rows 0.90x, its 256 accumulators spilled).
@compute @workgroup_size(WG)
fn packed_mm(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let c = chunk_of(i, p.groups);
  if (c.y >= p.blocks) { return; }
  let g = c.x;
  let m0 = c.y * 12u;
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c02 = mat4x4f(); var c03 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f(); var c12 = mat4x4f(); var c13 = mat4x4f();
  var c20 = mat4x4f(); var c21 = mat4x4f(); var c22 = mat4x4f(); var c23 = mat4x4f();
  for (var kk = 0u; kk < p.k4; kk++) {
    let w0 = qrow(4u * kk, g); let w1 = qrow(4u * kk + 1u, g); let w2 = qrow(4u * kk + 2u, g); let w3 = qrow(4u * kk + 3u, g);
    let bm0 = mat4x4f(w0[0], w1[0], w2[0], w3[0]); let bm1 = mat4x4f(w0[1], w1[1], w2[1], w3[1]);
    let bm2 = mat4x4f(w0[2], w1[2], w2[2], w3[2]); let bm3 = mat4x4f(w0[3], w1[3], w2[3], w3[3]);
    let am0 = rows4(tx, m0, p.M, p.k4, kk);
    c00 += bm0 * am0; c01 += bm1 * am0; c02 += bm2 * am0; c03 += bm3 * am0;
    // Under 12 rows only their quads (ROW_QUADS, a constant: the branches fold away).
    if (ROW_QUADS > 1u) {
      let am1 = rows4(tx, m0 + 4u, p.M, p.k4, kk);
      c10 += bm0 * am1; c11 += bm1 * am1; c12 += bm2 * am1; c13 += bm3 * am1;
    }
    if (ROW_QUADS > 2u) {
      let am2 = rows4(tx, m0 + 8u, p.M, p.k4, kk);
      c20 += bm0 * am2; c21 += bm1 * am2; c22 += bm2 * am2; c23 += bm3 * am2;
    }
  }
  store16(c00, c01, c02, c03, m0, g * 4u);
  store16(c10, c11, c12, c13, m0 + 4u, g * 4u);
  store16(c20, c21, c22, c23, m0 + 8u, g * 4u);
}
