/**
 * Timing in rotated rounds (the library's, src/validate/rounds.ts) and the statistics of the
 * inference benchmarks in Node (infer.bench.ts) and in a browser page (browser/infer-page.ts):
 * plain code with no Node or DOM imports.
 */
export { rotatedRounds, time } from '../src/validate/rounds.js';

export const best = (a: number[]): number => Math.min(...a);

export const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor((a.length - 1) / 2)]!;

/**
 * The median of the rounds' own ratios base / v: the machine's speed drifts (30-60 % within
 * minutes on a shared CPU), and two times taken milliseconds apart drift together.
 */
export const paired = (base: number[], v: number[]): number => median(v.map((t, r) => base[r]! / t));
