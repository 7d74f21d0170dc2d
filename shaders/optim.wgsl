// Optimizer steps, in place, one invocation per parameter. Each takes an optional mask (1 keeps a
// weight, 0 prunes it): the update and the weight are multiplied by it, so a pruned weight stays
// exactly 0 through training. Every step first reads stats[2] (see shaders/loss.wgsl): once a
// loss was not finite, no parameter moves again, and the last good weights are kept.
//
//   sgd   v = momentum v + g + wd w;  w -= lr (nesterov ? g + wd w + momentum v : v)
//         (PyTorch's SGD: weight decay added to the gradient, dampening 0)
//   adam  g' = g + wd w (Adam's L2 penalty; wd = 0 for AdamW)
//         m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//         w -= lr (m / c1) / (sqrt(v / c2) + eps) + lr decoupled w   (Loshchilov & Hutter: AdamW)
//         c1 = 1 - b1^t, c2 = 1 - b2^t computed by the host.
//
// sgd4 and adam4 do the same four parameters at a time (n % 4 == 0: every weight matrix of an
// MLP with a width divisible by 4): on llvmpipe a vec4 load costs about 1.6 scalar loads, not 4.
// They skip the velocity when momentum is 0 and the mask when there is none, which the scalar
// versions read anyway (bench/RESULTS.md: the optimizer was an eighth of a training step).

struct Params {
  n: u32,
  has_mask: u32,
  lr: f32,
  momentum: f32,    // sgd
  nesterov: u32,    // sgd
  wd: f32,          // L2 weight decay added to the gradient (sgd, adam)
  decoupled: f32,   // AdamW's decoupled weight decay
  beta1: f32,
  beta2: f32,
  eps: f32,
  c1: f32,
  c2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> s1: array<f32>;   // sgd velocity, adam m
@group(0) @binding(4) var<storage, read_write> s2: array<f32>;   // adam v
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> w_4: array<vec4f>;
@group(0) @binding(2) var<storage, read> g_4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> s1_4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> s2_4: array<vec4f>;
@group(0) @binding(5) var<storage, read> mask_4: array<vec4f>;

override WG: u32 = 256u;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn keep(i: u32) -> f32 {
  return select(1.0, mask[i], p.has_mask != 0u);
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n || stats[2] >= 0.0) { return; }
  let k = keep(i);
  let gi = (g[i] + p.wd * w[i]) * k;
  let v = p.momentum * s1[i] + gi;
  s1[i] = v;
  let step = select(v, gi + p.momentum * v, p.nesterov != 0u);
  w[i] = select(0.0, w[i] - p.lr * step, k != 0.0);  // pruned: exactly +0
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n || stats[2] >= 0.0) { return; }
  let k = keep(i);
  let wi = w[i];
  let gi = (g[i] + p.wd * wi) * k;
  let m = p.beta1 * s1[i] + (1.0 - p.beta1) * gi;
  let v = p.beta2 * s2[i] + (1.0 - p.beta2) * gi * gi;
  s1[i] = m;
  s2[i] = v;
  w[i] = select(0.0, wi - p.lr * (m / p.c1) / (sqrt(v / p.c2) + p.eps) - p.lr * p.decoupled * wi, k != 0.0);
}

fn keep4(i: u32) -> vec4f {
  if (p.has_mask != 0u) { return mask_4[i]; }
  return vec4f(1.0);
}

@compute @workgroup_size(WG)
fn sgd4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u || stats[2] >= 0.0) { return; }
  let k = keep4(i);
  let wi = w_4[i];
  let gi = (g_4[i] + p.wd * wi) * k;
  var v = gi;
  if (p.momentum != 0.0) {
    v += p.momentum * s1_4[i];
    s1_4[i] = v;
  }
  let step = select(v, gi + p.momentum * v, p.nesterov != 0u);
  w_4[i] = select(vec4f(0.0), wi - p.lr * step, k != vec4f(0.0));
}

@compute @workgroup_size(WG)
fn adam4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n / 4u || stats[2] >= 0.0) { return; }
  let k = keep4(i);
  let wi = w_4[i];
  let gi = (g_4[i] + p.wd * wi) * k;
  let m = p.beta1 * s1_4[i] + (1.0 - p.beta1) * gi;
  let v = p.beta2 * s2_4[i] + (1.0 - p.beta2) * gi * gi;
  s1_4[i] = m;
  s2_4[i] = v;
  w_4[i] = select(vec4f(0.0), wi - p.lr * (m / p.c1) / (sqrt(v / p.c2) + p.eps) - p.lr * p.decoupled * wi, k != vec4f(0.0));
}
