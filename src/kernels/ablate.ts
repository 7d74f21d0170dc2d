/** Host side of shaders/ablate.wgsl: batched unit ablation (rank-1 updates) and channel ablation, per-variant losses, Taylor scores. */
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, type Activation } from './gemm.js';
import { dispatchLinear, output, placeholder, requireDType, requireRank, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

const base = { n: 0, cols: 0, units: 0, variants: 0, act: 0, offset: 0, diff: 0 };

/**
 * For each variant v (removing unit units[v] of the layer whose outputs are a [n, U]) and each
 * sample r: act(z[r] - a[r, u] * w[u]) where z = a w + b [n, J] is the next layer's
 * pre-activation and w [U, J] its weight. Returns [V * n, J], variant-major.
 */
export function rank1Ablate(z: F32, a: F32, w: F32, units: Tensor<'u32'>, activation: Activation, out?: F32): F32 {
  requireRank('rank1Ablate', 'z', z, 2);
  requireRank('rank1Ablate', 'a', a, 2);
  const [n, cols] = z.shape as [number, number];
  const unitsCount = a.shape[1]!;
  requireShape('rank1Ablate', 'a', a, [n, unitsCount]);
  requireShape('rank1Ablate', 'w', w, [unitsCount, cols]);
  requireDType('rank1Ablate', 'units', units, 'u32');
  const variants = units.size;
  const result = output(z.device, [variants * n, cols], 'f32', out, 'rank1Ablate');
  dispatchLinear(z.device, 'ablate', 'rank1_ablate', { p: { ...base, n, cols, units: unitsCount, variants, act: ACTIVATIONS[activation] }, z, a, w, unit_of: units, out: result }, variants * n * cols);
  return result;
}

/**
 * For each variant v (removing channel channels[v]) and each sample r: the convolution outputs
 * h [n, ...positions, C] (channels last) with that channel at zero. Returns [V * n, ...], variant-major.
 */
export function channelAblate(h: F32, channels: Tensor<'u32'>, out?: F32): F32 {
  if (h.shape.length < 2) throw new RangeError(`channelAblate: h must be [n, ..., channels], got [${h.shape.join(', ')}]`);
  requireDType('channelAblate', 'channels', channels, 'u32');
  const [n, ...rest] = h.shape as [number, ...number[]];
  const m = rest.reduce((a, b) => a * b, 1);
  const variants = channels.size;
  const result = output(h.device, [variants * n, ...rest], 'f32', out, 'channelAblate');
  dispatchLinear(h.device, 'ablate', 'channel_ablate', { p: { ...base, n, cols: rest[rest.length - 1]!, units: m, variants }, z: h, unit_of: channels, out: result }, variants * n * m);
  return result;
}

/**
 * sums[offset + v] += sum over the n rows of variant v of the cross-entropy of logits [V * n, C]
 * with labels [n], less that of the unchanged model's logits `reference` [n, C] when given.
 */
export function variantLoss(logits: F32, labels: Tensor<'i32'>, sums: F32, offset: number, reference?: F32): void {
  requireRank('variantLoss', 'logits', logits, 2);
  const n = labels.size;
  const [rows, cols] = logits.shape as [number, number];
  if (rows % n !== 0) throw new RangeError(`variantLoss: ${rows} rows are not whole variants of ${n} samples`);
  const variants = rows / n;
  if (sums.size < offset + variants) throw new RangeError(`variantLoss: sums hold ${sums.size} values, need ${offset + variants}`);
  if (reference) requireShape('variantLoss', 'reference', reference, [n, cols]);
  const device = logits.device;
  device.dispatch(
    device.kernel('ablate'),
    'variant_loss',
    { p: { ...base, n, cols, variants, offset, diff: reference ? 1 : 0 }, logits, labels, sums, base: reference ?? placeholder(device, 'f32') },
    [Math.ceil(variants / 64)],
  );
}

/** scores[u] += sum over rows of |acts[r, u] * g[r, u]| for acts and g [n, U]. */
export function taylorScores(acts: F32, g: F32, scores: F32): void {
  requireRank('taylorScores', 'acts', acts, 2);
  requireShape('taylorScores', 'g', g, acts.shape);
  const [n, units] = acts.shape as [number, number];
  requireShape('taylorScores', 'scores', scores, [units]);
  const device = acts.device;
  device.dispatch(device.kernel('ablate'), 'taylor', { p: { ...base, n, units }, acts, g, scores }, [Math.ceil(units / 64)]);
}
