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
// Every version updates PER elements per invocation, a dispatch's invocations apart (so neighbouring
// invocations touch neighbouring memory on a GPU): the stats[2] check, a load at one address for
// all lanes that llvmpipe still makes per lane, cost a third of an update when made for each.
// Momentum, Nesterov and the mask are override constants, so a step without them carries none of
// their code: CPU adapters run both sides of a branch under a lane mask even when it is uniform
// (SGD on 235,200 weights, one interleaved run: 966 -> 646 us, with momentum 1202 -> 1004 us).

struct Params {
  n: u32,
  lr: f32,
  momentum: f32,    // sgd
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
override HAS_MASK: bool = false;
override MOMENTUM: bool = false;  // sgd: keep a velocity (momentum > 0)
override NESTEROV: bool = false;  // sgd
const PER: u32 = 4u;

// The elements of invocation gid: first, first + stride, ... (PER of them), stride = invocations.
fn first(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn stride(nwg: vec3u) -> u32 {
  return nwg.x * nwg.y * WG;
}

fn stopped() -> bool {
  return stats[2] >= 0.0;
}

fn sgd_at(i: u32) {
  let wi = w[i];
  var gi = g[i] + p.wd * wi;
  var k = 1.0;
  if (HAS_MASK) { k = mask[i]; gi *= k; }
  var step = gi;
  if (MOMENTUM) {
    let v = p.momentum * s1[i] + gi;
    s1[i] = v;
    step = select(v, gi + p.momentum * v, NESTEROV);
  }
  var updated = wi - p.lr * step;
  if (HAS_MASK) { updated = select(0.0, updated, k != 0.0); }  // pruned: exactly +0
  w[i] = updated;
}

fn adam_at(i: u32) {
  let wi = w[i];
  var gi = g[i] + p.wd * wi;
  var k = 1.0;
  if (HAS_MASK) { k = mask[i]; gi *= k; }
  let m = p.beta1 * s1[i] + (1.0 - p.beta1) * gi;
  let v = p.beta2 * s2[i] + (1.0 - p.beta2) * gi * gi;
  s1[i] = m;
  s2[i] = v;
  var updated = wi - p.lr * (m / p.c1) / (sqrt(v / p.c2) + p.eps) - p.lr * p.decoupled * wi;
  if (HAS_MASK) { updated = select(0.0, updated, k != 0.0); }
  w[i] = updated;
}

fn sgd4_at(i: u32) {
  let wi = w_4[i];
  var gi = g_4[i] + p.wd * wi;
  var k = vec4f(1.0);
  if (HAS_MASK) { k = mask_4[i]; gi *= k; }
  var step = gi;
  if (MOMENTUM) {
    let v = p.momentum * s1_4[i] + gi;
    s1_4[i] = v;
    step = select(v, gi + p.momentum * v, NESTEROV);
  }
  var updated = wi - p.lr * step;
  if (HAS_MASK) { updated = select(vec4f(0.0), updated, k != vec4f(0.0)); }
  w_4[i] = updated;
}

fn adam4_at(i: u32) {
  let wi = w_4[i];
  var gi = g_4[i] + p.wd * wi;
  var k = vec4f(1.0);
  if (HAS_MASK) { k = mask_4[i]; gi *= k; }
  let m = p.beta1 * s1_4[i] + (1.0 - p.beta1) * gi;
  let v = p.beta2 * s2_4[i] + (1.0 - p.beta2) * gi * gi;
  s1_4[i] = m;
  s2_4[i] = v;
  var updated = wi - p.lr * (m / p.c1) / (sqrt(v / p.c2) + p.eps) - p.lr * p.decoupled * wi;
  if (HAS_MASK) { updated = select(vec4f(0.0), updated, k != vec4f(0.0)); }
  w_4[i] = updated;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  if (i0 >= p.n || stopped()) { return; }
  for (var j = 0u; j < PER; j++) {
    let i = i0 + j * stride(nwg);
    if (i < p.n) { sgd_at(i); }
  }
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  if (i0 >= p.n || stopped()) { return; }
  for (var j = 0u; j < PER; j++) {
    let i = i0 + j * stride(nwg);
    if (i < p.n) { adam_at(i); }
  }
}

@compute @workgroup_size(WG)
fn sgd4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  if (i0 >= p.n / 4u || stopped()) { return; }
  for (var j = 0u; j < PER; j++) {
    let i = i0 + j * stride(nwg);
    if (i < p.n / 4u) { sgd4_at(i); }
  }
}

@compute @workgroup_size(WG)
fn adam4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i0 = first(gid, nwg);
  if (i0 >= p.n / 4u || stopped()) { return; }
  for (var j = 0u; j < PER; j++) {
    let i = i0 + j * stride(nwg);
    if (i < p.n / 4u) { adam4_at(i); }
  }
}
