// Min-max quantization (Jacob et al. 2018; PyTorch's MinMaxObserver): q = clamp(round(x / s) + z,
// qmin, qmax), x' = (q - z) s, with one (s, z) per tensor or per channel. The parameters are
// computed by the host from GPU min/max reductions (src/compress/quantize.ts).
//   fake_quant  x' for every element of x [rows, cols]; channel = row or column (p.axis), or one
//               pair for the whole tensor. Quantization-aware training runs the forward pass on
//               x' and passes gradients straight through (Bengio et al. 2013).
//   pack_rows   quantizes x [rows, cols] row by row into lanes of p.lane_bits bits (8: four per
//               u32, 4: eight per u32), little-end lane first; a row is padded with zeros to
//               whole words (a padded activation uses its zero point, which contributes 0)
//   qgemm       C [M, N] = act(s[n] * sum_k (qx[m, k] - zx) * (qw[n, k] - zw[n]) + bias[n]) with
//               s[n] = sx * sw[n] (the input scale times the channel's weight scale, combined by
//               the host): X packed as uint8 lanes [M, ...], W^T packed [N, words] in
//               p.lane_bits lanes. The sum is exact in i32, then one float multiply, so a CPU
//               model of the same integer arithmetic matches exactly (within an ulp once the
//               bias add may be fused into it).
//   qparams     (s, z) per channel from per-channel minima and maxima, on the GPU (no readback):
//               the range is widened to include 0 (so 0.0 is exact); affine s = (max - min) /
//               (qmax - qmin), z = qmin - round(min / s); symmetric s = max(|min|, max) /
//               ((qmax - qmin) / 2), z = 0 (or the mid-point for unsigned); s is at least
//               float32 eps (1.1920929e-07), as PyTorch's, so an all-zero range gets s = eps and
//               z = 0 (symmetric) or qmin (affine).

struct Params {
  rows: u32,
  cols: u32,
  words: u32,      // u32 words per packed row
  axis: u32,       // fake_quant / pack_rows: 0 one (s, z) for all, 1 per row, 2 per column
  qmin: i32,
  qmax: i32,
  lane_bits: u32,  // 8 or 4
  signed_lanes: u32,
  // qgemm
  M: u32,
  N: u32,
  zx: i32,
  has_bias: u32,
  act: u32,        // 0 identity, 1 relu, 2 tanh, 3 sigmoid
  symmetric: u32,  // qparams
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zero: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> packed: array<u32>;
@group(0) @binding(1) var<storage, read> qx: array<u32>;
@group(0) @binding(5) var<storage, read> qw: array<u32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;
@group(0) @binding(1) var<storage, read> mins: array<f32>;
@group(0) @binding(5) var<storage, read> maxs: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> zero_out: array<i32>;

const WG: u32 = 256u;

fn linear(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn channel(r: u32, c: u32) -> u32 {
  switch p.axis {
    case 1u: { return r; }
    case 2u: { return c; }
    default: { return 0u; }
  }
}

// round() in WGSL rounds halves to even, as torch.round and numpy.round do.
fn quantize(v: f32, ch: u32) -> i32 {
  return clamp(i32(round(v / scale[ch])) + zero[ch], p.qmin, p.qmax);
}

@compute @workgroup_size(WG)
fn fake_quant(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.rows * p.cols) { return; }
  let ch = channel(i / p.cols, i % p.cols);
  out[i] = f32(quantize(x[i], ch) - zero[ch]) * scale[ch];
}

@compute @workgroup_size(WG)
fn pack_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = linear(gid, nwg);
  if (t >= p.rows * p.words) { return; }
  let r = t / p.words;
  let wd = t % p.words;
  let lanes = 32u / p.lane_bits;
  let lane_mask = (1u << p.lane_bits) - 1u;
  var word = 0u;
  for (var j = 0u; j < lanes; j++) {
    let c = wd * lanes + j;
    var q = 0;
    if (c < p.cols) {
      q = quantize(x[r * p.cols + c], channel(r, c));
    } else {
      q = zero[channel(r, 0u)];
    }
    word |= (bitcast<u32>(q) & lane_mask) << (j * p.lane_bits);
  }
  packed[t] = word;
}

//! include _tanh.wgsl

fn activate(v: f32) -> f32 {
  switch p.act {
    case 1u: { return max(v, 0.0); }
    case 2u: { return tanh1(v); }
    case 3u: { return 1.0 / (1.0 + exp(-v)); }
    default: { return v; }
  }
}

// Lane j of a word, sign-extended when the lanes are signed.
fn lane(word: u32, j: u32) -> i32 {
  if (p.signed_lanes != 0u) { return extractBits(bitcast<i32>(word), j * p.lane_bits, p.lane_bits); }
  return i32(extractBits(word, j * p.lane_bits, p.lane_bits));
}

@compute @workgroup_size(8, 8)
fn qgemm(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  if (m >= p.M || n >= p.N) { return; }
  // X is always 8-bit lanes; W has p.lane_bits lanes: walk W's words, X's bytes alongside.
  let lanes = 32u / p.lane_bits;
  let xwords = (p.words * lanes + 3u) / 4u;
  var acc = 0;
  for (var wd = 0u; wd < p.words; wd++) {
    let w = qw[n * p.words + wd];
    for (var j = 0u; j < lanes; j++) {
      let k = wd * lanes + j;
      let xb = i32(extractBits(qx[m * xwords + k / 4u], (k % 4u) * 8u, 8u));
      acc += (xb - p.zx) * (lane(w, j) - zero[n]);
    }
  }
  var v = scale[n] * f32(acc);
  if (p.has_bias != 0u) { v += bias[n]; }
  out[m * p.N + n] = activate(v);
}

@compute @workgroup_size(64)
fn qparams(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.rows) { return; }
  let lo = min(mins[c], 0.0);
  let hi = max(maxs[c], 0.0);
  let span = f32(p.qmax - p.qmin);
  // PyTorch's MinMaxObserver floors the scale at float32 eps (an all-zero range included).
  let eps = 1.1920928955078125e-07;
  if (p.symmetric != 0u) {
    scale_out[c] = max(max(-lo, hi) / (span / 2.0), eps);
    zero_out[c] = select((p.qmin + p.qmax + 1) / 2, 0, p.qmin < 0);
    return;
  }
  let s = max((hi - lo) / span, eps);
  scale_out[c] = s;
  zero_out[c] = clamp(p.qmin - i32(round(lo / s)), p.qmin, p.qmax);
}
