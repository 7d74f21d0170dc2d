// Magnitude pruning. Every weight gets the key (bits(|w|), global index): for non-negative
// floats the bit pattern orders like the value, and the index breaks ties, so the keys are all
// different and "the k smallest" is exact in count and deterministic.
//   key_histogram  one pass of a radix select: a 256-bin histogram of one byte of the key, over
//                  the weights whose higher bytes match the prefix found so far
//   mask_below     mask = 0 where key <= the selected key (pruned), else keeps the old mask;
//                  the weight is multiplied by the mask
//   mask_value     mask = 0 where |w| <= threshold (the fixed-threshold criterion), same rules
//   column_norms   sum over rows of |w| or w^2 for each column (neuron) of w [rows, cols]
//   column_mask    mask[i, j] = keep[j] * old mask (structured pruning of whole neurons)
//   apply_mask     mask[i] = keep[i] * old mask (a mask given by the caller)
//   nm_mask        N:M: in each group of M consecutive rows of a column, keep the N largest |w|
//                  (ties to the lower row), times the old mask
// A mask is f32, 1 keeps and 0 prunes; pruned weights are set to exactly +0.

struct Params {
  n: u32,          // elements of w
  cols: u32,       // columns of w (column kernels)
  base: u32,       // global index of w[0] (global pruning across layers)
  shift: u32,      // which byte of the key this pass counts (0..7: value bytes 3..0, index bytes 3..0)
  value_mask: u32, // bits of bits(|w|) that must equal value_prefix
  value_prefix: u32,
  index_mask: u32, // bits of the global index that must equal index_prefix
  index_prefix: u32,
  threshold: f32,  // mask_value
  power: u32,      // column_norms: 1 or 2
  n_keep: u32,     // nm_mask: N
  group: u32,      // nm_mask: M
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read> wr: array<f32>;
@group(0) @binding(3) var<storage, read_write> norms: array<f32>;
@group(0) @binding(3) var<storage, read> keep: array<f32>;

const WG: u32 = 256u;
var<workgroup> local_hist: array<atomic<u32>, 256>;

fn linear(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn key_byte(bits: u32, index: u32) -> u32 {
  if (p.shift < 4u) { return (bits >> (24u - 8u * p.shift)) & 255u; }
  return (index >> (24u - 8u * (p.shift - 4u))) & 255u;
}

@compute @workgroup_size(WG)
fn key_histogram(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  atomicStore(&local_hist[lid], 0u);
  workgroupBarrier();
  let i = linear(gid, nwg);
  if (i < p.n) {
    let bits = bitcast<u32>(abs(wr[i]));
    let index = p.base + i;
    if ((bits & p.value_mask) == p.value_prefix && (index & p.index_mask) == p.index_prefix) {
      atomicAdd(&local_hist[key_byte(bits, index)], 1u);
    }
  }
  workgroupBarrier();
  let count = atomicLoad(&local_hist[lid]);
  if (count > 0u) { atomicAdd(&histogram[lid], count); }
}

// The selected key is (value_prefix, index_prefix) with both masks all ones.
@compute @workgroup_size(WG)
fn mask_below(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.n) { return; }
  let bits = bitcast<u32>(abs(w[i]));
  let index = p.base + i;
  let pruned = bits < p.value_prefix || (bits == p.value_prefix && index <= p.index_prefix);
  let m = select(mask[i], 0.0, pruned);
  mask[i] = m;
  w[i] = select(0.0, w[i], m != 0.0);  // +0, not -0, for pruned weights
}

@compute @workgroup_size(WG)
fn mask_value(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.n) { return; }
  let m = select(mask[i], 0.0, abs(w[i]) <= p.threshold);
  mask[i] = m;
  w[i] = select(0.0, w[i], m != 0.0);  // +0, not -0, for pruned weights
}

@compute @workgroup_size(WG)
fn column_norms(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.cols) { return; }
  var s = 0.0;
  for (var i = j; i < p.n; i += p.cols) {
    let v = abs(wr[i]);
    s += select(v, v * v, p.power == 2u);
  }
  norms[j] = s;
}

@compute @workgroup_size(WG)
fn column_mask(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.n) { return; }
  let m = mask[i] * keep[i % p.cols];
  mask[i] = m;
  w[i] = select(0.0, w[i], m != 0.0);  // +0, not -0, for pruned weights
}

@compute @workgroup_size(WG)
fn apply_mask(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.n) { return; }
  let m = mask[i] * keep[i];
  mask[i] = m;
  w[i] = select(0.0, w[i], m != 0.0);  // +0, not -0, for pruned weights
}

@compute @workgroup_size(WG)
fn nm_mask(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // One invocation per (group of rows, column); rows past the end form a short last group.
  let t = linear(gid, nwg);
  let rows = p.n / p.cols;
  let groups = (rows + p.group - 1u) / p.group;
  if (t >= groups * p.cols) { return; }
  let j = t % p.cols;
  let r0 = (t / p.cols) * p.group;
  let r1 = min(r0 + p.group, rows);
  // Rank the whole group before writing: zeroing a weight must not change a later rank.
  var kept: array<bool, 32>;
  for (var r = r0; r < r1; r++) {
    let v = abs(w[r * p.cols + j]);
    var rank = 0u;  // how many in the group beat this one (larger, or equal and on an earlier row)
    for (var q = r0; q < r1; q++) {
      let u = abs(w[q * p.cols + j]);
      if (u > v || (u == v && q < r)) { rank++; }
    }
    kept[r - r0] = rank < p.n_keep;
  }
  for (var r = r0; r < r1; r++) {
    let i = r * p.cols + j;
    let m = select(0.0, mask[i], kept[r - r0]);
    mask[i] = m;
    w[i] = select(0.0, w[i], m != 0.0);  // +0, not -0, for pruned weights
  }
}
