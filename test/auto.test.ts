/**
 * Automated compression (src/auto): the search on a synthetic landscape through a fake trial
 * runner (what it picks, that it never picks a candidate over the budget, the time budget), the
 * per-layer compression settings it builds on, and autoCompress end to end on a small problem:
 * the chosen file is what it measured, and the test set changes nothing it chose.
 */
import { describe, expect, it } from 'vitest';
import { autoCompress, holdOut } from '../src/auto/auto-compress.js';
import { type Candidate, candidateKey, DISTILLATION, describeCandidate, type Dimension, harsher, identity, STAGES, type Stage, STEPS, unitsToRemove } from '../src/auto/candidate.js';
import { candidateAt, costOf, frontier, pairedError, search, withinBudget } from '../src/auto/search.js';
import { type Sensitivity, settingWithin } from '../src/auto/sensitivity.js';
import { candidateSeed, continues, runTrial, type TrialContext, type TrialResult, type TrialRunner } from '../src/auto/trial.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { gradualPruning } from '../src/compress/schedule.js';
import { prune, pruneReport } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { modelFromSafetensors, modelToSafetensors, readModel } from '../src/io/model-file.js';
import { removeUnits } from '../src/compress/simplify.js';
import { type FoldTrialResult, foldRunner, untrainedLike } from '../src/auto/folds.js';
import { stratifiedKFold } from '../src/validate/split.js';
import { evaluate } from '../src/nn/evaluate.js';
import { type ClassificationMetrics, testMetrics } from '../src/validate/metrics.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { useDevice } from './helpers.js';
import { toyData } from './toy-data.js';

/** A landscape: bytes fall and accuracy falls as layers get harsher; layer 0 bears pruning best. */
function fakeRunner(log: Candidate[] = [], parents: (Candidate | undefined)[] = []): TrialRunner {
  return {
    async run(trials) {
      return trials.map(({ id, candidate, from }) => {
        log.push(candidate);
        parents.push(from?.candidate);
        const kept = candidate.keep.map((k, l) => k * [1000, 100, 10][l]!);
        const bytes = Math.round(kept.reduce((a, b, l) => a + (b * candidate.bits[l]!) / 8, 0)) + 40;
        const loss = candidate.keep.reduce((a, k, l) => a + [0.002, 0.01, 0.05][l]! * Math.log2(1 / k) ** 2, 0) + candidate.bits.reduce((a, b) => a + (b < 4 ? 0.004 * (4 - b) : 0), 0);
        return { id, candidate, validationAccuracy: 0.95 - loss, bytes, widths: [], seconds: 0, file: new Uint8Array() };
      });
    },
  };
}

/** Curves that follow the fake landscape without fine-tuning (twice as harsh). */
function fakeSensitivity(dims: readonly ('keep' | 'bits')[]): Sensitivity {
  const curves = dims.flatMap((dimension) =>
    [0, 1, 2].map((layer) => ({
      layer,
      dimension,
      points: STEPS[dimension].slice(1).map((value) => ({
        value,
        validationAccuracy: 0,
        drop: dimension === 'keep' ? 2 * [0.002, 0.01, 0.05][layer]! * Math.log2(1 / value) ** 2 : value < 4 ? 0.008 * (4 - value) : 0,
      })),
    })),
  );
  return { reference: 0.95, curves };
}

