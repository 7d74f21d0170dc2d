/**
 * A point of automated compression's search space: for each layer the fraction of its weights
 * kept (magnitude pruning) and the bits of its k-means shared values (32: float weights), and for
 * each hidden layer the fraction of its units kept (the rest removed physically, least important
 * first by ablation). The steps run from the gentlest setting to the harshest. A candidate with
 * units removed may be `distilled`: fine-tuned with the dense model as its teacher rather than on
 * labels alone (search.ts tries it once per stage that removes units; DISTILLATION says how).
 */
export interface Candidate {
  keep: number[];
  bits: number[];
  units: number[];
  distilled?: boolean;
}

export type Dimension = 'keep' | 'bits' | 'units';

/**
 * How a distilled candidate is fine-tuned (Hinton et al. 2015): half of the loss from the
 * teacher's soft targets at temperature 2, half from the labels. At 4 and SGD at the training
 * rate the soft targets' T^2-scaled gradient overwhelmed the labels (bench/RESULTS.md, session 10).
 */
export const DISTILLATION = { alpha: 0.5, temperature: 2 } as const;

export const STEPS: Record<Dimension, readonly number[]> = {
  keep: [1, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.09, 0.07, 0.05, 0.035, 0.025, 0.018, 0.012, 0.008],
  bits: [32, 8, 6, 5, 4, 3, 2],
  units: [1, 0.85, 0.7, 0.55, 0.4, 0.3, 0.2],
};

/**
 * A stage of the search: the settings it changes, its share of the accuracy budget, when its time
 * ends (a fraction of the whole budget), and whether it starts with a sweep of the sensitivity
 * curves or only refines the best candidate so far.
 */
export interface Stage {
  dimensions: readonly Dimension[];
  accuracy: number;
  time: number;
  sweep: boolean;
}

/**
 * Each objective's stages: size gains from pruning, then sharing the survivors' values (Deep
 * Compression's order), latency from fewer units, then sparse layers; the first stage keeps a
 * fifth of the accuracy budget for the second, and a last stage refines both settings together
 * with the whole budget and the time left. Pruning has the most time: on LeNet-300-100 it took
 * the file from 1,067 KB to 42 KB, sharing (trials a quarter as long) to 13.9 KB, and the joint
 * refinement 3.5 % further in 10 of 37 trials (bench/RESULTS.md, session 10).
 */
export const STAGES: Record<'size' | 'latency', readonly Stage[]> = {
  size: [
    { dimensions: ['keep'], accuracy: 0.8, time: 0.6, sweep: true },
    { dimensions: ['bits'], accuracy: 1, time: 0.8, sweep: true },
    { dimensions: ['keep', 'bits'], accuracy: 1, time: 1, sweep: false },
  ],
  latency: [
    { dimensions: ['units'], accuracy: 0.8, time: 0.5, sweep: true },
    { dimensions: ['keep'], accuracy: 1, time: 0.75, sweep: true },
    { dimensions: ['units', 'keep'], accuracy: 1, time: 1, sweep: false },
  ],
};

/** The model unchanged: every weight and unit kept, float weights. */
export function identity(layers: number): Candidate {
  return { keep: Array(layers).fill(1), bits: Array(layers).fill(32), units: Array(layers - 1).fill(1) };
}

/** A short stable name, equal for equal candidates (used to skip repeats). */
export function candidateKey(c: Candidate): string {
  return `k${c.keep.join('/')} b${c.bits.join('/')} u${c.units.join('/')}${c.distilled ? ' d' : ''}`;
}

/** For people: "keep 5 % / 12 % / 50 %, 4 / 4 / 6 bits, units 100 % / 85 %". */
export function describeCandidate(c: Candidate): string {
  const pct = (v: number) => `${+(v * 100).toFixed(1)} %`;
  const parts = [`weights kept ${c.keep.map(pct).join(' / ')}`, `bits ${c.bits.map((b) => (b === 32 ? 'float' : `${b}`)).join(' / ')}`];
  if (c.units.some((u) => u < 1)) parts.push(`units kept ${c.units.map(pct).join(' / ')}`);
  if (c.distilled) parts.push('distilled from the dense model');
  return parts.join(', ');
}

/** The candidate one step harsher in one layer's setting, or undefined at the last step. */
export function harsher(c: Candidate, dim: Dimension, layer: number): Candidate | undefined {
  const steps = STEPS[dim];
  const i = steps.indexOf(c[dim][layer]!);
  if (i < 0 || i + 1 >= steps.length) return undefined;
  const next = copyOf(c);
  next[dim][layer] = steps[i + 1]!;
  return next;
}

/** The units to remove so that a fraction `keep` of a hidden layer stays (at least one): the least important first, ties to the lower index. */
export function unitsToRemove(scores: Float64Array, keep: number): number[] {
  const count = scores.length - Math.max(1, Math.round(keep * scores.length));
  return Array.from(scores, (s, u) => [s, u] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, count)
    .map(([, u]) => u);
}

/** A copy whose settings can change without changing `c`. */
export function copyOf(c: Candidate): Candidate {
  return { keep: [...c.keep], bits: [...c.bits], units: [...c.units], ...(c.distilled ? { distilled: true } : {}) };
}
