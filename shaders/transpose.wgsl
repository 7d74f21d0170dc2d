// out[j, i] = x[i, j] for a row-major [rows, cols] x. One invocation per element, indexed by
// output position so writes are contiguous. (A workgroup-memory tiled transpose helps real GPUs,
// but its barriers cost more than they save on CPU adapters; transposes here are small next to
// the GEMMs they serve.)

struct Params {
  rows: u32,
  cols: u32,
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
