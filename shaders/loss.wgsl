// Losses over a batch of B rows of outputs z [B, C], fused with their gradient and reduction:
//   softmax_cross_entropy  labels [B] (i32); log-sum-exp for stability; label smoothing eps:
//                          target q = (1 - eps) * onehot(label) + eps / C.
//                          dL/dz = (softmax(z) - q) * grad_scale
//   mse                    targets t [B, C]; L = sum (z - t)^2, dL/dz = 2 (z - t) * grad_scale
//   bce_logits             targets t [B, C] in [0, 1]; L = max(z, 0) - z t + log(1 + exp(-|z|)),
//                          dL/dz = (sigmoid(z) - t) * grad_scale
// grad_scale is 1 / (B * C) or 1 / B (mean over what the loss averages), set by the host.
//   softmax                probabilities [B, C] = softmax(z) row by row, into grad (inference).
//   distillation           Hinton et al. 2015, student logits z, teacher logits t, labels y:
//                          L = alpha T^2 KL(softmax(t / T) || softmax(z / T)) + (1 - alpha) CE(y, z)
//                          dL/dz = (alpha T (softmax(z / T) - softmax(t / T))
//                                   + (1 - alpha) (softmax(z) - onehot(y))) * grad_scale
//                          (the T^2 keeps the soft term's gradients on the scale of the hard one);
//                          with alpha = 1 the labels are not read (an unlabelled transfer set).
// One workgroup walks all rows (losses are cheap next to the GEMMs around them), sums the
// per-row losses and correct predictions in workgroup memory and adds them to `stats`, which
// stays on the GPU across a whole epoch:
//   stats[0] += sum of per-row losses, stats[1] += correct predictions,
//   stats[2]  = the first `step` whose loss was not finite (-1 while none) - the optimizers
//               read it and stop updating, so the last good weights are kept.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,          // label smoothing (cross-entropy only)
  grad_scale: f32,
  write_grad: u32,   // 0 when only evaluating
  step: f32,         // this batch's step number, recorded in stats[2] if the loss is not finite
  alpha: f32,        // distillation
  temperature: f32,  // distillation
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read> teacher: array<f32>;

const WG: u32 = 64u;
var<workgroup> loss_sum: array<f32, WG>;
var<workgroup> correct_sum: array<f32, WG>;

// Inf and NaN both have an all-ones exponent; WGSL has no isnan and x != x may be folded away.
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn finish(lid: u32, loss: f32, correct: f32) {
  loss_sum[lid] = loss;
  correct_sum[lid] = correct;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) {
      loss_sum[lid] += loss_sum[lid + s];
      correct_sum[lid] += correct_sum[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = loss_sum[0];
    stats[0] += total;
    stats[1] += correct_sum[0];
    if (!finite(total) && stats[2] < 0.0) { stats[2] = p.step; }
  }
}

@compute @workgroup_size(WG)
fn softmax_cross_entropy(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  var correct = 0.0;
  let C = p.cols;
  for (var r = lid; r < p.rows; r += WG) {
    let base = r * C;
    let label = u32(labels[r]);
    var m = z[base];
    var best = 0u;
    for (var c = 1u; c < C; c++) {
      let v = z[base + c];
      if (v > m) { m = v; best = c; }
    }
    var s = 0.0;
    var zsum = 0.0;
    for (var c = 0u; c < C; c++) {
      s += exp(z[base + c] - m);
      zsum += z[base + c];
    }
    let lse = m + log(s);
    // -sum_c q_c log p_c = (1 - eps) (lse - z_label) + eps (lse - mean z)
    loss += (1.0 - p.eps) * (lse - z[base + label]) + p.eps * (lse - zsum / f32(C));
    correct += select(0.0, 1.0, best == label);
    if (p.write_grad != 0u) {
      for (var c = 0u; c < C; c++) {
        let q = p.eps / f32(C) + select(0.0, 1.0 - p.eps, c == label);
        grad[base + c] = (exp(z[base + c] - lse) - q) * p.grad_scale;
      }
    }
  }
  finish(lid, loss, correct);
}

@compute @workgroup_size(WG)
fn mse(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  for (var i = lid; i < p.rows * p.cols; i += WG) {
    let d = z[i] - targets[i];
    loss += d * d;
    if (p.write_grad != 0u) { grad[i] = 2.0 * d * p.grad_scale; }
  }
  finish(lid, loss, 0.0);
}

@compute @workgroup_size(WG)
fn bce_logits(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  var correct = 0.0;
  for (var i = lid; i < p.rows * p.cols; i += WG) {
    let x = z[i];
    let t = targets[i];
    loss += max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
    correct += select(0.0, 1.0, (x > 0.0) == (t > 0.5));
    if (p.write_grad != 0u) { grad[i] = (1.0 / (1.0 + exp(-x)) - t) * p.grad_scale; }
  }
  finish(lid, loss, correct);
}

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var m = z[base];
  for (var c = 1u; c < p.cols; c++) { m = max(m, z[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(z[base + c] - m); }
  for (var c = 0u; c < p.cols; c++) { grad[base + c] = exp(z[base + c] - m) / s; }
}

// log-sum-exp of row `base` of z / tt (student), and of teacher / tt below: two copies because
// portable WGSL cannot pass a storage array to a function.
fn lse_z(base: u32, tt: f32) -> f32 {
  var m = z[base] / tt;
  for (var c = 1u; c < p.cols; c++) { m = max(m, z[base + c] / tt); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(z[base + c] / tt - m); }
  return m + log(s);
}

fn lse_t(base: u32, tt: f32) -> f32 {
  var m = teacher[base] / tt;
  for (var c = 1u; c < p.cols; c++) { m = max(m, teacher[base + c] / tt); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(teacher[base + c] / tt - m); }
  return m + log(s);
}

@compute @workgroup_size(WG)
fn distillation(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  var correct = 0.0;
  let T = p.temperature;
  let hard = p.alpha < 1.0;
  for (var r = lid; r < p.rows; r += WG) {
    let base = r * p.cols;
    let zs = lse_z(base, T);
    let ts = lse_t(base, T);
    let z1 = lse_z(base, 1.0);
    var label = 0u;
    if (hard) { label = u32(labels[r]); }
    // KL(pt || ps) = sum pt (log pt - log ps)
    var kl = 0.0;
    var best = 0u;
    for (var c = 0u; c < p.cols; c++) {
      let lpt = teacher[base + c] / T - ts;
      let lps = z[base + c] / T - zs;
      kl += exp(lpt) * (lpt - lps);
      if (z[base + c] > z[base + best]) { best = c; }
    }
    var row = p.alpha * T * T * kl;
    if (hard) {
      row += (1.0 - p.alpha) * (z1 - z[base + label]);
      correct += select(0.0, 1.0, best == label);
    }
    loss += row;
    if (p.write_grad != 0u) {
      for (var c = 0u; c < p.cols; c++) {
        var g = p.alpha * T * (exp(z[base + c] / T - zs) - exp(teacher[base + c] / T - ts));
        if (hard) { g += (1.0 - p.alpha) * (exp(z[base + c] - z1) - select(0.0, 1.0, c == label)); }
        grad[base + c] = g * p.grad_scale;
      }
    }
  }
  finish(lid, loss, correct);
}
