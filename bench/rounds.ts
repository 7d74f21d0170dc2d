/**
 * Timing in rotated rounds, shared by the inference benchmarks in Node (infer.bench.ts) and in a
 * browser page (browser/infer-page.ts): plain code with no Node or DOM imports.
 */

/** Milliseconds one call of f takes, awaited. */
export async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/**
 * Calls measure(item, timed) for every item in rounds + 1 rounds: round 0 warms up (pipelines
 * compiled, padded weights made; timed is false), then `rounds` timed ones. Each round starts at
 * another item: the first call of a round can run slower (a kernel measured first in every round
 * read 0.4 ms slower than in shuffled rounds, bench/RESULTS.md).
 */
export async function rotatedRounds<T>(items: T[], rounds: number, measure: (item: T, timed: boolean) => Promise<void>): Promise<void> {
  for (let r = 0; r <= rounds; r++) {
    const shift = r % items.length;
    for (const item of [...items.slice(shift), ...items.slice(0, shift)]) await measure(item, r > 0);
  }
}

export const best = (a: number[]): number => Math.min(...a);

export const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor((a.length - 1) / 2)]!;

/**
 * The median of the rounds' own ratios base / v: the machine's speed drifts (30-60 % within
 * minutes on a shared CPU), and two times taken milliseconds apart drift together.
 */
export const paired = (base: number[], v: number[]): number => median(v.map((t, r) => base[r]! / t));
