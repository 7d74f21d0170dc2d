// Convolution as im2col + GEMM, on NHWC images (x [n, h, w, c], row-major). A filter bank is a
// matrix W [kh * kw * c, f] whose row (ky, kx, ci) holds weight (ky, kx, ci) of each filter
// (TensorFlow's HWIO), so y [n * oh * ow, f] = im2col(x) W is the output in NHWC too, and the
// blocked GEMM does the work (src/kernels/conv.ts).
//   im2col  cols [n * oh * ow, kp]: row (ni, oy, ox), column (ky, kx, ci) holds
//           x[ni, oy * sh - ph + ky, ox * sw - pw + kx, ci], 0 in the padding; the columns from
//           k = kh * kw * c to kp are 0 (kp rounds k up to whole vec4s for the blocked GEMM).
//   col2im  dx [n, h, w, c] from dcols: each input element sums the columns that read it (a
//           gather over the kernel positions, so no atomics and a deterministic sum).

//! include _window.wgsl

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols4: array<vec4f>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> dcols: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// One column of one window: x at (ky, kx, ci) of row (ni, oy, ox), 0 in the padding and past k.
fn window_value(row: u32, col: u32) -> f32 {
  let k = g.kh * g.kw * g.c;
  let ox = row % g.ow;
  let oy = (row / g.ow) % g.oh;
  let ni = row / (g.ow * g.oh);
  let cc = min(col, k - 1u);
  let ci = cc % g.c;
  let kx = (cc / g.c) % g.kw;
  let ky = cc / (g.c * g.kw);
  let iy = input_row(oy, ky);
  let ix = input_col(ox, kx);
  let inside = iy >= 0 && iy < i32(g.h) && ix >= 0 && ix < i32(g.w) && col < k;
  // The index is clamped so the load stays in x even where its value is not used.
  let at = ((ni * g.h + u32(clamp(iy, 0, i32(g.h) - 1))) * g.w + u32(clamp(ix, 0, i32(g.w) - 1))) * g.c + ci;
  return select(0.0, x[at], inside);
}

// Four columns per invocation and one vec4 store (kp is a multiple of 4): a third less time on
// llvmpipe than one column per invocation.
@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  let quads = g.kp / 4u;
  if (i >= g.n * g.oh * g.ow * quads) { return; }
  let row = i / quads;
  let col = (i % quads) * 4u;
  cols4[i] = vec4f(window_value(row, col), window_value(row, col + 1u), window_value(row, col + 2u), window_value(row, col + 3u));
}

// Channels in whole vec4s (c % 4 == 0, so k == kp): four columns are four channels of one pixel,
// one vec4 load and one vec4 store.
@compute @workgroup_size(WG)
fn im2col_c4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  let quads = g.kp / 4u;
  if (i >= g.n * g.oh * g.ow * quads) { return; }
  let row = i / quads;
  let col = (i % quads) * 4u;
  let ox = row % g.ow;
  let oy = (row / g.ow) % g.oh;
  let ni = row / (g.ow * g.oh);
  let ci = col % g.c;
  let kx = (col / g.c) % g.kw;
  let ky = col / (g.c * g.kw);
  let iy = input_row(oy, ky);
  let ix = input_col(ox, kx);
  let inside = iy >= 0 && iy < i32(g.h) && ix >= 0 && ix < i32(g.w);
  let at = ((ni * g.h + u32(clamp(iy, 0, i32(g.h) - 1))) * g.w + u32(clamp(ix, 0, i32(g.w) - 1))) * g.c + ci;
  cols4[i] = select(vec4f(0.0), x4[at / 4u], inside);
}

@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= g.n * g.h * g.w * g.c) { return; }
  let p = nhwc(i, g.h, g.w);
  let ci = p.w;
  var sum = 0.0;
  for (var ky = 0u; ky < g.kh; ky++) {
    let oy = output_row(p.y, ky);
    if (oy < 0) { continue; }
    for (var kx = 0u; kx < g.kw; kx++) {
      let ox = output_col(p.z, kx);
      if (ox < 0) { continue; }
      sum += dcols[((p.x * g.oh + u32(oy)) * g.ow + u32(ox)) * g.kp + (ky * g.kw + kx) * g.c + ci];
    }
  }
  dx[i] = sum;
}

// derivative  grad[i] *= f'(z) for the activation f of the layer whose outputs y = f(z) are
//             given (relu: y > 0; tanh: 1 - y^2; sigmoid: y (1 - y); as gemm.wgsl's epilogue):
//             the gradient that reaches a layer's outputs through col2im or pooling becomes the
//             gradient of its pre-activations.
struct Derivative {
  size: u32,
  act: u32,  // 1 relu, 2 tanh, 3 sigmoid
}

@group(0) @binding(0) var<uniform> d: Derivative;
@group(0) @binding(1) var<storage, read> outputs: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(WG)
fn derivative(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear(gid, nwg);
  if (i >= d.size) { return; }
  let yv = outputs[i];
  var f = 1.0;
  switch d.act {
    case 1u: { f = select(0.0, 1.0, yv > 0.0); }
    case 2u: { f = 1.0 - yv * yv; }
    case 3u: { f = yv * (1.0 - yv); }
    default: {}
  }
  grad[i] *= f;
}
