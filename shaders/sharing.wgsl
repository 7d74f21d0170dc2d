// Weight sharing (Deep Compression, Han et al. 2016): a layer's kept weights share K = 2^bits
// values (the codebook), each weight holding the index of its value. The assignment is fixed
// while the shared values are fine-tuned, so the host sorts the weights by cluster once:
// `order` lists the weight indices cluster by cluster and cluster c owns order[offsets[c] ..
// offsets[c + 1]] (a CSR layout). Summing per cluster is then a segmented reduction with no
// atomics (WGSL has no float atomics) and a fixed order: the same sums on every run.
//   cluster_sums   sums[c] = sum of values[order[j]] over cluster c: one workgroup per cluster,
//                  WG invocations stride its segment, then a tree reduction in workgroup memory.
//                  With the weight gradients as values, sums are the gradients of the shared
//                  values (dL/dc = sum of dL/dw over the weights that share c).
//   share_weights  w[i] = codebook[assignment[i]], and 0 where the index is K (a pruned weight).

struct Params {
  n: u32,          // weights (share_weights)
  clusters: u32,   // K
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read_write> sums: array<f32>;
@group(0) @binding(1) var<storage, read> codebook: array<f32>;
@group(0) @binding(2) var<storage, read> assignment: array<u32>;
@group(0) @binding(4) var<storage, read_write> w: array<f32>;

override WG: u32 = 64u;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WG)
fn cluster_sums(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  var s = 0.0;
  if (c < p.clusters) {
    for (var j = offsets[c] + lid; j < offsets[c + 1u]; j += WG) {
      s += values[order[j]];
    }
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u && c < p.clusters) { sums[c] = partial[0]; }
}

@compute @workgroup_size(WG)
fn share_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let a = assignment[i];
  w[i] = select(0.0, codebook[min(a, p.clusters - 1u)], a < p.clusters);
}
