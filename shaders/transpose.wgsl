// Layout kernels for row-major 2D tensors.
//   transpose  out[j, i] = x[i, j] for x [rows, cols]. One invocation per element, indexed by
//              output position so writes are contiguous.
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
