/**
 * The search over per-layer settings, in stages as Deep Compression orders them (prune, then share
 * the survivors' values; for latency, remove units, then prune; candidate.ts: STAGES). A stage
 * starts from the best candidate so far and, when it sweeps, from its own sensitivity curves: one
 * tolerance for every layer of the stage (each layer as harsh as its own curve allows within its
 * share of it), swept around the budget and bisected, geometrically, between the last candidate
 * within the budget and the first outside it; then greedy refinement: each of the stage's
 * settings one step harsher (weights kept also two), the best within the budget kept, until none
 * is or the stage's time is spent. Candidates are fine-tuned and measured by the trial runner,
 * each going on from the best trial so far where it only prunes and shares further (iterative
 * pruning: the parent's fine-tuning carries over). A stage that removes units may also try its
 * best candidate distilled from the dense model (`distil`). Decisions read validation accuracy only.
 */
import { type Candidate, candidateKey, copyOf, type Dimension, harsher, identity, type Stage } from './candidate.js';
import { type Sensitivity, settingWithin } from './sensitivity.js';
import { continues, type TrialResult, type TrialRunner } from './trial.js';

export interface SearchOptions {
  /** The dense model's validation accuracy: every candidate is held to it. */
  reference: number;
  /** Largest allowed drop of validation accuracy below the reference (a fraction: 0.003 is 0.3 points). */
  maxDrop: number;
  /**
   * Standard errors of the paired difference a trial's drop must leave below the budget (0: the
   * drop alone decides). Choosing the smallest of many trials near the budget favours those whose
   * validation rows flattered them; the margin asks for room in proportion to the noise.
   */
  margin?: number;
  objective: 'size' | 'latency';
  /** The stages, in order (candidate.ts: STAGES). */
  stages: readonly Stage[];
  layers: number;
  /** Weights per layer: each layer's share of the tolerance (default: equal shares). */
  layerWeights?: readonly number[];
  /** The sensitivity curves of a stage's settings, measured on the best trial so far (the base model when none). */
  sensitivity(dimensions: readonly Dimension[], from: TrialResult | undefined): Promise<Sensitivity>;
  /**
   * Search starts (performance.now() milliseconds) and its time budget; each stage ends at its
   * share of the time, and no trial starts that would end past it if it took as long as the
   * longest trial so far.
   */
  started: number;
  budgetMs: number;
  /**
   * Milliseconds to leave at the end of the budget for what follows the search given the best
   * trial so far (with folds: making it again on all rows); the stages share the rest.
   */
  reserveMs?: (chosen: TrialResult | undefined) => number;
  /**
   * Whether a stage that removes units tries its best candidate once more distilled from the dense
   * model (default false), going on with the more accurate of the two within the budget.
   */
  distil?: boolean;
  onTrial?: (result: TrialResult, feasible: boolean) => void;
}

export interface SearchResult {
  trials: TrialResult[];
  /** The smallest (or fastest) trial within the budget; undefined when none was. */
  chosen?: TrialResult;
  /** The curves each stage started from. */
  sensitivities: Sensitivity[];
  /** 'done': refinement found nothing better; 'time': the time budget ran out first. */
  stopped: 'done' | 'time';
}

/**
 * The standard error of a trial's accuracy difference from the dense model on the same rows
 * (paired proportions: sqrt(b + c - (b - c)^2 / n) / n with b, c the rows only one of them gets
 * right); 0 when the trial did not count them.
 */
export function pairedError(r: TrialResult): number {
  const p = r.paired;
  if (!p || p.rows === 0) return 0;
  const { worse: b, better: c, rows: n } = p;
  return Math.sqrt(Math.max(0, b + c - (b - c) ** 2 / n)) / n;
}

/** Whether a trial's validation drop, with `margin` standard errors added, is within `maxDrop` of the reference. */
export function withinBudget(r: TrialResult, reference: number, maxDrop: number, margin = 0): boolean {
  return reference - r.validationAccuracy + margin * pairedError(r) <= maxDrop + 1e-12;
}

/** What the objective minimizes: bytes of the file, or milliseconds of a 1,024-row forward pass. */
export function costOf(r: TrialResult, objective: 'size' | 'latency'): number {
  return objective === 'size' ? r.bytes : (r.batchMs ?? Infinity);
}

/**
 * `start` with each layer's settings in the curves as harsh as its curve allows within its share
 * of `tolerance`: the layer with the most weights gets all of it, the others in proportion to
 * their weights, so accuracy is spent where the bytes (and multiply-adds) are.
 */
export function candidateAt(s: Sensitivity, tolerance: number, start: Candidate, weights?: readonly number[]): Candidate {
  const c = copyOf(start);
  const most = weights ? Math.max(...weights) : 1;
  for (const curve of s.curves) c[curve.dimension][curve.layer] = settingWithin(curve, (tolerance * (weights?.[curve.layer] ?? most)) / most);
  return c;
}

