/**
 * Importance of every filter (output channel) of a convolutional network's convolutions, with the
 * seed's definition as the reference criterion: I_i = L(f without i, D) - L(f, D), the increase of
 * the mean cross-entropy on D when filter i's output channel is zero for every sample where the
 * next layers read it, after its batch norm if it has one (what removeFilters leaves of the
 * network after a relu or tanh, whose output at 0 is 0).
 *
 * Ablation runs on the GPU, batched as the dense version is (importance.ts): one forward pass per
 * chunk of samples keeps every convolution's outputs; for convolution s each variant "without
 * channel i" is a copy of its outputs with that channel at zero, the variant as a batch dimension,
 * and only the stages after s run, on [variants x samples] rows at once, in passes that fit the
 * memory budget. Cheaper
 * criteria: the L1 or L2 norm of a filter's weights (Li et al. 2017), and random scores.
 */
import type { Dataset } from '../data/dataset.js';
import { type GpuDataset, hostData } from '../data/gpu-dataset.js';
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelAblate, variantLoss } from '../kernels/ablate.js';
import { stageWindow, type Sequential } from '../nn/sequential.js';
import { Random } from '../random.js';
import { channelStage, filterNorms } from './filters.js';
import { checkScoredData, forChunks, scoringRows } from './importance.js';

type F32 = Tensor<'f32'>;

export const FILTER_CRITERIA = ['ablation', 'l1', 'l2', 'random'] as const;
export type FilterCriterion = (typeof FILTER_CRITERIA)[number];

export interface FilterImportanceOptions {
  /** Default 'ablation'. */
  criterion?: FilterCriterion;
  /** Score on a seeded random subset of this many rows (default: every row). */
  samples?: number;
  seed?: number;
  /** Samples per GPU pass (default 256, fewer when one variant's activations would not fit the budget). */
  chunkRows?: number;
  /** Floats one batch of ablated variants may hold in its widest stage (default 8M, 32 MB). */
  budget?: number;
}

export interface FilterImportance {
  criterion: FilterCriterion;
  /** Rows scored (0 for weight-based criteria). */
  samples: number;
  /** Mean cross-entropy of the unchanged model on them (ablation; NaN otherwise). */
  baselineLoss: number;
  /** One score per filter of each convolution (stage: index into model.stages); higher is more important. */
  stages: { stage: number; scores: Float64Array }[];
}

export async function filterImportance(model: Sequential, given: Dataset | GpuDataset, options: FilterImportanceOptions = {}): Promise<FilterImportance> {
  const criterion = options.criterion ?? 'ablation';
  if (!(FILTER_CRITERIA as readonly string[]).includes(criterion)) throw new InvalidArgumentError(`Unknown filter importance criterion '${criterion}' (use ${FILTER_CRITERIA.join(', ')}).`);
  const convs = model.stages.flatMap((s, i) => (s.spec.type === 'conv2d' ? [i] : []));
  if (convs.length === 0) throw new InvalidArgumentError('The model has no convolution: there are no filters to score.');
  const seed = options.seed ?? 0;
  if (criterion === 'random') {
    const r = new Random(seed);
    return {
      criterion,
      samples: 0,
      baselineLoss: NaN,
      stages: convs.map((stage) => ({ stage, scores: Float64Array.from({ length: model.layers[model.stages[stage]!.param!]!.units }, () => r.next()) })),
    };
  }
  if (criterion === 'l1' || criterion === 'l2') {
    const norms = await filterNorms(model, criterion === 'l1' ? 1 : 2);
    return { criterion, samples: 0, baselineLoss: NaN, stages: norms.map(({ stage, norms: scores }) => ({ stage, scores })) };
  }
  const data = hostData(given);
  checkScoredData(model, data, 'Ablation importance measures');
  const budget = options.budget ?? 8 * 1024 * 1024;
  const chunkRows = options.chunkRows ?? 256;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new InvalidArgumentError(`chunkRows must be a positive integer, got ${chunkRows}.`);
  const rows = scoringRows(data, options.samples, seed);
  const { baseline, scores } = await ablationScores(model, rows, convs, chunkRows, budget);
  return { criterion, samples: rows.rows, baselineLoss: baseline, stages: convs.map((stage, i) => ({ stage, scores: scores[i]! })) };
}

/** Floats per sample of the widest tensor the stages from `from` on make (a convolution's columns count). */
function widestAfter(model: Sequential, from: number): number {
  let widest = 1;
  for (const s of model.stages.slice(from)) {
    widest = Math.max(
      widest,
      s.output.reduce((a, b) => a * b, 1),
    );
    if (s.spec.type === 'conv2d') {
      const g = stageWindow(s, 1);
      widest = Math.max(widest, g.oh * g.ow * g.kh * g.kw * g.c);
    }
  }
  return widest;
}

async function ablationScores(model: Sequential, data: Dataset, convs: number[], chunkRows: number, budget: number): Promise<{ baseline: number; scores: Float64Array[] }> {
  const device = model.device;
  const filtersOf = (stage: number) => model.layers[model.stages[stage]!.param!]!.units;
  const chunk = Math.max(1, Math.min(chunkRows, Math.floor(budget / Math.max(...convs.map((s) => widestAfter(model, s))))));
  const widestSuffix = convs.map((s) => widestAfter(model, channelStage(model, s) + 1));
  const baseSum = device.tensor(new Float32Array(1));
  const sums = convs.map((s) => device.tensor(new Float32Array(filtersOf(s))));
  await forChunks(model, data, chunk, (x, labels, n) => {
    // One forward pass, keeping each convolution's outputs [n, oh, ow, f] on the way.
    const outputs: F32[] = [];
    let h = x.reshape([n, ...model.inputShape]);
    let at = 0;
    for (const stage of convs) {
      const end = channelStage(model, stage);
      h = model.runStages(h, at, end + 1);
      outputs.push(h);
      at = end + 1;
    }
    const logits = model.runStages(h, at);
    variantLoss(logits, labels, baseSum, 0);
    for (const [i, stage] of convs.entries()) {
      const f = filtersOf(stage);
      const perPass = Math.max(1, Math.min(f, Math.floor(budget / (n * widestSuffix[i]!))));
      for (let v0 = 0; v0 < f; v0 += perPass) {
        const channels = device.tensor(Uint32Array.from({ length: Math.min(perPass, f - v0) }, (_, j) => v0 + j));
        const ablated = channelAblate(outputs[i]!, channels);
        const out = model.runStages(ablated, channelStage(model, stage) + 1);
        variantLoss(out, labels, sums[i]!, v0, logits);
        for (const t of [out, ablated, channels]) t.dispose();
      }
    }
    for (const t of [...outputs, logits]) t.dispose();
  });
  const baseline = (await baseSum.read())[0]! / data.rows;
  const scores = await Promise.all(sums.map(async (s) => Float64Array.from(await s.read(), (v) => v / data.rows)));
  baseSum.dispose();
  for (const s of sums) s.dispose();
  return { baseline, scores };
}