describe('automated compression: candidates and search', () => {
  it('steps, keys, the units to remove and the harsher neighbour', () => {
    const c = identity(3);
    expect(c).toEqual({ keep: [1, 1, 1], bits: [32, 32, 32], units: [1, 1] });
    const h = harsher(c, 'keep', 1)!;
    expect(h.keep).toEqual([1, 0.7, 1]);
    expect(c.keep).toEqual([1, 1, 1]); // untouched
    expect(harsher({ ...c, bits: [32, 2, 32] }, 'bits', 1)).toBeUndefined();
    expect(candidateKey(h)).not.toBe(candidateKey(c));
    expect(candidateKey(harsher(c, 'keep', 1)!)).toBe(candidateKey(h));
    // 10 units kept at 0.25: round(2.5) = 3 stay (half rounds to even in none: Math.round goes up), the 7 weakest go, ties to the lower index.
    expect(unitsToRemove(Float64Array.from([5, 1, 1, 9, 0, 3, 3, 7, 2, 8]), 0.25)).toEqual([4, 1, 2, 8, 5, 6, 0]);
    expect(unitsToRemove(Float64Array.from([1, 2]), 0.01)).toEqual([0]); // one unit always stays
  });

  it('a layer is set to the harshest step before its curve first passes the tolerance', () => {
    const curve = {
      layer: 0,
      dimension: 'keep' as const,
      points: [
        { value: 0.7, validationAccuracy: 0, drop: 0 },
        { value: 0.5, validationAccuracy: 0, drop: 0.004 },
        { value: 0.35, validationAccuracy: 0, drop: 0.02 },
        { value: 0.25, validationAccuracy: 0, drop: 0.001 }, // noise past the first failure
      ],
    };
    expect([settingWithin(curve, 0), settingWithin(curve, 0.004), settingWithin(curve, 0.01), settingWithin(curve, 1)]).toEqual([0.7, 0.5, 0.5, 0.25]);
    expect(settingWithin({ ...curve, points: [{ value: 0.7, validationAccuracy: 0, drop: 0.5 }] }, 0.1)).toBe(1);
    expect(candidateAt({ reference: 1, curves: [curve] }, 0.004, identity(2)).keep).toEqual([0.5, 1]);
  });

  const options = (stages: Stage[], budgetMs = 60_000) => ({
    reference: 0.95,
    maxDrop: 0.02,
    objective: 'size' as const,
    stages,
    layers: 3,
    sensitivity: async (dims: readonly ('keep' | 'bits' | 'units')[]) => fakeSensitivity(dims as ('keep' | 'bits')[]),
    started: performance.now(),
    budgetMs,
  });

  it('finds a small candidate within the budget, never chooses one over it, and refinement ends at a local optimum', async () => {
    const tried: Candidate[] = [];
    const parents: (Candidate | undefined)[] = [];
    const result = await search(fakeRunner(tried, parents), options(STAGES.size as Stage[]));
    const chosen = result.chosen!;
    expect(0.95 - chosen.validationAccuracy).toBeLessThanOrEqual(0.02 + 1e-12);
    // The smallest of every trial within the budget is the chosen one.
    const within = result.trials.filter((t) => 0.95 - t.validationAccuracy <= 0.02 + 1e-12);
    expect(Math.min(...within.map((t) => t.bytes))).toBe(chosen.bytes);
    // The least sensitive layer is pruned hardest, and the search shrank the file well below dense (1,110 weights x 4 bytes).
    expect(chosen.candidate.keep[0]!).toBeLessThan(chosen.candidate.keep[2]!);
    expect(chosen.bytes).toBeLessThan(1110 * 4 * 0.1);
    expect(chosen.candidate.bits.some((b) => b < 32)).toBe(true);
    // No candidate was tried twice, ids follow the order of the trials, and the refinement stopped: no harsher single step of the chosen one is better within budget.
    expect(new Set(tried.map(candidateKey)).size).toBe(tried.length);
    expect(result.trials.map((t) => t.id)).toEqual(result.trials.map((_, i) => i));
    expect(result.stopped).toBe('done');
    expect(result.sensitivities).toHaveLength(2);
    // The first sweep starts from the dense model; later trials go on from the best trial so far where they can.
    expect(parents.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const continued = parents.flatMap((p, i) => (p ? [[p, tried[i]!] as const] : []));
    expect(continued.length).toBeGreaterThan(tried.length / 2);
    for (const [p, c] of continued) expect(continues(p, c)).toBe(true);
    // Each parent was itself a trial within its stage's budget.
    for (const [p] of continued) expect(result.trials.some((t) => candidateKey(t.candidate) === candidateKey(p) && 0.95 - t.validationAccuracy <= 0.02 + 1e-12)).toBe(true);
  });

  it('the search is reproducible, and a spent time budget stops it before any trial', async () => {
    const a = await search(fakeRunner(), options(STAGES.size as Stage[]));
    const b = await search(fakeRunner(), options(STAGES.size as Stage[]));
    expect(a.trials.map((t) => candidateKey(t.candidate))).toEqual(b.trials.map((t) => candidateKey(t.candidate)));
    const none = await search(fakeRunner(), { ...options([STAGES.size[0]!]), budgetMs: 0, started: performance.now() - 1 });
    expect([none.trials.length, none.chosen, none.stopped]).toEqual([0, undefined, 'time']);
    // A runner that stops at the deadline in the middle of a batch (as the in-process one does): the trials it ran count, and the search stops.
    const inner = fakeRunner();
    const slow: TrialRunner = {
      async run(trials, o) {
        const out: TrialResult[] = [];
        for (const t of trials) {
          if (out.length > 0 && o?.until !== undefined && performance.now() > o.until) break;
          await new Promise((r) => setTimeout(r, 60)); // past every stage's deadline
          out.push(...(await inner.run([t])));
        }
        return out;
      },
    };
    const cut = await search(slow, { ...options(STAGES.size as Stage[]), budgetMs: 50, started: performance.now() });
    expect([cut.trials.length, cut.stopped]).toEqual([1, 'time']);
    // Time kept for what follows the best trial so far (the refit) comes off every stage's share:
    // once a trial is within the budget and its reserve is the whole budget, no further batch starts.
    const reserving: TrialResult[] = [];
    const reserved = await search(fakeRunner(), {
      ...options(STAGES.size as Stage[]),
      reserveMs: (best) => (reserving.push(...(best ? [best] : [])), best ? 60_000 : 0),
    });
    expect([reserved.trials.length, reserved.stopped]).toEqual([5, 'time']); // the first sweep, then nothing
    const withinFive = reserved.trials.filter((t) => 0.95 - t.validationAccuracy <= 0.02 + 1e-12);
    expect(reserved.chosen).toBe(withinFive.reduce((a, b) => (b.bytes < a.bytes ? b : a))); // the smallest of the sweep within the budget
    expect(reserving.every((r) => r === reserved.chosen)).toBe(true);
    // No trial starts that would end past the deadline, going by the longest trial so far: trials
    // that report 10 s each stop after the first sweep when 30 s of the first stage's 36 are gone
    // (its bisection and refinement would otherwise follow, as they do when the trials report 1 s).
    const lasting = (seconds: number): TrialRunner => ({ run: async (t) => (await fakeRunner().run(t)).map((r) => ({ ...r, seconds })) });
    const late = () => ({ ...options([STAGES.size[0]!]), started: performance.now() - 30_000 });
    const guarded = await search(lasting(10), late());
    expect([guarded.trials.length, guarded.stopped]).toEqual([5, 'time']);
    expect((await search(lasting(1), late())).trials.length).toBeGreaterThan(5);
  });

  it('the margin: the standard error of the paired difference, added to the drop, decides what is within the budget', async () => {
    const r = (paired?: TrialResult['paired']): TrialResult => ({
      id: 0,
      candidate: identity(2),
      bytes: 1,
      validationAccuracy: 0.94,
      ...(paired ? { paired } : {}),
      widths: [],
      seconds: 0,
      file: new Uint8Array(),
    });
    // 30 rows only the dense model gets right, 10 only the candidate: sqrt(40 - 20^2 / 1000) / 1000.
    const noisy = r({ worse: 30, better: 10, rows: 1000 });
    expect(pairedError(noisy)).toBeCloseTo(Math.sqrt(39.6) / 1000, 15);
    expect(pairedError(r())).toBe(0); // a runner that did not count
    expect(pairedError(r({ worse: 0, better: 0, rows: 500 }))).toBe(0); // the same predictions
    expect([0, 1, 2].map((m) => withinBudget(noisy, 0.95, 0.02, m))).toEqual([true, true, false]); // drop 0.01 + m x 0.0063
    // A search whose every trial is that noisy chooses only trials within the budget with two standard errors to spare.
    const inner = fakeRunner();
    const counted: TrialRunner = { run: async (trials) => (await inner.run(trials)).map((t) => ({ ...t, paired: { worse: 30, better: 10, rows: 1000 } })) };
    const strict = await search(counted, { ...options(STAGES.size as Stage[]), margin: 2 });
    const loose = await search(fakeRunner(), options(STAGES.size as Stage[]));
    expect(0.95 - strict.chosen!.validationAccuracy + 2 * (Math.sqrt(39.6) / 1000)).toBeLessThanOrEqual(0.02 + 1e-12);
    expect(strict.chosen!.bytes).toBeGreaterThan(loose.chosen!.bytes); // room for the noise costs bytes
  });

  it('the fold runner: every trial on every fold, each fold going on from its own parent; the chain and its refit time', async () => {
    const seen: { fold: number; id: number; parentFile?: number }[] = [];
    const foldRunnerOf = (fold: number): TrialRunner => ({
      async run(trials) {
        return trials.map(({ id, candidate, from }) => {
          seen.push({ fold, id, ...(from ? { parentFile: from.file[0]! } : {}) });
          return { id, candidate, validationAccuracy: 0.9 + fold / 100, bytes: 10, widths: [], seconds: fold + 1 + id, file: Uint8Array.of(10 * id + fold) };
        });
      },
    });
    const runner = foldRunner([0, 1, 2].map(foldRunnerOf));
    const a = identity(2);
    const b = harsher(a, 'keep', 0)!;
    const c = harsher(b, 'bits', 1)!;
    const [ra] = await runner.run([{ id: 0, candidate: a }]);
    const [rb] = await runner.run([{ id: 1, candidate: b, from: { candidate: a, file: ra!.file } }]);
    await runner.run([{ id: 2, candidate: c, from: { candidate: b, file: rb!.file } }]);
    // Fold j of trial 2 went on from fold j's model of trial 1 (file byte 10 + j), not fold 1's.
    expect(seen.filter((s) => s.id === 2).map((s) => s.parentFile)).toEqual([10, 11, 12]);
    expect(runner.chain(c).map(candidateKey)).toEqual([a, b, c].map(candidateKey));
    // Trial i took 1 + i, 2 + i and 3 + i seconds on the folds (6 + 3i together): the chain 6 + 9 + 12 = 27 s
    // and one step as long as the longest trial (12 s) over k - 1 = 2 folds' worth.
    expect(runner.refitMs(c)).toBeCloseTo(19_500, 9);
    expect(runner.refitMs(a)).toBeCloseTo(9_000, 9);
  });

  it('a stage that removes units tries its best once more distilled, and goes on with the more accurate', async () => {
    const searchWith = async (bonus: number, distil = true) => {
      const tried: Candidate[] = [];
      const inner = fakeRunner(tried);
      const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
      // Removing units costs accuracy, saves time; a distilled candidate gains `bonus`.
      const runner: TrialRunner = {
        run: async (t) =>
          (await inner.run(t)).map((r) => ({
            ...r,
            validationAccuracy: r.validationAccuracy - 0.01 * sum(r.candidate.units.map((u) => 1 - u)) + (r.candidate.distilled ? bonus : 0),
            batchMs: 10 * sum(r.candidate.units) + sum(r.candidate.keep),
          })),
      };
      const sensitivity = async (dims: readonly Dimension[]): Promise<Sensitivity> => ({
        reference: 0.95,
        curves: dims.flatMap((d) =>
          d === 'units'
            ? [0, 1].map((layer) => ({ layer, dimension: d, points: STEPS.units.slice(1).map((value) => ({ value, validationAccuracy: 0, drop: 0.02 * (1 - value) })) }))
            : fakeSensitivity(['keep']).curves,
        ),
      });
      const result = await search(runner, { ...options(STAGES.latency as Stage[]), objective: 'latency', distil, sensitivity });
      return { tried, result, first: tried.findIndex((c) => c.distilled) };
    };
    const better = await searchWith(0.003);
    const d = better.tried[better.first]!;
    expect(better.tried.slice(0, better.first).some((c) => candidateKey(c) === candidateKey({ ...d, distilled: false }))).toBe(true); // the plain best, tried before
    expect(d.units.some((u) => u < 1)).toBe(true);
    expect(better.tried.slice(better.first).every((c) => c.distilled)).toBe(true); // everything after goes on from it
    expect(better.result.chosen!.candidate.distilled).toBe(true);
    const worse = await searchWith(-0.003);
    expect(worse.tried.filter((c) => c.distilled)).toHaveLength(1);
    expect(worse.result.chosen!.candidate.distilled).toBeUndefined();
    expect((await searchWith(0.003, false)).first).toBe(-1);
    expect(describeCandidate(d)).toMatch(/, distilled from the dense model$/);
  });

  it('the frontier holds exactly the trials nothing beats on both size and accuracy', () => {
    const t = (id: number, bytes: number, validationAccuracy: number): TrialResult => ({ id, candidate: identity(2), bytes, validationAccuracy, widths: [], seconds: 0, file: new Uint8Array() });
    const trials = [t(0, 100, 0.9), t(1, 50, 0.9), t(2, 50, 0.8), t(3, 20, 0.7), t(4, 200, 0.95), t(5, 300, 0.95)];
    expect(frontier(trials, 'size').map((x) => x.id)).toEqual([3, 1, 4]);
    expect(costOf(trials[0]!, 'latency')).toBe(Infinity); // no time measured: never cheapest
  });
});

describe('automated compression: per-layer settings and autoCompress', () => {
  const ctx = useDevice('llvmpipe');

  it('prune, gradual pruning and k-means sharing take per-layer settings', async () => {
    const model = MLP.create(ctx.device, [12, 10, 6, 3], { seed: 3 });
    const report = await prune(model, { type: 'layer', sparsity: [0.5, 0, 0.25] });
    expect(report.layers.map((l) => l.nonzero)).toEqual([60, 60, 14]); // round((1 - s) n) of 120, 60, 18
    await expect(prune(model, { type: 'layer', sparsity: [0.5] })).rejects.toThrow(/1 sparsities for 3 layers/);
    await quantizeWeights(model, { method: 'kmeans', bits: 2 }, { layers: [2] });
    expect(model.layers.map((l) => l.quant?.spec.bits)).toEqual([undefined, undefined, 2]);
    expect(new Set(await model.layers[2]!.weight.read()).size).toBeLessThanOrEqual(5); // 4 shared values and the pruned 0
    await expect(quantizeWeights(model, { bits: 8 }, { layers: [3] })).rejects.toThrow(/No layer 3/);
    const data = toyData(300, 12, 3, 5);
    const gradual = MLP.create(ctx.device, [12, 10, 6, 3], { seed: 4 });
    await fit(gradual, data, { epochs: 2, batchSize: 30, learningRate: 0.05, hooks: [gradualPruning({ scope: 'layer', finalSparsity: [0.8, 0.5, 0], endStep: 15, frequency: 5 })] });
    expect((await pruneReport(gradual)).layers.map((l) => l.nonzero)).toEqual([24, 30, 18]);
    expect(() => gradualPruning({ scope: 'global', finalSparsity: [0.5, 0.5, 0.5], endStep: 10 })).toThrow(/scope "layer"/);
    // Going on from a pruned model: each layer from its own sparsity; the pruned weights stay pruned.
    const before = await Promise.all(gradual.layers.map((l) => l.mask?.read()));
    const seen: number[][] = [];
    const further = gradualPruning({ scope: 'layer', initialSparsity: [0.8, 0.5, 0], finalSparsity: [0.95, 0.5, 0.5], endStep: 20, frequency: 2 });
    await fit(gradual, data, { epochs: 2, batchSize: 30, learningRate: 0.05, hooks: [further], onEpoch: async () => void seen.push((await pruneReport(gradual)).layers.map((l) => l.nonzero)) });
    expect(seen[1]).toEqual([6, 30, 9]);
    // After 10 of 20 steps (cubic: 1/8 of the way left): layer 0 at 0.95 - 0.15 / 8 (8 of 120 kept; from 0 it
    // would be 0.95 - 0.95 / 8, 20 kept), layer 2 from 0 at 0.5 - 0.5 / 8 (10 of 18 kept).
    expect(seen[0]).toEqual([8, 30, 10]);
    const after = await Promise.all(gradual.layers.map((l) => l.mask!.read()));
    after.forEach((m, l) => before[l] && m.forEach((v, i) => v === 1 && expect(before[l]![i]).toBe(1)));
    expect(() => gradualPruning({ scope: 'layer', initialSparsity: [0.5, 0.5], finalSparsity: [0.6, 0.6, 0.6], endStep: 10 })).toThrow(/as many final ones/);
    expect(() => gradualPruning({ scope: 'layer', initialSparsity: [0.5, 0.5, 0.5], finalSparsity: [0.6, 0.4, 0.6], endStep: 10 })).toThrow(/initialSparsity <= finalSparsity/);
    model.dispose();
    gradual.dispose();
  });

  it('a trial goes on from its parent: pruned weights stay pruned, and only harsher settings may follow', async () => {
    const train = toyData(600, 12, 3, 7);
    const base = MLP.create(ctx.device, [12, 16, 8, 3], { seed: 5 });
    const fineTune = { epochs: 1, batchSize: 50, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 } as const;
    const { fitRows, validationRows } = holdOut(train, 0.2, 1);
    await fit(base, train, { ...fineTune, epochs: 8, rows: fitRows });
    const data = new GpuDataset(ctx.device, train);
    const context: TrialContext = { base, data, fitRows, validationRows, settings: { objective: 'size', fineTune, pruneEpochs: 2, shareEpochs: 1, float16: false, metadata: {} } };
    const parentCandidate = { keep: [0.5, 0.7, 1], bits: [32, 32, 32], units: [1, 1] };
    const parent = await runTrial(context, { id: 0, candidate: parentCandidate });
    const child = { keep: [0.25, 0.7, 1], bits: [4, 32, 32], units: [1, 1] };
    const request = { id: 1, candidate: child, from: { candidate: parentCandidate, file: parent.file } };
    const r = await runTrial(context, request);
    const [p, c] = [modelFromSafetensors(ctx.device, parent.file), modelFromSafetensors(ctx.device, r.file)];
    const [pw, cw] = [await p.read(), await c.read()];
    // Layer 0: a quarter of 192 kept, all among the parent's half; layer 1 keeps exactly the parent's weights kept (and trains them).
    expect(cw[0]!.weight.filter((v) => v !== 0).length).toBe(48);
    cw[0]!.weight.forEach((v, i) => v !== 0 && expect(pw[0]!.weight[i]).not.toBe(0));
    expect(cw[1]!.weight.map((v) => (v === 0 ? 0 : 1))).toEqual(pw[1]!.weight.map((v) => (v === 0 ? 0 : 1)));
    expect(cw[1]!.weight).not.toEqual(pw[1]!.weight);
    expect(new Set(cw[0]!.weight).size).toBeLessThanOrEqual(17); // 16 shared values and the pruned 0
    // The same request gives the same file; a gentler or different-units child cannot go on from the parent.
    expect((await runTrial(context, request)).file).toEqual(r.file);
    expect(continues(parentCandidate, { ...child, keep: [0.7, 0.7, 1] })).toBe(false);
    expect(continues(parentCandidate, { ...child, units: [0.85, 1] })).toBe(false);
    await expect(runTrial(context, { ...request, candidate: { ...child, keep: [0.7, 0.7, 1] } })).rejects.toThrow(/cannot go on from a parent/);
    // A distilled candidate: its units removed, then fine-tuned with the dense model as teacher,
    // exactly as by hand; the same candidate on labels alone trains otherwise.
    const unitScores = [Float64Array.from({ length: 16 }, (_, i) => (i * 7) % 16), Float64Array.from({ length: 8 }, (_, i) => 8 - i)];
    const withScores = { ...context, unitScores };
    const smaller: Candidate = { keep: [1, 1, 1], bits: [32, 32, 32], units: [0.7, 1], distilled: true };
    const distilled = await runTrial(withScores, { id: 2, candidate: smaller });
    const byHand = await removeUnits(base, 0, unitsToRemove(unitScores[0]!, 0.7));
    await fit(byHand, data, {
      ...fineTune,
      epochs: 2,
      schedule: { type: 'cosine', total: 2 },
      seed: candidateSeed(1, smaller),
      rows: fitRows,
      hooks: [],
      distillation: { teacher: base, ...DISTILLATION },
    });
    expect(distilled.file).toEqual(await modelToSafetensors(byHand, {}, { float16: false }));
    expect(distilled.widths).toEqual([12, 11, 8, 3]);
    const onLabels = await runTrial(withScores, { id: 3, candidate: { ...smaller, distilled: false } });
    expect(onLabels.widths).toEqual([12, 11, 8, 3]);
    expect(onLabels.file).not.toEqual(distilled.file);
    byHand.dispose();
    for (const m of [p, c, base]) m.dispose();
    data.dispose();
  });

  it('autoCompress: the chosen file is what was measured, within the budget on validation rows, and the test set changes no choice', async () => {
    const train = toyData(1500, 16, 3, 11);
    const model = MLP.create(ctx.device, [16, 24, 12, 3], { seed: 2 });
    const fitOptions = { epochs: 12, batchSize: 50, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 } as const;
    const { fitRows, validationRows } = holdOut(train, 0.2, 1);
    await fit(model, train, { ...fitOptions, rows: fitRows });
    const run = (test: typeof train) => autoCompress(model, train, { maxAccuracyDrop: 0.02, validation: 0.2, fineTune: { ...fitOptions, epochs: 1 }, pruneEpochs: 2, budgetMinutes: 2, test });
    const a = await run(toyData(400, 16, 3, 12));
    expect(a.metBudget).toBe(true);
    expect(a.reference - a.chosen.validationAccuracy).toBeLessThanOrEqual(0.02 + 1e-12);
    expect(a.file.length).toBe(a.chosen.bytes);
    expect(a.chosen.bytes).toBeLessThan(a.dense.bytes / 2); // a small model: the header is much of its file
    // The file alone gives back the accuracy the search read on the validation rows, and its row-by-row counts against dense.
    const loaded = modelFromSafetensors(ctx.device, a.file);
    expect((await evaluate(loaded, train, { rows: validationRows })).accuracy).toBe(a.chosen.validationAccuracy);
    const predicted = async (m: typeof model) => ((await testMetrics(m, train, { rows: validationRows })) as ClassificationMetrics).predictions;
    const [mine, dense] = [await predicted(loaded), await predicted(model)];
    const right = (p: Uint32Array, i: number) => p[i] === train.labels![validationRows[i]!];
    const counts = { worse: 0, better: 0, rows: validationRows.length };
    validationRows.forEach((_, i) => {
      if (right(dense, i) && !right(mine, i)) counts.worse++;
      if (!right(dense, i) && right(mine, i)) counts.better++;
    });
    const chosenTrial = a.trials.find((t) => t.id === a.chosen.trial)!;
    expect(chosenTrial.paired).toEqual(counts);
    expect(a.margin).toBe(1); // the default: one standard error to spare
    expect(withinBudget(chosenTrial, a.reference, 0.02, 1)).toBe(true);
    expect(a.validationRows).toBe(validationRows.length);
    expect(a.frontier.length).toBeGreaterThan(0);
    expect(a.test!.denseAccuracy).toBeGreaterThan(0.5);
    // Another test set: the same trials and the same choice (the test set is scored, never consulted).
    const b = await run(toyData(400, 16, 3, 99));
    expect([a.stopped, b.stopped]).toEqual(['done', 'done']); // about 10 s each: a search cut by its budget would compare different trials
    expect(b.trials.map((t) => [candidateKey(t.candidate), t.validationAccuracy, t.bytes])).toEqual(a.trials.map((t) => [candidateKey(t.candidate), t.validationAccuracy, t.bytes]));
    expect(b.test!.chosenAccuracy).not.toBe(a.test!.chosenAccuracy);
    for (const m of [loaded, a.model, b.model, model]) m.dispose();
  });

  it('autoCompress with k-fold decisions: a dense model per fold never saw its fold, trials scored on every fold, the chosen candidate made again on all rows', async () => {
    const train = toyData(900, 16, 3, 21);
    const model = MLP.create(ctx.device, [16, 12, 3], { seed: 2 });
    const training = { epochs: 10, batchSize: 50, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 } as const;
    await fit(model, train, training);
    const run = (test: typeof train) =>
      autoCompress(model, train, { maxAccuracyDrop: 0.03, validation: { folds: 3, training }, fineTune: { ...training, epochs: 1 }, pruneEpochs: 1, budgetMinutes: 2, test });
    const a = await run(toyData(300, 16, 3, 22));
    expect(a.folds).toBe(3);
    expect(a.validationRows).toBe(900);
    // The reference: each fold's dense model, trained afresh without its fold, scored on it; their mean.
    const references: number[] = [];
    for (const [j, split] of stratifiedKFold(3, { shuffle: true, seed: 1 }).split(train.rows, train.labels!).entries()) {
      const dense = untrainedLike(model, 1 + j);
      await fit(dense, train, { ...training, rows: split.train });
      references.push((await evaluate(dense, train, { rows: split.test })).accuracy);
      dense.dispose();
    }
    expect(a.reference).toBeCloseTo(references.reduce((s, r) => s + r, 0) / 3, 12);
    for (const t of a.trials as FoldTrialResult[]) {
      expect(t.foldAccuracies).toHaveLength(3);
      expect(t.validationAccuracy).toBeCloseTo(t.foldAccuracies.reduce((s, r) => s + r, 0) / 3, 12);
      expect(t.paired!.rows).toBe(900); // every training row once, against its own fold's dense model
    }
    expect(a.trials.length).toBeGreaterThan(1);
    // The returned file is the refit on all rows: its own bytes, and the model the test compared.
    expect(a.chosen.bytes).toBe(a.file.length);
    expect(a.metBudget).toBe(true);
    expect(a.file).not.toEqual(a.trials.find((t) => t.id === a.chosen.trial)!.file); // not fold 1's model
    expect((await evaluate(readModel(ctx.device, a.file), toyData(300, 16, 3, 22))).accuracy).toBe(a.test!.chosenAccuracy);
    // Another test set: the same trials and choice (the search ends by itself, before its time).
    expect(a.stopped).toBe('done');
    const b = await run(toyData(300, 16, 3, 23));
    const key = (t: TrialResult) => [candidateKey(t.candidate), t.validationAccuracy];
    expect(b.trials.map(key)).toEqual(a.trials.map(key));
    await expect(autoCompress(model, train, { maxAccuracyDrop: 0.03, validation: { folds: 1, training }, fineTune: training })).rejects.toThrow(/folds must be a whole number from 2 to 20/);
    // The latency objective with folds: units scored and rows timed per fold; the returned model's own time.
    const fast = await autoCompress(model, train, {
      maxAccuracyDrop: 0.03,
      objective: 'latency',
      validation: { folds: 2, training },
      fineTune: { ...training, epochs: 1 },
      pruneEpochs: 1,
      budgetMinutes: 0.2,
    });
    expect(fast.trials.length).toBeGreaterThan(0); // the budget covers the folds' dense models too
    expect(fast.trials.every((t) => t.batchMs! > 0)).toBe(true);
    expect(fast.seconds.total).toBeLessThan(0.2 * 60 + 30); // ended near its budget, past it by a trial and the last measurements at most
    expect(fast.chosen.batchMs).toBeGreaterThan(0);
    expect(fast.chosen.widths).toEqual(fast.model.widths);
    fast.model.dispose();
    for (const m of [a.model, b.model, model]) m.dispose();
  }, 120_000);
});
