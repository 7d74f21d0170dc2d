// Gathers rows: out[r, :] = x[index[offset + r], :] for x [rows, cols]; this is how a mini-batch
// is picked from a dataset that stays on the GPU (index holds the epoch's shuffled order). An
// index outside [0, rows) gives a row of zeros: the host checks indices it uploads; this keeps a
// bad index on the GPU from reading another row.
//   gather_rows   f32 rows
//   gather_rows4  the same with vec4s when cols % 4 == 0 (p.cols then counts vec4s)
//   gather_i32    one i32 per row (class labels)
//   gather_bytes  rows of bytes packed four to a u32 (p.cols counts u32 words), unpacked to f32
//                 and multiplied by p.scale: image pixels stay 4x smaller on the GPU
//   gather_bytes16  the same 16 bytes (a vec4<u32>) per invocation when the words of a row are a
//                 multiple of 4 (p.cols counts vec4s): one index load for 16 pixels instead of 4
//                 (MNIST's 784-byte rows: 459 -> 192 us for a batch of 128 on llvmpipe)
//   Both byte versions with LABELS also gather the rows' class labels (label_out[r] =
//   labels[index[offset + r]]), written by the first invocation of each row: a batch of images
//   and labels in one dispatch instead of two.

struct Params {
  rows: u32,     // rows of x
  cols: u32,
  count: u32,    // rows of out
  offset: u32,   // first entry of index to use
  scale: f32,    // gather_bytes only
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> xi: array<i32>;
@group(0) @binding(1) var<storage, read> xu: array<u32>;
@group(0) @binding(1) var<storage, read> xu4: array<vec4u>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> outi: array<i32>;
@group(0) @binding(4) var<storage, read> labels: array<i32>;
@group(0) @binding(5) var<storage, read_write> label_out: array<i32>;

override LABELS: bool = false;

// The label of output row r, whose source row is src (byte versions with LABELS).
fn gather_label(r: u32, src: u32) {
  if (LABELS) { label_out[r] = select(0, labels[src], src < p.rows); }
}

// x: element (or vec4, or word) within the row; y: output row.
@compute @workgroup_size(64, 4)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[p.offset + r];
  out[r * p.cols + j] = select(0.0, x[src * p.cols + j], src < p.rows);
}

@compute @workgroup_size(64, 4)
fn gather_rows4(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[p.offset + r];
  out4[r * p.cols + j] = select(vec4f(0.0), x4[src * p.cols + j], src < p.rows);
}

@compute @workgroup_size(64, 4)
fn gather_i32(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x + gid.y * 64u * 65535u;
  if (r >= p.count) { return; }
  let src = index[p.offset + r];
  outi[r] = select(0, xi[src], src < p.rows);
}

// Four bytes of a word, lowest first, as floats times p.scale.
fn unpack(word: u32) -> vec4f {
  return vec4f(vec4u(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u)) * p.scale;
}

@compute @workgroup_size(64, 4)
fn gather_bytes(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[p.offset + r];
  out4[r * p.cols + j] = unpack(select(0u, xu[src * p.cols + j], src < p.rows));
  if (j == 0u) { gather_label(r, src); }
}

@compute @workgroup_size(64, 4)
fn gather_bytes16(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let r = gid.y;
  if (r >= p.count || j >= p.cols) { return; }
  let src = index[p.offset + r];
  let words = select(vec4u(0u), xu4[src * p.cols + j], src < p.rows);
  let o = (r * p.cols + j) * 4u;
  out4[o] = unpack(words.x);
  out4[o + 1u] = unpack(words.y);
  out4[o + 2u] = unpack(words.z);
  out4[o + 3u] = unpack(words.w);
  if (j == 0u) { gather_label(r, src); }
}
