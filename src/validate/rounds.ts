/**
 * Timing in rotated rounds: inferenceSpeeds (speed.ts) and the inference benchmarks in Node and
 * in a browser page (bench/rounds.ts) time models against each other this way. Plain code with
 * no Node or DOM imports.
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
 * read 0.4 ms slower than in shuffled rounds, bench/RESULTS.md), and items timed in the same
 * rounds share the machine's drift, where items timed one after another do not.
 */
export async function rotatedRounds<T>(items: T[], rounds: number, measure: (item: T, timed: boolean) => Promise<void>): Promise<void> {
  for (let r = 0; r <= rounds; r++) {
    const shift = r % items.length;
    for (const item of [...items.slice(shift), ...items.slice(0, shift)]) await measure(item, r > 0);
  }
}
