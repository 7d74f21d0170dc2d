// Layout kernels for row-major 2D tensors.
//   transpose  out[j, i] = x[i, j] for x [rows, cols]. One invocation per element, indexed by
//              output position so writes are contiguous.
//   transpose4 the same for rows and cols in whole vec4s: each invocation moves a 4 x 4 block,
//              four vec4 loads and four vec4 stores (llvmpipe: a third of the time of transpose)
//   resize     out [out_rows, out_cols] = x [rows, cols] cut or padded with zeros: out[r, c] =
//              x[r, c] inside x, else 0 (inference pads odd widths to multiples of 4 this way).
// (A workgroup-memory tiled transpose helps real GPUs,
// but its barriers cost more than they save on CPU adapters; transposes here are small next to
// the GEMMs they serve.)

struct Params {
  rows: u32,
  cols: u32,
  out_rows: u32,  // resize
  out_cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;

@compute @workgroup_size(16, 16)
fn transpose(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;  // column of out = row of x
  let j = gid.y;  // row of out = column of x
  if (i >= p.rows || j >= p.cols) { return; }
  out[j * p.rows + i] = x[i * p.cols + j];
}

@compute @workgroup_size(16, 16)
fn resize(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let r = gid.y;
  if (r >= p.out_rows || c >= p.out_cols) { return; }
  let inside = r < p.rows && c < p.cols;
  // The index is clamped so that the load stays in x even where its value is not used.
  out[r * p.out_cols + c] = select(0.0, x[min(r, p.rows - 1u) * p.cols + min(c, p.cols - 1u)], inside);
}

@compute @workgroup_size(16, 16)
fn transpose4(@builtin(global_invocation_id) gid: vec3u) {
  let r4 = gid.x;  // block row of x = block column of out
  let c4 = gid.y;  // block column of x = block row of out
  let cols4 = p.cols / 4u;
  let rows4 = p.rows / 4u;
  if (r4 >= rows4 || c4 >= cols4) { return; }
  // (WGSL's transpose() builtin is shadowed by the entry point of that name: swizzles instead.)
  let a = x4[(4u * r4) * cols4 + c4];
  let b = x4[(4u * r4 + 1u) * cols4 + c4];
  let c = x4[(4u * r4 + 2u) * cols4 + c4];
  let d = x4[(4u * r4 + 3u) * cols4 + c4];
  out4[(4u * c4) * rows4 + r4] = vec4f(a.x, b.x, c.x, d.x);
  out4[(4u * c4 + 1u) * rows4 + r4] = vec4f(a.y, b.y, c.y, d.y);
  out4[(4u * c4 + 2u) * rows4 + r4] = vec4f(a.z, b.z, c.z, d.z);
  out4[(4u * c4 + 3u) * rows4 + r4] = vec4f(a.w, b.w, c.w, d.w);
}
