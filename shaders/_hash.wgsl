// A 32-bit hash for seeded per-element random choices (dropout's mask, augmentation's shifts):
// scripts/embed-shaders.mjs puts this file where a kernel says `//! include _hash.wgsl`;
// src/kernels/hash.ts computes the same on the host for references.
// PCG's output permutation of one LCG step (O'Neill 2014, "PCG hash" in Jarzynski & Olano 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