export async function search(runner: TrialRunner, options: SearchOptions): Promise<SearchResult> {
  const { reference, objective } = options;
  const seen = new Map<string, TrialResult>();
  const trials: TrialResult[] = [];
  const sensitivities: Sensitivity[] = [];
  const cost = (r: TrialResult) => costOf(r, objective);
  let chosen: TrialResult | undefined;
  let stopped: SearchResult['stopped'] = 'done';
  let longestMs = 0;

  for (const stage of options.stages) {
    const { dimensions } = stage;
    const maxDrop = options.maxDrop * stage.accuracy;
    // The stage's share of the budget less the reserve of the best trial so far, which grows as the search goes on.
    const deadline = () => options.started + (options.budgetMs - (options.reserveMs?.(chosen) ?? 0)) * stage.time;
    const margin = options.margin ?? 0;
    const feasible = (r: TrialResult) => withinBudget(r, reference, maxDrop, margin);
    let best = chosen; // the stage's best within its own (smaller) budget
    // No trial starts that would end past the deadline, going by the longest trial so far.
    const startBy = () => deadline() - longestMs;
    /**
     * Runs the candidates not seen yet as one batch, each going on from `parent` where it can (the
     * parent's pruning and fine-tuning carry over); undefined once the stage's time is spent.
     */
    const run = async (candidates: Candidate[], parent: TrialResult | undefined): Promise<TrialResult[] | undefined> => {
      if (performance.now() > startBy()) return void (stopped = 'time');
      const fresh = [...new Map(candidates.map((c) => [candidateKey(c), c])).entries()].filter(([k]) => !seen.has(k));
      const from = (c: Candidate) => (parent && continues(parent.candidate, c) ? { from: { candidate: parent.candidate, file: parent.file } } : {});
      const results = await runner.run(
        fresh.map(([, candidate], i) => ({ id: trials.length + i, candidate, ...from(candidate) })),
        { until: startBy() },
      );
      for (const r of results) {
        longestMs = Math.max(longestMs, r.seconds * 1000);
        seen.set(candidateKey(r.candidate), r);
        trials.push(r);
        const withinAll = withinBudget(r, reference, options.maxDrop, margin);
        if (withinAll && (!chosen || cost(r) < cost(chosen))) chosen = r;
        if (feasible(r) && (!best || cost(r) < cost(best))) best = r;
        options.onTrial?.(r, withinAll);
      }
      if (results.length < fresh.length) return void (stopped = 'time'); // the runner stopped at the deadline
      return candidates.map((c) => seen.get(candidateKey(c))!);
    };
    /** One tolerance for every layer: a first sweep around the budget, then bisection; false once the time is spent. */
    const sweepStage = async (start: Candidate): Promise<boolean> => {
      const s = await options.sensitivity(dimensions, best);
      sensitivities.push(s);
      const at = (t: number) => candidateAt(s, t, start, options.layerWeights);
      // Fine-tuning wins back much of what a layer loses alone, so the sweep reaches far past the budget.
      const sweep = [maxDrop / 4, maxDrop, 4 * maxDrop, 16 * maxDrop, 64 * maxDrop];
      const first = await run(sweep.map(at), best);
      if (!first) return false;
      let lo = 0;
      let hi = Infinity;
      first.forEach((r, i) => {
        if (feasible(r)) lo = Math.max(lo, sweep[i]!);
        else hi = Math.min(hi, sweep[i]!);
      });
      for (let step = 0; step < 2 && lo > 0 && hi < Infinity && hi / lo > 1.5; step++) {
        const t = Math.sqrt(lo * hi);
        const r = await run([at(t)], best);
        if (!r) return false;
        if (feasible(r[0]!)) lo = t;
        else hi = t;
      }
      return true;
    };
    const start = best?.candidate ?? identity(options.layers);
    if (stage.sweep && !(await sweepStage(start))) continue; // its time is spent: the next stage may have some
    // The smaller architecture the stage found, trained again from the dense model as its teacher:
    // the same cost (a measured time only differs by noise), so the more accurate of the two goes on.
    const plain = best;
    if (options.distil && stage.sweep && dimensions.includes('units') && plain?.candidate.units.some((u) => u < 1) && !plain.candidate.distilled) {
      const r = await run([{ ...copyOf(plain.candidate), distilled: true }], undefined);
      if (!r) continue;
      const distilled = r[0]!;
      best = feasible(distilled) && distilled.validationAccuracy > plain.validationAccuracy ? distilled : plain;
      if (chosen === plain || chosen === distilled) chosen = best;
    }

    // Greedy refinement from the stage's best candidate.
    while (best && performance.now() <= startBy()) {
      const from = best;
      // Pruning pays in bytes only well past the first steps (positions cost bits too), so weights
      // kept also try two steps at once.
      const neighbours = dimensions.flatMap((dim) =>
        from.candidate[dim].flatMap((_, layer) => {
          const one = harsher(from.candidate, dim, layer);
          const two = dim === 'keep' && one ? harsher(one, dim, layer) : undefined;
          return [one, two].filter((c): c is Candidate => !!c);
        }),
      );
      if (!neighbours.length || !(await run(neighbours, from)) || best === from) break;
    }
  }
  return { trials, chosen, sensitivities, stopped };
}

/** The trials no other trial beats on both cost and validation accuracy, cheapest first. */
export function frontier(trials: TrialResult[], objective: 'size' | 'latency'): TrialResult[] {
  const cost = (r: TrialResult) => costOf(r, objective);
  return trials
    .filter((p) => !trials.some((q) => q !== p && cost(q) <= cost(p) && q.validationAccuracy >= p.validationAccuracy && (cost(q) < cost(p) || q.validationAccuracy > p.validationAccuracy)))
    .sort((a, b) => cost(a) - cost(b));
}
