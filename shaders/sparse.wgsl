// Sparse inference (pruned layers): Y^T = act(W^T X^T + b) with W [K, N] stored by columns
// (CSC: the kept inputs of each unit) and activations kept transposed, [features, rows], so one
// invocation takes one unit (column n) for a block of 32 rows: for each kept weight (k, w) it
// loads X^T[k, 32 rows] as 8 vec4s and does 32 multiply-adds, then stores Y^T[n, 32 rows] as 8
// vec4s. Pruned weights cost nothing; the transposed layout lets the next sparse layer read this
// one's output as it is. Rows are padded to whole vec4s (rows4 vec4s per feature).
// X^T and the entries are read as textures (vec4 i at (i % TEXTURE_ROW, i / TEXTURE_ROW)): on
// llvmpipe a texel loads several times faster than a storage vec4 (bench/RESULTS.md), and loads
// are what this kernel does. Each texel of te holds two entries (k, w, k', w'), k as an exact
// float; a column's entries are padded to an even count with (0, 0).
//   spmm_t  xt [K, rows4] -> out4 [N, rows4] vec4; unit n's entry pairs: colptr[n] .. colptr[n + 1]

struct Params {
  units: u32,   // N
  rows4: u32,   // vec4s of rows
  blocks: u32,  // blocks of 8 vec4s (32 rows) per unit
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var xt: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var<storage, read> colptr: array<u32>;
@group(0) @binding(3) var te: texture_storage_2d<rgba32float, read>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> out4: array<vec4f>;

override WG: u32 = 64u;
override ACT: u32 = 0u;  // _texel.wgsl: act()
override HAS_BIAS: bool = false;
override CHUNK: u32 = 8u;  // _chunk.wgsl

//! include _texel.wgsl
//! include _tanh.wgsl
//! include _chunk.wgsl

@compute @workgroup_size(WG)
fn spmm_t(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let c = chunk_of(i, p.units);
  let n = c.x;
  let rb = c.y;
  if (rb >= p.blocks) { return; }
  let q0 = rb * 8u;
  // The last block may hang over the rows: its loads are clamped and its stores skipped.
  let last = p.rows4 - 1u;
  let c0 = min(q0, last); let c1 = min(q0 + 1u, last); let c2 = min(q0 + 2u, last); let c3 = min(q0 + 3u, last);
  let c4 = min(q0 + 4u, last); let c5 = min(q0 + 5u, last); let c6 = min(q0 + 6u, last); let c7 = min(q0 + 7u, last);
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var a4 = vec4f(0.0); var a5 = vec4f(0.0); var a6 = vec4f(0.0); var a7 = vec4f(0.0);
  for (var j = colptr[n]; j < colptr[n + 1u]; j++) {
    let e = texel(te, j);
    // The pair's two entries, written out (a loop over them was not unrolled).
    var w = e.y;
    var base = u32(e.x) * p.rows4;
    a0 += w * texel(xt, base + c0);
    a1 += w * texel(xt, base + c1);
    a2 += w * texel(xt, base + c2);
    a3 += w * texel(xt, base + c3);
    a4 += w * texel(xt, base + c4);
    a5 += w * texel(xt, base + c5);
    a6 += w * texel(xt, base + c6);
    a7 += w * texel(xt, base + c7);
    w = e.w;
    base = u32(e.z) * p.rows4;
    a0 += w * texel(xt, base + c0);
    a1 += w * texel(xt, base + c1);
    a2 += w * texel(xt, base + c2);
    a3 += w * texel(xt, base + c3);
    a4 += w * texel(xt, base + c4);
    a5 += w * texel(xt, base + c5);
    a6 += w * texel(xt, base + c6);
    a7 += w * texel(xt, base + c7);
  }
  var b = vec4f(0.0);
  if (HAS_BIAS) { b = vec4f(bias[n]); }
  let o = n * p.rows4 + q0;
  out4[o] = act(a0 + b);
  if (q0 + 1u <= last) { out4[o + 1u] = act(a1 + b); }
  if (q0 + 2u <= last) { out4[o + 2u] = act(a2 + b); }
  if (q0 + 3u <= last) { out4[o + 3u] = act(a3 + b); }
  if (q0 + 4u <= last) { out4[o + 4u] = act(a4 + b); }
  if (q0 + 5u <= last) { out4[o + 5u] = act(a5 + b); }
  if (q0 + 6u <= last) { out4[o + 6u] = act(a6 + b); }
  if (q0 + 7u <= last) { out4[o + 7u] = act(a7 + b); }
}
