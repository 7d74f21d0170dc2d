// The window geometry shared by conv.wgsl and pool.wgsl: scripts/embed-shaders.mjs puts this file
// where they say `//! include _window.wgsl` (files starting with _ are parts, not kernels).
// Images are NHWC; windows kh x kw at strides sh, sw with padding ph, pw give outputs oh x ow.

struct Geometry {
  n: u32,
  h: u32,
  w: u32,
  c: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
  oh: u32,
  ow: u32,
  kp: u32,  // conv.wgsl's column count: kh * kw * c rounded up to a multiple of 4 (pooling ignores it)
}

@group(0) @binding(0) var<uniform> g: Geometry;

override WG: u32 = 256;

// One invocation per element; the linear index folds in num_workgroups (65535 per side).
fn linear(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Element i of an NHWC tensor [n, rows, cols, c] as (image, row, column, channel).
fn nhwc(i: u32, rows: u32, cols: u32) -> vec4u {
  return vec4u(i / (g.c * cols * rows), (i / (g.c * cols)) % rows, (i / g.c) % cols, i % g.c);
}

// The input row (column) that kernel row ky (column kx) of output row oy (column ox) reads: as
// i32, since the padding makes positions before the image negative.
fn input_row(oy: u32, ky: u32) -> i32 {
  return i32(oy * g.sh + ky) - i32(g.ph);
}

fn input_col(ox: u32, kx: u32) -> i32 {
  return i32(ox * g.sw + kx) - i32(g.pw);
}

// The output row (column) whose window puts input row iy (column ix) at kernel row ky (column
// kx), or -1 when none does: oy * sh = iy + ph - ky, a whole row inside the output.
fn output_row(iy: u32, ky: u32) -> i32 {
  let t = i32(iy + g.ph) - i32(ky);
  if (t < 0 || u32(t) % g.sh != 0u || u32(t) / g.sh >= g.oh) { return -1; }
  return t / i32(g.sh);
}

fn output_col(ix: u32, kx: u32) -> i32 {
  let t = i32(ix + g.pw) - i32(kx);
  if (t < 0 || u32(t) % g.sw != 0u || u32(t) / g.sw >= g.ow) { return -1; }
  return t / i32(g.sw);
}
