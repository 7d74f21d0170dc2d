/** The host's copy of shaders/_hash.wgsl (PCG hash), for references and seeds. */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** One 32-bit seed from several numbers (a run's seed, a step, a stage), each folded in through the hash: per-step seeds of dropout and augmentation. */
export function mixSeeds(...values: number[]): number {
  return values.reduce((h, v) => pcg((h ^ v) >>> 0), 0);
}
