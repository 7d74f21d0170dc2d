// Ablation importance, batched: many "network without unit i" variants in one pass, the variant
// as a batch dimension (row v * n + r is sample r under variant v).
//   rank1_ablate  next layer's pre-activations with one unit of the layer below removed: a
//                 rank-1 update of z = a W + b, so nothing before it is recomputed:
//                 out[v n + r, j] = act(z[r, j] - a[r, unit_v] * w[unit_v, j]).
//                 Straight into the output layer (act = identity) these are the variant's logits.
//   channel_ablate  a convolution's outputs z [n, m] (m = positions x channels, channels last)
//                 under each variant v without channel unit_of[v] (cols = channels, units = m):
//                 out[v n + r, q] = 0 where q % channels == unit_of[v], else z[r, q]; the layers
//                 after it then run on all variants at once.
//   variant_loss  per variant, the summed softmax cross-entropy of its n rows of logits, minus
//                 that of the unchanged model's logits `base` [n, C] row by row when diff = 1
//                 (small differences summed directly keep f32 precise), added to sums[offset + v]
//                 (so chunks of data accumulate). Kahan-compensated.
//   taylor        per unit, sum over rows of |a * dL/da| (first-order Taylor estimate of the
//                 loss change), added to scores.

struct Params {
  n: u32,       // samples in this chunk
  cols: u32,    // width of the next layer (rank1) or classes (variant_loss)
  units: u32,   // width of the ablated layer (rank1) or of the layer (taylor)
  variants: u32,
  act: u32,     // 0 identity, 1 relu, 2 tanh, 3 sigmoid (as the GEMM epilogue)
  offset: u32,  // where this chunk's variants start in sums
  diff: u32,    // variant_loss: 1 subtracts the base row's loss
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> unit_of: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(4) var<storage, read> base: array<f32>;
@group(0) @binding(1) var<storage, read> acts: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

override WG: u32 = 256;

//! include _tanh.wgsl

fn activate(x: f32) -> f32 {
  switch p.act {
    case 1u: { return max(x, 0.0); }
    case 2u: { return tanh1(x); }
    case 3u: { return 1.0 / (1.0 + exp(-x)); }
    default: { return x; }
  }
}

@compute @workgroup_size(WG)
fn rank1_ablate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.variants * p.n * p.cols) { return; }
  let j = i % p.cols;
  let row = i / p.cols;   // v * n + r
  let r = row % p.n;
  let u = unit_of[row / p.n];
  out[i] = activate(z[r * p.cols + j] - a[r * p.units + u] * w[u * p.cols + j]);
}

@compute @workgroup_size(WG)
fn channel_ablate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.variants * p.n * p.units) { return; }
  let q = i % p.units;
  let row = i / p.units;   // v * n + r
  let r = row % p.n;
  let c = unit_of[row / p.n];
  out[i] = select(z[r * p.units + q], 0.0, q % p.cols == c);
}

// Cross-entropy of one row, once per array: WGSL without unrestricted_pointer_parameters cannot
// pass a storage array to a function.
fn row_loss_logits(row: u32, label: u32) -> f32 {
  let b = row * p.cols;
  var m = logits[b];
  for (var c = 1u; c < p.cols; c++) { m = max(m, logits[b + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(logits[b + c] - m); }
  return m + log(s) - logits[b + label];
}

fn row_loss_base(r: u32, label: u32) -> f32 {
  let b = r * p.cols;
  var m = base[b];
  for (var c = 1u; c < p.cols; c++) { m = max(m, base[b + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(base[b + c] - m); }
  return m + log(s) - base[b + label];
}

@compute @workgroup_size(64)
fn variant_loss(@builtin(global_invocation_id) gid: vec3u) {
  let v = gid.x;
  if (v >= p.variants) { return; }
  var total = 0.0;
  var carry = 0.0;
  for (var r = 0u; r < p.n; r++) {
    let label = u32(labels[r]);
    var term = row_loss_logits(v * p.n + r, label);
    if (p.diff == 1u) { term -= row_loss_base(r, label); }
    let y = term - carry;
    let t = total + y;
    carry = (t - total) - y;
    total = t;
  }
  sums[p.offset + v] += total;
}

@compute @workgroup_size(64)
fn taylor(@builtin(global_invocation_id) gid: vec3u) {
  let u = gid.x;
  if (u >= p.units) { return; }
  var total = 0.0;
  for (var r = 0u; r < p.n; r++) { total += abs(acts[r * p.units + u] * g[r * p.units + u]); }
  scores[u] += total;
}
