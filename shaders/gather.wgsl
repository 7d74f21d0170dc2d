// Gathers rows: out[r, :] = x[index[r], :] for x [rows, cols]; this is how a mini-batch is picked
// from a dataset that stays on the GPU. An index outside [0, rows) gives a row of zeros (the host
// checks indices it uploads; this keeps a bad index on the GPU from reading another row).

struct Params {
  rows: u32,     // rows of x
  cols: u32,
  count: u32,    // rows of out = entries of index
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

// x: element (or vec4) within the row; y: output row.
@compute @workgroup_size(64, 4)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[r];
  out[r * p.cols + j] = select(0.0, x[src * p.cols + j], src < p.rows);
}

// The same with vec4s when cols % 4 == 0 (p.cols then counts vec4s).
@compute @workgroup_size(64, 4)
fn gather_rows4(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[r];
  out4[r * p.cols + j] = select(vec4f(0.0), x4[src * p.cols + j], src < p.rows);
}
