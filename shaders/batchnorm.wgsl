// Batch normalization over the columns of x [rows, cols]: channels last, so a batch of NHWC images
// [n, h, w, c] is rows = n * h * w of c columns (BatchNorm2d) and dense outputs [n, c] are n rows
// (BatchNorm1d). Per column c: xhat = (x - mean) * invstd, y = act(gamma * xhat + beta).
// Column sums run in two passes, so no atomics and every sum is deterministic: chunks of rows give
// partial results [chunks, cols, 2], one invocation per column folds them.
//   partial_stats   per chunk and column: the chunk's mean and sum of squared deviations from it
//   finish_stats    per column: Chan et al.'s merge of the chunks into the batch's mean and biased
//                   variance; affine = (mean, invstd, gamma * invstd, beta); with update = 1 the
//                   running averages move by momentum (the variance unbiased, rows / (rows - 1), as
//                   PyTorch's)
//   running_affine  affine from the running averages (inference)
//   apply           y = act((x - mean) * gamma * invstd + beta)
//   partial_grads   per chunk and column: sums of dz and of dz * xhat
//   finish_grads    dbeta = sum dz, dgamma = sum dz * xhat; coef = (dbeta / rows, dgamma / rows)
//   input_grads     dx = gamma * invstd * (dz - dbeta / rows - xhat * dgamma / rows)

struct Params {
  rows: u32,
  cols: u32,
  chunk: u32,     // rows per chunk of the partial passes
  chunks: u32,
  eps: f32,
  momentum: f32,
  update: u32,    // finish_stats: 1 moves the running averages
  act: u32,       // apply: 0 identity, 1 relu, 2 tanh, 3 sigmoid (as the GEMM epilogue)
}

@group(0) @binding(0) var<uniform> p: Params;
// partial_stats, apply, partial_grads, input_grads
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<vec2f>;
// finish_stats, running_affine, finish_grads
@group(0) @binding(1) var<storage, read> partial_in: array<vec2f>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> running: array<f32>;   // [mean..., var...]
@group(0) @binding(5) var<storage, read_write> affine: array<vec4f>;
@group(0) @binding(1) var<storage, read> running_in: array<f32>;
// apply
@group(0) @binding(2) var<storage, read> affine_in: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// partial_grads, input_grads
@group(0) @binding(3) var<storage, read> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial_out: array<vec2f>;
@group(0) @binding(4) var<storage, read> coef_in: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
// finish_grads
@group(0) @binding(2) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(4) var<storage, read_write> coef: array<vec2f>;

override WG: u32 = 256;

fn linear(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
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

// Rows [first, last) of chunk k.
fn chunk_rows(k: u32) -> vec2u {
  let first = k * p.chunk;
  return vec2u(first, min(first + p.chunk, p.rows));
}

@compute @workgroup_size(WG)
fn partial_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.chunks * p.cols) { return; }
  let c = i % p.cols;
  let r = chunk_rows(i / p.cols);
  var sum = 0.0;
  for (var row = r.x; row < r.y; row++) { sum += x[row * p.cols + c]; }
  let mean = sum / f32(r.y - r.x);
  var m2 = 0.0;
  for (var row = r.x; row < r.y; row++) {
    let d = x[row * p.cols + c] - mean;
    m2 += d * d;
  }
  partial[i] = vec2f(mean, m2);
}

@compute @workgroup_size(WG)
fn finish_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear(gid, nwg);
  if (c >= p.cols) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < p.chunks; k++) {
    let r = chunk_rows(k);
    let nb = f32(r.y - r.x);
    let b = partial_in[k * p.cols + c];
    let delta = b.x - mean;
    let total = n + nb;
    mean += delta * nb / total;
    m2 += b.y + delta * delta * n * nb / total;
    n = total;
  }
  let variance = m2 / n;
  let invstd = inverseSqrt(variance + p.eps);
  affine[c] = vec4f(mean, invstd, gamma[c] * invstd, beta[c]);
  if (p.update == 1u) {
    running[c] = (1.0 - p.momentum) * running[c] + p.momentum * mean;
    running[p.cols + c] = (1.0 - p.momentum) * running[p.cols + c] + p.momentum * m2 / (n - 1.0);
  }
}

@compute @workgroup_size(WG)
fn running_affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear(gid, nwg);
  if (c >= p.cols) { return; }
  let invstd = inverseSqrt(running_in[p.cols + c] + p.eps);
  affine[c] = vec4f(running_in[c], invstd, gamma[c] * invstd, beta[c]);
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.rows * p.cols) { return; }
  let a = affine_in[i % p.cols];
  y[i] = activate((x[i] - a.x) * a.z + a.w);
}

@compute @workgroup_size(WG)
fn partial_grads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.chunks * p.cols) { return; }
  let c = i % p.cols;
  let a = affine_in[c];
  let r = chunk_rows(i / p.cols);
  var s = vec2f(0.0);
  for (var row = r.x; row < r.y; row++) {
    let g = dz[row * p.cols + c];
    s += vec2f(g, g * (x[row * p.cols + c] - a.x) * a.y);
  }
  partial_out[i] = s;
}

@compute @workgroup_size(WG)
fn finish_grads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear(gid, nwg);
  if (c >= p.cols) { return; }
  var s = vec2f(0.0);
  for (var k = 0u; k < p.chunks; k++) { s += partial_in[k * p.cols + c]; }
  dbeta[c] = s.x;
  dgamma[c] = s.y;
  coef[c] = s / f32(p.rows);
}

@compute @workgroup_size(WG)
fn input_grads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= p.rows * p.cols) { return; }
  let c = i % p.cols;
  let a = affine_in[c];
  let k = coef_in[c];
  dx[i] = a.z * (dz[i] - k.x - (x[i] - a.x) * a.y * k.y);
}
