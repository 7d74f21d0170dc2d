// Packed integer weights, decoded in registers (included by packed.wgsl and block-sparse.wgsl
// after _texel.wgsl). Values are two's complement, the low byte or nibble first; a u32 tensor
// bound as a texture holds its vec4u in order, TEXTURE_ROW to a row (src/gpu/kernel.ts).

// vec4u number i of the tensor copied into t (texel()'s u32 twin).
fn qtexel(t: texture_storage_2d<rgba32uint, read>, i: u32) -> vec4u {
  return textureLoad(t, vec2u(i % TEXTURE_ROW, i / TEXTURE_ROW));
}

// The four bytes of w, sign-extended: shift each to the top, then an arithmetic shift down.
fn bytes4(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

// Nibbles 0-3 and 4-7 of w, sign-extended.
fn nibbles_lo(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(28u, 24u, 20u, 16u)) >> vec4u(28u));
}

fn nibbles_hi(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(12u, 8u, 4u, 0u)) >> vec4u(28u));
}
