// The order the block-sparse, packed and column-list kernels take their work in (included where
// they say `//! include _chunk.wgsl`; the including kernel declares override CHUNK, set by
// kernels/launch.ts: chunkedGrid). CHUNK neighbouring invocations (8: the lanes of a CPU
// adapter's SIMD register) take as many neighbouring row blocks of one column group (or unit):
// they read the same weights, as many of them. The next CHUNK take the next group over the same
// rows, so those rows of the activations stay in the cache while every group reads them (1,024
// rows of 784 inputs are 3.2 MB). Under 8 row blocks CHUNK is 1 and the lanes take neighbouring
// groups instead (else 7 of 8 would idle at batch 1: the packed layer ran 0.43x the float GEMM).

// (group, row block) of invocation i; a row block past the last means no work.
fn chunk_of(i: u32, groups: u32) -> vec2u {
  return vec2u((i / CHUNK) % groups, (i / (CHUNK * groups)) * CHUNK + i % CHUNK);
}
