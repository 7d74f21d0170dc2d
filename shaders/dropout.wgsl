// Inverted dropout, as PyTorch's nn.Dropout in training: each value is kept with probability
// 1 - rate and scaled by 1 / (1 - rate), or set to 0. Whether element i is kept is a hash of
// (seed, i) compared with a threshold, so a step's mask follows from its seed alone.
//   dropout_forward   y = x * keep and keep[i] = 0 or 1 / (1 - rate), kept for the backward pass
//                     (dx = dy * keep, elementwise.wgsl's mul)

struct Params {
  n: u32,
  seed: u32,
  threshold: u32, // element dropped when its hash < threshold = rate * 2^32
  scale: f32,     // 1 / (1 - rate)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> keep: array<f32>;

override WG: u32 = 256;

//! include _hash.wgsl

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn dropout_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let k = select(p.scale, 0.0, pcg(i ^ pcg(p.seed)) < p.threshold);
  keep[i] = k;
  y[i] = x[i] * k;
}
