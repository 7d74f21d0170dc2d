/**
 * Weight sharing by k-means (Deep Compression, Han et al. 2016, section 3): each layer's kept
 * weights are clustered into K = 2^bits shared values, with linear initialization (centroids
 * spaced evenly over [min, max], which Han et al. found best: it keeps the rare large weights
 * that density-based initializations lose). The model keeps the codebook and each weight's
 * index; fit() then fine-tunes the shared values (nn/sharing.ts).
 *
 * Clustering runs on the CPU after one readback per layer: in one dimension Lloyd's algorithm on
 * sorted values needs only the cluster boundaries (midpoints between neighbouring centroids,
 * found by binary search) and prefix sums, O(K log n) per iteration, so it converges exactly in
 * milliseconds; the per-weight work (fine-tuning) is on the GPU.
 */
import { requireFolded } from './fold.js';
import { InvalidArgumentError } from '../errors.js';
import { shareWeights as expandShared } from '../kernels/sharing.js';
import { disposeQuant, type LayerQuant } from '../nn/quant-spec.js';
import type { Model } from '../nn/model.js';
import { layersOf } from './layers-of.js';

export interface KMeansResult {
  /** K centroids, ascending. */
  centroids: Float64Array;
  /** Lloyd iterations run (until no boundary moved, at most maxIterations). */
  iterations: number;
}

/** First index of `sorted` with a value > x (values <= a midpoint go to the lower cluster). */
function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0,
    hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lloyd's k-means of ascending `sorted` values into k clusters from a linear initialization. */
export function kmeans1d(sorted: Float64Array, k: number, maxIterations = 300): KMeansResult {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`k-means needs k >= 1 clusters, got ${k}.`);
  const n = sorted.length;
  const centroids = new Float64Array(k);
  if (n === 0) return { centroids, iterations: 0 };
  const lo = sorted[0]!,
    hi = sorted[n - 1]!;
  for (let j = 0; j < k; j++) centroids[j] = k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * j) / (k - 1);
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + sorted[i]!;
  let bounds = new Int32Array(k + 1).fill(-1);
  let iterations = 0;
  while (iterations < maxIterations) {
    const next = new Int32Array(k + 1);
    next[k] = n;
    for (let j = 1; j < k; j++) next[j] = upperBound(sorted, (centroids[j - 1]! + centroids[j]!) / 2);
    if (next.every((b, j) => b === bounds[j])) break;
    bounds = next;
    iterations++;
    for (let j = 0; j < k; j++) {
      const count = bounds[j + 1]! - bounds[j]!;
      if (count > 0) centroids[j] = (prefix[bounds[j + 1]!]! - prefix[bounds[j]!]!) / count; // an empty cluster keeps its value
    }
  }
  return { centroids, iterations };
}

/** Index of the nearest centroid (ascending centroids; a tie goes to the lower one). */
export function nearest(centroids: ArrayLike<number>, v: number): number {
  let lo = 0,
    hi = centroids.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (centroids[mid]! + centroids[mid + 1]!) / 2) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * k-means weight sharing of every layer (or the given ones) at `bits` bits (1 to 8): the weights become their
 * shared values; layer.quant holds the codebook and the indices (2^bits for pruned weights).
 */
export async function shareWeights(model: Model, bits: number, layers?: readonly number[]): Promise<LayerQuant[]> {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new InvalidArgumentError(`k-means weight sharing takes 1 to 8 bits, got ${bits}.`);
  requireFolded(model, 'k-means weight sharing');
  const k = 2 ** bits;
  const device = model.device;
  const out: LayerQuant[] = [];
  for (const i of layersOf(model, layers)) {
    const l = model.layers[i]!;
    const w = await l.weight.read();
    const mask = l.mask ? await l.mask.read() : undefined;
    const kept: number[] = [];
    for (let i = 0; i < w.length; i++) if (mask?.[i] !== 0) kept.push(w[i]!);
    const sorted = Float64Array.from(kept).sort();
    const { centroids } = kmeans1d(sorted, k);
    const codebook = Float32Array.from(centroids);
    const assignment = new Uint32Array(w.length).fill(k);
    for (let i = 0; i < w.length; i++) if (mask?.[i] !== 0) assignment[i] = nearest(centroids, w[i]!);
    const q: LayerQuant = {
      spec: { method: 'kmeans', bits },
      weight: { scale: device.tensor(new Float32Array([1])), zero: device.tensor(new Int32Array(1)), qmin: 0, qmax: k - 1 },
      codebook: device.tensor(codebook),
      assignment: device.tensor(assignment, [l.inputs, l.units]),
    };
    expandShared(q.codebook!, q.assignment!, l.weight);
    disposeQuant(l.quant);
    l.quant = q;
    out.push(q);
  }
  return out;
}
