// Data augmentation of a batch of NHWC images (x [n, h, w, c], one image per row) for training:
//   shift  each image moved by its own (dy, dx), both whole numbers in [-s, s] drawn from a hash
//          of (seed, image), uncovered pixels 0: y[i, r, q, ch] = x[i, r - dy, q - dx, ch].

struct Params {
  n: u32,
  h: u32,
  w: u32,
  c: u32,
  shift: u32,   // s
  seed: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 256;

//! include _hash.wgsl

// The image's shift along one axis (axis 0: rows, 1: columns), in [-s, s].
fn offset(image: u32, axis: u32) -> i32 {
  let span = 2u * p.shift + 1u;
  return i32(pcg(pcg(p.seed ^ (2u * image + axis))) % span) - i32(p.shift);
}

@compute @workgroup_size(WG)
fn shift(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n * p.h * p.w * p.c) { return; }
  let ch = i % p.c;
  let q = (i / p.c) % p.w;
  let r = (i / (p.c * p.w)) % p.h;
  let image = i / (p.c * p.w * p.h);
  let sr = i32(r) - offset(image, 0u);
  let sq = i32(q) - offset(image, 1u);
  var v = 0.0;
  if (sr >= 0 && sr < i32(p.h) && sq >= 0 && sq < i32(p.w)) {
    v = x[((image * p.h + u32(sr)) * p.w + u32(sq)) * p.c + ch];
  }
  y[i] = v;
}
