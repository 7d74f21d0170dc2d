// Evaluation metrics where the outputs live, accumulated over batches:
//   classify         per row of outputs z [B, C] with label y: the predicted class (argmax, first
//                    of ties) into pred[offset + r], the confusion matrix entry [label, pred]
//                    (atomic), and whether the label is among the top-k outputs (atomic count).
//                    Ties rank as in scikit-learn's top_k_accuracy_score (a stable sort, then
//                    reversed): an output equal to the label's counts ahead of it when its class
//                    index is higher.
//   regression_sums  per output column c of z against targets t [B, C], added to sums[4c..4c+3]:
//                    sum (z - t)^2, sum |z - t|, sum t, sum t^2 (for MSE, MAE and R^2).
//   per_sample       per row: the cross-entropy loss, 1 - the top softmax probability, the
//                    probability of the true class and 1 if the top class is the label, into
//                    samples[4 (offset + r) ..] (the inputs of membership-inference attacks),
//                    computed so that confident rows keep distinct values in f32.

struct Params {
  rows: u32,
  cols: u32,
  k: u32,        // top-k
  offset: u32,   // where this batch's rows start in pred
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> pred: array<u32>;
@group(0) @binding(4) var<storage, read_write> confusion: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> topk: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(3) var<storage, read_write> samples: array<f32>;

@compute @workgroup_size(64)
fn classify(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let label = u32(labels[r]);
  var best = 0u;
  var above = 0u;   // outputs ranked ahead of the label's: higher, or equal with a higher index
  let zl = z[base + label];
  for (var c = 0u; c < p.cols; c++) {
    let v = z[base + c];
    if (v > z[base + best]) { best = c; }
    if (v > zl || (v == zl && c > label)) { above++; }
  }
  pred[p.offset + r] = best;
  atomicAdd(&confusion[label * p.cols + best], 1u);
  if (above < p.k) { atomicAdd(&topk[0], 1u); }
}

@compute @workgroup_size(64)
fn regression_sums(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  var sq = 0.0;
  var ab = 0.0;
  var st = 0.0;
  var st2 = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let t = targets[r * p.cols + c];
    let d = z[r * p.cols + c] - t;
    sq += d * d;
    ab += abs(d);
    st += t;
    st2 += t * t;
  }
  sums[4u * c] += sq;
  sums[4u * c + 1u] += ab;
  sums[4u * c + 2u] += st;
  sums[4u * c + 3u] += st2;
}

// log(1 + t) without losing small t to rounding (WGSL has no log1p).
fn log1p_small(t: f32) -> f32 {
  return select(log(1.0 + t), t * (1.0 - t * (0.5 - t / 3.0)), t < 1e-3);
}

@compute @workgroup_size(64)
fn per_sample(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let label = u32(labels[r]);
  var best = 0u;
  for (var c = 1u; c < p.cols; c++) { if (z[base + c] > z[base + best]) { best = c; } }
  let m = z[base + best];
  // The probability mass outside the top class, summed directly: 1 - p_top would round to 0 for
  // confident rows, and every such row would tie.
  var tail = 0.0;
  for (var c = 0u; c < p.cols; c++) { if (c != best) { tail += exp(z[base + c] - m); } }
  let s = 1.0 + tail;
  let out = 4u * (p.offset + r);
  // -log softmax(z)[label]; when the label is the top class it is log(1 + tail), kept precise.
  samples[out] = select(m + log(s) - z[base + label], log1p_small(tail), label == best);
  samples[out + 1u] = tail / s;                      // 1 - top probability
  samples[out + 2u] = exp(z[base + label] - m) / s;  // probability of the true class
  samples[out + 3u] = select(0.0, 1.0, label == best);
}
