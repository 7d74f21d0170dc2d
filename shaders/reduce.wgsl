// Reductions (sum, min, max) over all elements, over each row, or over each column of a
// row-major [rows, cols] matrix. OP selects the operation: 0 sum, 1 min, 2 max
// (src/kernels/reduce.ts: REDUCE_OPS).
//
//   reduce_rows  one workgroup per row: each invocation folds a strided slice, then a tree in
//                workgroup memory. reduce_all is reduce_rows applied twice: first over
//                [groups, chunk] slices of the input, then over the partial results.
//   reduce_cols  one invocation per column, walking down the rows: neighbouring invocations read
//                neighbouring addresses.

struct Params {
  rows: u32,
  cols: u32,
  n: u32,  // elements of x actually present (the last slice of reduce_all may be short)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override OP: u32 = 0u;
override WG: u32 = 256u;

var<workgroup> partial: array<f32, WG>;

fn identity() -> f32 {
  switch OP {
    case 1u: { return 0x1.fffffep+127f; }  // largest f32
    case 2u: { return -0x1.fffffep+127f; }
    default: { return 0.0; }
  }
}

fn combine(s: f32, v: f32) -> f32 {
  switch OP {
    case 1u: { return min(s, v); }
    case 2u: { return max(s, v); }
    default: { return s + v; }
  }
}

@compute @workgroup_size(WG)
fn reduce_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // Every invocation reaches the barriers, so rows past the end still take part (and write nothing).
  var s = identity();
  if (row < p.rows) {
    let base = row * p.cols;
    for (var j = lid; j < p.cols && base + j < p.n; j += WG) { s = combine(s, x[base + j]); }
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] = combine(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  if (lid == 0u && row < p.rows) { out[row] = partial[0]; }
}

@compute @workgroup_size(WG)
fn reduce_cols(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= p.cols) { return; }
  var s = identity();
  for (var r = 0u; r < p.rows; r++) { s = combine(s, x[r * p.cols + col]); }
  out[col] = s;
}
