/**
 * Structured pruning of convolutional networks with physical removal: filters of a convolution
 * come out of its weight matrix and bias, and everything that read their channel goes with them,
 * following the dependencies as Torch-Pruning does: pooling passes channels through, the next
 * convolution loses the filter rows (ky, kx, channel), and a dense layer after the flatten loses
 * the rows (y, x, channel), a batch norm after the convolution loses the channel's parameters. The
 * result is a new, smaller model that computes exactly what the original computes with those
 * channels at zero where the next layers read them (channelStage: after the batch norm if there
 * is one; after a relu, a zero filter's channel is zero).
 */
import { InvalidArgumentError } from '../errors.js';
import type { DenseLayer } from '../nn/mlp.js';
import { copy } from '../kernels/elementwise.js';
import { type LayerSpec, placeStages, Sequential } from '../nn/sequential.js';

/** The stage whose outputs hold a convolution's channels as the next layers read them: its batch norm if one follows, else the convolution. */
export function channelStage(model: Sequential, stage: number): number {
  return model.stages[stage + 1]?.spec.type === 'batchNorm' ? stage + 1 : stage;
}

/** The layers a filter's channel reaches: the next convolution or dense stage after pooling and flatten. */
function consumerOf(model: Sequential, stage: number): number | undefined {
  for (let i = stage + 1; i < model.stages.length; i++) if (model.stages[i]!.param !== undefined) return i;
  return undefined;
}

/**
 * A new model without `filters` (indices) of the convolution at stage `stage`; the given model is
 * left as it is. Masks and quantization parameters are dropped (prune and quantize the smaller model again).
 */
export async function removeFilters(model: Sequential, stage: number, filters: readonly number[]): Promise<Sequential> {
  const s = model.stages[stage];
  if (s?.spec.type !== 'conv2d') throw new InvalidArgumentError(`removeFilters: stage ${stage} is ${s ? s.spec.type : 'missing'}, not a convolution.`);
  const f = s.spec.filters;
  const drop = new Set(filters);
  if ([...drop].some((j) => !Number.isInteger(j) || j < 0 || j >= f)) throw new InvalidArgumentError(`removeFilters: filters must be indices in [0, ${f}), got ${filters.join(', ')}.`);
  if (drop.size >= f) throw new InvalidArgumentError(`removeFilters: removing all ${f} filters leaves no channel.`);
  const keep = Array.from({ length: f }, (_, j) => j).filter((j) => !drop.has(j));
  const next = consumerOf(model, stage);
  const specs: LayerSpec[] = model.stages.map((t, i) => (i === stage ? { ...(t.spec as LayerSpec & { type: 'conv2d' }), filters: keep.length } : t.spec));
  const device = model.device;
  const read = await Promise.all(model.layers.map(async (l) => ({ weight: await l.weight.read(), bias: await l.bias.read() })));
  const stages = placeStages(model.inputShape, specs);
  const layers: DenseLayer[] = model.layers.map((l, p) => {
    let { weight, bias } = read[p]!;
    let [inputs, units] = [l.inputs, l.units];
    if (p === s.param) {
      // The filters are columns of [k, f]: keep the others, and their biases.
      weight = Float32Array.from({ length: inputs * keep.length }, (_, i) => weight[Math.floor(i / keep.length) * units + keep[i % keep.length]!]!);
      bias = Float32Array.from(keep, (j) => bias[j]!);
      units = keep.length;
    } else if (next !== undefined && p === model.stages[next]!.param) {
      // Rows come in groups of the removed convolution's f channels (channels last): keep the others.
      const rows = Array.from({ length: inputs }, (_, r) => r).filter((r) => !drop.has(r % f));
      weight = Float32Array.from({ length: rows.length * units }, (_, i) => weight[rows[Math.floor(i / units)]! * units + (i % units)]!);
      inputs = rows.length;
    }
    return { inputs, units, activation: l.activation, weight: device.tensor(weight, [inputs, units]), bias: device.tensor(bias) };
  });
  const normed = model.stages[channelStage(model, stage)]!.norm;
  const norms = await Promise.all(
    model.norms.map(async (n, j) => {
      if (j !== normed) return { gamma: copy(n.gamma), beta: copy(n.beta), running: copy(n.running) };
      const [gamma, beta, running] = await Promise.all([n.gamma.read(), n.beta.read(), n.running.read()]);
      return {
        gamma: device.tensor(Float32Array.from(keep, (c) => gamma[c]!)),
        beta: device.tensor(Float32Array.from(keep, (c) => beta[c]!)),
        running: device.tensor(Float32Array.from([...keep.map((c) => running[c]!), ...keep.map((c) => running[f + c]!)]), [2, keep.length]),
      };
    }),
  );
  return new Sequential(device, [...model.inputShape], stages, layers, norms);
}

/**
 * The filters of each convolution ordered by their weights' norm (L1 or L2), smallest first: Li
 * et al. 2017's criterion for which filters to remove.
 */
export async function filterNorms(model: Sequential, norm: 1 | 2 = 1): Promise<{ stage: number; norms: Float64Array }[]> {
  const out: { stage: number; norms: Float64Array }[] = [];
  for (const [i, s] of model.stages.entries()) {
    if (s.spec.type !== 'conv2d') continue;
    const l = model.layers[s.param!]!;
    const w = await l.weight.read();
    const norms = new Float64Array(l.units);
    for (let k = 0; k < l.inputs; k++) for (let j = 0; j < l.units; j++) norms[j]! += norm === 1 ? Math.abs(w[k * l.units + j]!) : w[k * l.units + j]! ** 2;
    out.push({ stage: i, norms: norm === 1 ? norms : norms.map(Math.sqrt) });
  }
  return out;
}

/**
 * A new model with `fraction` of every convolution's filters removed, those of the smallest norm
 * (ties to the lower index), and their dependents (removeFilters). At least one filter stays.
 */
export async function pruneFilters(model: Sequential, options: { fraction: number; norm?: 1 | 2 }): Promise<Sequential> {
  if (!(options.fraction >= 0 && options.fraction < 1)) throw new InvalidArgumentError(`fraction must be in [0, 1), got ${options.fraction}.`);
  const ranked = await filterNorms(model, options.norm ?? 1);
  let current = model;
  for (const { stage, norms } of ranked) {
    const count = Math.min(norms.length - 1, Math.round(options.fraction * norms.length));
    if (count === 0) continue;
    const order = Array.from(norms.keys()).sort((a, b) => norms[a]! - norms[b]! || a - b);
    const smaller = await removeFilters(current, stage, order.slice(0, count));
    if (current !== model) current.dispose();
    current = smaller;
  }
  return current === model ? model.clone() : current;
}
