// Pooling on NHWC images (x [n, h, w, c]), windows kh x kw at strides sh, sw, padding ph, pw.
//   max_forward   y [n, oh, ow, c] = the largest value in the window (padding never wins; the
//                 first of equal values; a NaN propagates, the last one taken; as PyTorch), and
//                 argmax: the linear index in x of the value taken, for the backward pass.
//   max_backward  dx [n, h, w, c]: each input element sums dy of the windows that took it.
//   avg_forward   y = the window's sum over kh * kw (padding counts as zeros, PyTorch's default
//                 count_include_pad).
//   avg_backward  dx: each input element sums dy / (kh * kw) of the windows that contain it.
// Backward passes gather over the windows containing an element: deterministic, no atomics.

//! include _window.wgsl

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<storage, read> taken: array<u32>;

// By the bits: compilers may assume floats are never NaN and fold v != v away.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG)
fn max_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= g.n * g.oh * g.ow * g.c) { return; }
  let o = nhwc(i, g.oh, g.ow);
  let ni = o.x;
  let ci = o.w;
  // As PyTorch (-inf, then the window's elements in order: one greater than the best, or a NaN,
  // is taken): the first element, then the rest. Ties go to the first; the last NaN wins.
  var best = 0.0;
  var at = 0xffffffffu;
  for (var ky = 0u; ky < g.kh; ky++) {
    let iy = input_row(o.y, ky);
    if (iy < 0 || iy >= i32(g.h)) { continue; }
    for (var kx = 0u; kx < g.kw; kx++) {
      let ix = input_col(o.z, kx);
      if (ix < 0 || ix >= i32(g.w)) { continue; }
      let j = ((ni * g.h + u32(iy)) * g.w + u32(ix)) * g.c + ci;
      let v = x[j];
      if (at == 0xffffffffu || v > best || is_nan(v)) {
        best = v;
        at = j;
      }
    }
  }
  y[i] = best;
  argmax[i] = at;
}

@compute @workgroup_size(WG)
fn max_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= g.n * g.h * g.w * g.c) { return; }
  let p = nhwc(i, g.h, g.w);
  let ni = p.x;
  let ci = p.w;
  var sum = 0.0;
  for (var ky = 0u; ky < g.kh; ky++) {
    let oy = output_row(p.y, ky);
    if (oy < 0) { continue; }
    for (var kx = 0u; kx < g.kw; kx++) {
      let ox = output_col(p.z, kx);
      if (ox < 0) { continue; }
      let at = ((ni * g.oh + u32(oy)) * g.ow + u32(ox)) * g.c + ci;
      if (taken[at] == i) { sum += dy[at]; }
    }
  }
  dx[i] = sum;
}

@compute @workgroup_size(WG)
fn avg_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= g.n * g.oh * g.ow * g.c) { return; }
  let o = nhwc(i, g.oh, g.ow);
  let ni = o.x;
  let ci = o.w;
  var sum = 0.0;
  for (var ky = 0u; ky < g.kh; ky++) {
    let iy = input_row(o.y, ky);
    if (iy < 0 || iy >= i32(g.h)) { continue; }
    for (var kx = 0u; kx < g.kw; kx++) {
      let ix = input_col(o.z, kx);
      if (ix < 0 || ix >= i32(g.w)) { continue; }
      sum += x[((ni * g.h + u32(iy)) * g.w + u32(ix)) * g.c + ci];
    }
  }
  y[i] = sum / f32(g.kh * g.kw);
}

@compute @workgroup_size(WG)
fn avg_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= g.n * g.h * g.w * g.c) { return; }
  let p = nhwc(i, g.h, g.w);
  let ni = p.x;
  let ci = p.w;
  var sum = 0.0;
  for (var ky = 0u; ky < g.kh; ky++) {
    let oy = output_row(p.y, ky);
    if (oy < 0) { continue; }
    for (var kx = 0u; kx < g.kw; kx++) {
      let ox = output_col(p.z, kx);
      if (ox < 0) { continue; }
      sum += dy[((ni * g.oh + u32(oy)) * g.ow + u32(ox)) * g.c + ci];
    }
  }
  dx[i] = sum / f32(g.kh * g.kw);
}
