import { describe, expect, it } from 'vitest';
import { MLP } from '../src/nn/mlp.js';
import { modelToSafetensors } from '../src/io/model-file.js';
import { fastestTogether } from '../src/auto/runoff.js';
import type { TrialResult } from '../src/auto/trial.js';
import type { Candidate } from '../src/auto/candidate.js';
import { randomArray, useDevice } from './helpers.js';

describe("the latency objective's runoff", () => {
  const ctx = useDevice('llvmpipe');

  it('times the close trials again together: a slow model the search timed in a fast minute loses; far and less accurate twins are not even loaded', async () => {
    const { device } = ctx;
    const big = MLP.create(device, [784, 300, 100, 10], { seed: 1 }); // about 10 ms for 1,024 rows here
    const small = MLP.create(device, [784, 10], { seed: 2 }); // about 1 ms
    const [bigFile, smallFile] = [await modelToSafetensors(big), await modelToSafetensors(small)];
    const unreadable = new Uint8Array([1, 2, 3]); // readModel throws on it: a trial loaded fails the test
    const trial = (id: number, candidate: Candidate, batchMs: number, validationAccuracy: number, file: Uint8Array): TrialResult => ({
      id,
      candidate,
      validationAccuracy,
      bytes: file.length,
      batchMs,
      widths: [],
      seconds: 1,
      file,
    });
    const wide = { keep: [1, 1, 1], bits: [32, 32, 32], units: [1, 1] };
    const narrow = { keep: [1], bits: [32], units: [] };
    const a = trial(0, wide, 1.0, 0.9, bigFile); // the search's fastest, by drift
    const b = trial(1, narrow, 1.1, 0.9, unreadable); // the same structure as d, less accurate
    const c = trial(2, { ...narrow, bits: [8] }, 1.3, 0.95, unreadable); // past 1.25x the fastest
    const d = trial(3, { ...narrow, distilled: true }, 1.2, 0.92, smallFile);
    const rows = { features: randomArray(1024 * 784, 5, 0, 1), rows: 1024, cols: 784 };
    expect((await fastestTogether(device, [a, b, c, d], rows))?.id).toBe(3);
    // One close trial is chosen as it is, none is undefined.
    expect((await fastestTogether(device, [trial(4, narrow, 1, 0.9, unreadable), c], rows))?.id).toBe(4);
    expect(await fastestTogether(device, [], rows)).toBeUndefined();
    for (const m of [big, small]) m.dispose();
  });
});
