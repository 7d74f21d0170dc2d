// Data augmentation of a batch of NHWC images (x [n, h, w, c], one image per row) for training:
//   augment  each image rotated about its centre by its own angle in [-max, max] and moved by its
//            own (dy, dx), whole numbers in [-s, s], all drawn from a hash of (seed, image). Each
//            output pixel samples the input bilinearly where the inverse map takes it, 0 outside:
//            (u, v) = (r - dy - cy, q - dx - cx); source (cos a u + sin a v + cy, -sin a u + cos a v + cx).
//            Without rotation the source is the whole pixel (r - dy, q - dx), copied exactly.

struct Params {
  n: u32,
  h: u32,
  w: u32,
  c: u32,
  shift: u32,    // s
  seed: u32,
  rotate: f32,   // max, radians
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

// The image's angle in [-max, max]: a uniform draw of 24 bits.
fn angle(image: u32) -> f32 {
  let u = f32(pcg(pcg(p.seed ^ image) + 0x68e31da4u) >> 8u) / 16777216.0;
  return (2.0 * u - 1.0) * p.rotate;
}

// x at whole pixel (r, q) of image `image`, 0 outside it.
fn pixel(image: u32, r: i32, q: i32, ch: u32) -> f32 {
  if (r < 0 || r >= i32(p.h) || q < 0 || q >= i32(p.w)) { return 0.0; }
  return x[((image * p.h + u32(r)) * p.w + u32(q)) * p.c + ch];
}

@compute @workgroup_size(WG)
fn augment(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n * p.h * p.w * p.c) { return; }
  let ch = i % p.c;
  let q = (i / p.c) % p.w;
  let r = (i / (p.c * p.w)) % p.h;
  let image = i / (p.c * p.w * p.h);
  let cy = f32(p.h - 1u) * 0.5;
  let cx = f32(p.w - 1u) * 0.5;
  let u = f32(i32(r) - offset(image, 0u)) - cy;
  let v = f32(i32(q) - offset(image, 1u)) - cx;
  // Without rotation no sin or cos: their allowed error (2^-11) would blur whole-pixel shifts.
  var sr = u + cy;
  var sq = v + cx;
  if (p.rotate != 0.0) {
    let a = angle(image);
    sr = cos(a) * u + sin(a) * v + cy;
    sq = -sin(a) * u + cos(a) * v + cx;
  }
  let r0 = floor(sr);
  let q0 = floor(sq);
  let fr = sr - r0;
  let fq = sq - q0;
  // Taps of weight 0 are skipped, so whole-pixel sources copy exactly.
  var total = 0.0;
  for (var k = 0u; k < 4u; k++) {
    let dr = k / 2u;
    let dq = k % 2u;
    let weight = select(1.0 - fr, fr, dr == 1u) * select(1.0 - fq, fq, dq == 1u);
    if (weight != 0.0) { total += weight * pixel(image, i32(r0) + i32(dr), i32(q0) + i32(dq), ch); }
  }
  y[i] = total;
}
