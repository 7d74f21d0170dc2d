/**
 * The latency objective's last step: the trials within the budget whose forward passes the search
 * timed within RUNOFF_RATIO of the fastest's are timed again, together, in the same rotated rounds
 * (validate/speed.ts: inferenceSpeeds), and the fastest of that runoff is chosen. During the
 * search each trial was timed alone, minutes apart, and a CPU adapter drifts by a third within
 * minutes (bench/RESULTS.md), more than neighbouring candidates differ: the search's fastest may
 * only have been timed in a fast minute.
 */
import type { Dataset } from '../data/dataset.js';
import type { Device } from '../gpu/device.js';
import { readModel } from '../io/model-file.js';
import { inferenceSpeeds } from '../validate/speed.js';
import { candidateKey } from './candidate.js';
import type { TrialResult } from './trial.js';

/** Trials whose search time is within this factor of the fastest's run off... */
export const RUNOFF_RATIO = 1.25;
/** ...the fastest this many at most, each loaded from its file and timed. */
export const RUNOFF_SIZE = 4;

/** The fastest of `eligible` (trials within the budget, timed by the search) when timed together on `rows`; undefined when none. */
export async function fastestTogether(device: Device, eligible: TrialResult[], rows: Dataset): Promise<TrialResult | undefined> {
  // Trials of one structure (distilled or not) run the same kernels: only the most accurate runs off.
  const structure = (t: TrialResult) => candidateKey({ ...t.candidate, distilled: false });
  const mostAccurate = new Map<string, TrialResult>();
  for (const t of eligible) {
    const rival = mostAccurate.get(structure(t));
    if (t.batchMs !== undefined && (!rival || t.validationAccuracy > rival.validationAccuracy)) mostAccurate.set(structure(t), t);
  }
  const timed = [...mostAccurate.values()].sort((a, b) => a.batchMs! - b.batchMs!);
  const close = timed.filter((t) => t.batchMs! <= timed[0]!.batchMs! * RUNOFF_RATIO).slice(0, RUNOFF_SIZE);
  if (close.length < 2) return close[0];
  const models = close.map((t) => readModel(device, t.file));
  try {
    const speeds = await inferenceSpeeds(models, rows, { batch: 1024, rounds: 3 });
    const fastest = speeds.reduce((best, s, i) => (s.rowsPerSecond > speeds[best]!.rowsPerSecond ? i : best), 0);
    return close[fastest];
  } finally {
    for (const m of models) m.dispose();
  }
}
