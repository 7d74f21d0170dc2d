// Binary and ternary weights, with one alpha per output channel (a column of W [rows, cols]) or
// one for the tensor. Pruned weights (mask 0, with HAS_MASK) take no part and stay exactly 0.
//   alpha  one invocation per channel: binary (XNOR-Net, Rastegari et al. 2016) alpha = mean |w|
//          over the kept weights; ternary (TWN, Li et al. 2016) delta = 0.7 mean |w|, alpha = mean
//          |w| over the kept weights with |w| > delta (0 where there are none).
//   apply  binary: w >= 0 ? alpha : -alpha; ternary: |w| > delta ? sign(w) alpha : 0; 0 if pruned.
// In quantization-aware training these run every step on the float master weights (gradients
// pass straight through, as for min-max fake quantization).

struct Params {
  rows: u32,
  cols: u32,
  per_channel: u32,  // 1: a channel per column; 0: one for all
  ternary: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> alpha: array<f32>;
@group(0) @binding(4) var<storage, read_write> delta: array<f32>;
@group(0) @binding(3) var<storage, read> alpha_r: array<f32>;
@group(0) @binding(4) var<storage, read> delta_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
override HAS_MASK: bool = false;

fn kept(i: u32) -> bool {
  if (HAS_MASK) { return mask[i] != 0.0; }
  return true;
}

@compute @workgroup_size(WG)
fn alpha_of(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let channels = select(1u, p.cols, p.per_channel == 1u);
  if (c >= channels) { return; }
  // Per channel: the rows of column c; per tensor: every element.
  let count = select(p.rows * p.cols, p.rows, p.per_channel == 1u);
  let stride = select(1u, p.cols, p.per_channel == 1u);
  var total = 0.0;
  var n = 0.0;
  for (var k = 0u; k < count; k++) {
    let i = c + k * stride;
    if (kept(i)) { total += abs(w[i]); n += 1.0; }
  }
  let mean = select(0.0, total / n, n > 0.0);
  if (p.ternary == 0u) {
    alpha[c] = mean;
    delta[c] = 0.0;
    return;
  }
  let threshold = 0.7 * mean;
  var above = 0.0;
  var m = 0.0;
  for (var k = 0u; k < count; k++) {
    let i = c + k * stride;
    if (kept(i) && abs(w[i]) > threshold) { above += abs(w[i]); m += 1.0; }
  }
  alpha[c] = select(0.0, above / m, m > 0.0);
  delta[c] = threshold;
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.rows * p.cols) { return; }
  let c = select(0u, i % p.cols, p.per_channel == 1u);
  let v = w[i];
  let a = alpha_r[c];
  var q: f32;
  if (p.ternary == 1u) {
    q = select(0.0, select(-a, a, v > 0.0), abs(v) > delta_r[c]);
  } else {
    q = select(-a, a, v >= 0.0);
  }
  out[i] = select(0.0, q, kept(i));
}
