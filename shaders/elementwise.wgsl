// Elementwise kernels: out = a op b, out = alpha * a, out = value, out[offset..] = a.
// Scalar entry points take any length; the *4 entry points read and write vec4s and need the
// length to be a multiple of 4 (the host picks them when it is).
// Invocation i handles element i (or vec4 i); the grid may be 2D when there are more than
// 65535 workgroups, so the linear index folds in num_workgroups.

struct Params {
  n: u32,       // elements (or vec4s in the *4 entry points)
  alpha: f32,   // scale factor
  value: f32,   // fill value
  offset: u32,  // copy: where in out the copy starts (elements, or vec4s)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

override WG: u32 = 256;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(WG)
fn sub(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = a[i] - b[i]; }
}

@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = a[i] * b[i]; }
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = p.alpha * a[i]; }
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[p.offset + i] = a[i]; }
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out[i] = p.value; }
}

@compute @workgroup_size(WG)
fn add4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[i] = a4[i] + b4[i]; }
}

@compute @workgroup_size(WG)
fn sub4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[i] = a4[i] - b4[i]; }
}

@compute @workgroup_size(WG)
fn mul4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[i] = a4[i] * b4[i]; }
}

@compute @workgroup_size(WG)
fn scale4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[i] = p.alpha * a4[i]; }
}

@compute @workgroup_size(WG)
fn copy4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[p.offset + i] = a4[i]; }
}

@compute @workgroup_size(WG)
fn fill4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i < p.n) { out4[i] = vec4f(p.value); }
}
