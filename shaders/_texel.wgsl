// Texel reads (one, and four rows' worth) and the output activation shared by gemm.wgsl,
// sparse.wgsl, block-sparse.wgsl and packed.wgsl (included where they say
// `//! include _texel.wgsl`). A tensor bound as a texture holds its vec4s in order, TEXTURE_ROW
// to a row (src/gpu/kernel.ts); gemm.ts: sampledTextures and textured.ts: sampledSource rewrite
// texel() for adapters that read sampled textures. The including kernel declares ACT.

const TEXTURE_ROW: u32 = 1024u;

// vec4 number i of the tensor copied into t.
fn texel(t: texture_storage_2d<rgba32float, read>, i: u32) -> vec4f {
  return textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW));
}

// Rows first..first+3 (clamped below `rows`) of a row-major matrix of `stride` vec4s a row, at
// vec4 column kk, as a matrix's columns: 4 rows of gemm's A, or of block-sparse's and packed's X,
// read along K. The row offsets do not depend on kk (measured as fast as offsets computed before
// the loop, for A).
fn rows4(t: texture_storage_2d<rgba32float, read>, first: u32, rows: u32, stride: u32, kk: u32) -> mat4x4f {
  let last = rows - 1u;
  return mat4x4f(
    texel(t, min(first, last) * stride + kk),
    texel(t, min(first + 1u, last) * stride + kk),
    texel(t, min(first + 2u, last) * stride + kk),
    texel(t, min(first + 3u, last) * stride + kk));
}

// ACT: 0 identity, 1 relu, 2 tanh (_tanh.wgsl), 3 sigmoid (kernels/gemm.ts: ACTIVATIONS).
fn act(v: vec4f) -> vec4f {
  switch ACT {
    case 1u: { return max(v, vec4f(0.0)); }
    case 2u: { return tanh4(v); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    default: { return v; }
  }
}
