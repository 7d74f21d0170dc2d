// Block-sparse inference (layers pruned in 4 x 4 blocks, compress/blocks.ts): Y = act(X W + b)
// with W [K, N] kept as its nonzero 4 x 4 blocks, listed by column group (BSR: the blocks of units
// 4g..4g+3 are gptr[g] .. gptr[g + 1], block j at inputs 4 kidx[j]..+3). X [rows, K] and Y
// [rows, N] stay row-major (no transposes, unlike sparse.wgsl), K and N in whole vec4s.
// One invocation takes one column group for 32 rows, as gemm_mat_nn's 4 x 4 matrix products:
// per block it loads the block (4 texels) and the 32 rows' four inputs (32 texels) for 512
// multiply-adds, 14 per load where single kept weights reach 4 (sparse.wgsl): on llvmpipe loads
// are the cost (bench/RESULTS.md; 16 rows an invocation ran 1.4x slower). X and the blocks are
// read as textures, as gemm.wgsl explains. With QBITS 8 or 4 the blocks hold integers, packed
// (a block in one texel of u32, or half of one) and decoded in registers, and a scale per unit
// multiplies the sums (layers pruned in blocks, then quantized with no zero point: packed.wgsl);
// a block's loads drop from 4 texels to 1 or a half.
//   bsr_mm  tx [rows, K4] vec4, tw [blocks * 4] vec4 (row r of block j at 4 j + r) -> y4 [rows, N4]
//           or, with QBITS, tq and scale4 [N4]: with 8 bits, row r of block j is u32 r of texel j
//           (byte c: unit c); with 4 bits, rows 0 and 1 are nibbles 0-3 and 4-7 of u32 2 (j % 2)
//           of texel j / 2, rows 2 and 3 those of the u32 after it

struct Params {
  rows: u32,
  k4: u32,      // vec4s of inputs per row
  groups: u32,  // N / 4
  blocks: u32,  // row blocks of 32 rows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var tx: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read> gptr: array<u32>;
@group(0) @binding(3) var<storage, read> kidx: array<u32>;
@group(0) @binding(4) var tw: texture_storage_2d<rgba32float, read>;
@group(0) @binding(5) var<storage, read> bias4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(7) var tq: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(8) var<storage, read> scale4: array<vec4f>;

override WG: u32 = 64u;
override ACT: u32 = 0u;  // _texel.wgsl: act()
override HAS_BIAS: bool = false;
override CHUNK: u32 = 8u;  // _chunk.wgsl
override ROW_QUADS: u32 = 8u;  // quads of rows an invocation: all 8 but for a batch under 32 rows
override QBITS: u32 = 0u;  // 0: float blocks in tw; 8 or 4: packed integer blocks in tq, scaled

//! include _texel.wgsl
//! include _tanh.wgsl
//! include _int.wgsl
//! include _chunk.wgsl

// Block j as a matrix whose columns are its rows (4 inputs, each over the group's 4 units).
fn block_at(j: u32) -> mat4x4f {
  if (QBITS == 8u) {
    let w = qtexel(tq, j);
    return mat4x4f(bytes4(w.x), bytes4(w.y), bytes4(w.z), bytes4(w.w));
  }
  if (QBITS == 4u) {
    let t = qtexel(tq, j / 2u);
    let w = select(t.xy, t.zw, j % 2u == 1u);
    return mat4x4f(nibbles_lo(w.x), nibbles_hi(w.x), nibbles_lo(w.y), nibbles_hi(w.y));
  }
  return mat4x4f(texel(tw, 4u * j), texel(tw, 4u * j + 1u), texel(tw, 4u * j + 2u), texel(tw, 4u * j + 3u));
}

fn store_row(v: vec4f, m: u32, g: u32) {
  if (m < p.rows) { y4[m * p.groups + g] = act(v); }
}

// Constant indices only: a matrix indexed by a loop counter would be spilled to memory.
fn store4(ct: mat4x4f, m0: u32, g: u32, s: vec4f, b: vec4f) {
  store_row(ct[0] * s + b, m0, g);
  store_row(ct[1] * s + b, m0 + 1u, g);
  store_row(ct[2] * s + b, m0 + 2u, g);
  store_row(ct[3] * s + b, m0 + 3u, g);
}

@compute @workgroup_size(WG)
fn bsr_mm(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let c = chunk_of(i, p.groups);
  let g = c.x;
  let rb = c.y;
  if (rb >= p.blocks) { return; }
  let m0 = rb * 32u;
  var c0 = mat4x4f(); var c1 = mat4x4f(); var c2 = mat4x4f(); var c3 = mat4x4f();
  var c4 = mat4x4f(); var c5 = mat4x4f(); var c6 = mat4x4f(); var c7 = mat4x4f();
  for (var j = gptr[g]; j < gptr[g + 1u]; j++) {
    let kk = kidx[j];
    let w = block_at(j);
    c0 += w * rows4(tx, m0, p.rows, p.k4, kk);
    // Under 32 rows only their quads (ROW_QUADS, a constant: the branches fold away).
    if (ROW_QUADS > 1u) { c1 += w * rows4(tx, m0 + 4u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 2u) { c2 += w * rows4(tx, m0 + 8u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 3u) { c3 += w * rows4(tx, m0 + 12u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 4u) { c4 += w * rows4(tx, m0 + 16u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 5u) { c5 += w * rows4(tx, m0 + 20u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 6u) { c6 += w * rows4(tx, m0 + 24u, p.rows, p.k4, kk); }
    if (ROW_QUADS > 7u) { c7 += w * rows4(tx, m0 + 28u, p.rows, p.k4, kk); }
  }
  var b = vec4f(0.0);
  if (HAS_BIAS) { b = bias4[g]; }
  var s = vec4f(1.0);
  if (QBITS != 0u) { s = scale4[g]; }
  store4(c0, m0, g, s, b);
  store4(c1, m0 + 4u, g, s, b);
  store4(c2, m0 + 8u, g, s, b);
  store4(c3, m0 + 12u, g, s, b);
  store4(c4, m0 + 16u, g, s, b);
  store4(c5, m0 + 20u, g, s, b);
  store4(c6, m0 + 24u, g, s, b);
  store4(c7, m0 + 28u, g, s, b);
}
