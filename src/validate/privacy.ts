/**
 * Does the model leak its training data? Membership-inference attacks that try to tell training
 * rows (members) from held-out rows (non-members) by the model's outputs alone:
 *   loss           Yeom et al. 2018: a row is called a member when its loss is low (score = -loss)
 *   confidence     the same on the top softmax probability
 *   trueClass      the same on the probability of the true class (= exp(-loss): it ranks rows
 *                  exactly as the loss attack does, and reports the same figures)
 * Per-row losses and probabilities come from one GPU pass per batch; the attacks then rank the
 * scores. Members and non-members are sampled in equal numbers, seeded.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { type GpuDataset, hostData, onGpu } from '../data/gpu-dataset.js';
import { perSample } from '../kernels/metrics.js';
import type { Model } from '../nn/model.js';
import { Random } from '../random.js';

export const ATTACKS = ['loss', 'confidence', 'trueClass'] as const;
export type Attack = (typeof ATTACKS)[number];

export interface AttackResult {
  attack: Attack;
  /** Area under the ROC curve: 0.5 is guessing, 1 is perfect membership inference. */
  auc: number;
  /** Membership advantage: the largest TPR - FPR over all thresholds (Yeom et al.). */
  advantage: number;
  tprAt1PctFpr: number;
  tprAt01PctFpr: number;
}

export interface PrivacyAudit {
  members: number;
  nonMembers: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** trainAccuracy - testAccuracy on the sampled rows. */
  generalizationGap: number;
  attacks: AttackResult[];
}

/** AUC by the rank formula (Mann-Whitney U): ties count one half. */
export function rocAuc(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const all = [...Array.from(positive, (s) => [s, 1] as const), ...Array.from(negative, (s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1 .. j share their average
    for (let t = i; t < j; t++) if (all[t]![1] === 1) rankSum += avgRank;
    i = j;
  }
  const p = positive.length,
    n = negative.length;
  return (rankSum - (p * (p + 1)) / 2) / (p * n);
}

/** The ROC curve over every distinct threshold (a row is called positive when score >= threshold). */
export function rocCurve(positive: ArrayLike<number>, negative: ArrayLike<number>): { fpr: number[]; tpr: number[] } {
  const all = [...Array.from(positive, (s) => [s, 1] as const), ...Array.from(negative, (s) => [s, 0] as const)].sort((a, b) => b[0] - a[0]);
  const fpr = [0],
    tpr = [0];
  let tp = 0,
    fp = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) {
      if (all[j]![1] === 1) tp++;
      else fp++;
      j++;
    }
    tpr.push(tp / positive.length);
    fpr.push(fp / negative.length);
    i = j;
  }
  return { fpr, tpr };
}

function attackResult(attack: Attack, members: number[], nonMembers: number[]): AttackResult {
  const { fpr, tpr } = rocCurve(members, nonMembers);
  const tprAt = (limit: number) => Math.max(...tpr.filter((_, i) => fpr[i]! <= limit));
  return {
    attack,
    auc: rocAuc(members, nonMembers),
    advantage: Math.max(...tpr.map((t, i) => t - fpr[i]!)),
    tprAt1PctFpr: tprAt(0.01),
    tprAt01PctFpr: tprAt(0.001),
  };
}

/** Loss, 1 - top probability, true-class probability and correctness of each of `rows` (4 values a row), from the GPU. */
async function sampleStats(model: Model, data: GpuDataset, rows: Uint32Array): Promise<Float32Array> {
  const samples = model.device.empty([4 * rows.length]);
  try {
    await data.forEachBatch(
      1024,
      (x, y, offset) => {
        const z = model.forward(x);
        perSample(z, y as never, samples, offset);
        z.dispose();
      },
      rows,
    );
    return await samples.read();
  } finally {
    samples.dispose();
  }
}

function pick(n: number, count: number, random: Random): Uint32Array {
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + random.int(n - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count);
}

export interface AuditOptions {
  /** Rows per side (default: as many as the smaller set has, at most 10,000). */
  samples?: number;
  seed?: number;
}

function checkAuditData(model: Model, train: Dataset, heldOut: Dataset): void {
  for (const [name, d] of [
    ['members', train],
    ['non-members', heldOut],
  ] as const) {
    if (!d.labels) throw new InvalidArgumentError(`auditPrivacy: the ${name} need class labels.`);
    if (d.rows < 10) throw new InvalidArgumentError(`auditPrivacy: ${d.rows} ${name}; at least 10 per side are needed for a meaningful audit.`);
    if (d.cols !== model.inputs) throw new ShapeError(`auditPrivacy: the ${name} have ${d.cols} features but the model takes ${model.inputs}.`);
    if (d.classes! > model.outputs) throw new ShapeError(`auditPrivacy: the ${name} have ${d.classes} classes but the model has ${model.outputs} outputs.`);
  }
}

/** Audits several models (dense, pruned, quantized...) on the same sampled members and non-members. */
export async function compareLeakage(
  models: Record<string, Model>,
  trainData: Dataset | GpuDataset,
  heldOutData: Dataset | GpuDataset,
  options: AuditOptions = {},
): Promise<Record<string, PrivacyAudit>> {
  const [train, heldOut] = [hostData(trainData), hostData(heldOutData)];
  const list = Object.values(models);
  if (list.length === 0) throw new InvalidArgumentError('compareLeakage needs at least one model.');
  for (const m of list) checkAuditData(m, train, heldOut);
  const n = Math.min(options.samples ?? 10_000, train.rows, heldOut.rows);
  if (!Number.isInteger(n) || n < 10) throw new InvalidArgumentError(`samples must be an integer of at least 10, got ${options.samples}.`);
  const random = new Random(options.seed ?? 0);
  const memberRows = pick(train.rows, n, random);
  const nonMemberRows = pick(heldOut.rows, n, random);
  const device = list[0]!.device;
  const { gpu: gpuTrain, owned: ownTrain } = onGpu(device, trainData);
  const { gpu: gpuHeld, owned: ownHeld } = onGpu(device, heldOutData);
  try {
    const out: Record<string, PrivacyAudit> = {};
    for (const [name, model] of Object.entries(models)) {
      const a = await sampleStats(model, gpuTrain, memberRows);
      const b = await sampleStats(model, gpuHeld, nonMemberRows);
      const column = (s: Float32Array, c: number, sign = 1) => Array.from({ length: n }, (_, i) => sign * s[4 * i + c]!);
      const accuracy = (s: Float32Array) => column(s, 3).reduce((k, v) => k + v, 0) / n;
      const trainAccuracy = accuracy(a),
        testAccuracy = accuracy(b);
      out[name] = {
        members: n,
        nonMembers: n,
        trainAccuracy,
        testAccuracy,
        generalizationGap: trainAccuracy - testAccuracy,
        attacks: [
          attackResult('loss', column(a, 0, -1), column(b, 0, -1)),
          attackResult('confidence', column(a, 1, -1), column(b, 1, -1)), // higher confidence = smaller 1 - p_top
          // p_true = exp(-loss): the same ranking as the loss attack, scored through the loss
          // because p_true itself rounds to 1.0 in f32 for confident rows (and then ties).
          attackResult('trueClass', column(a, 0, -1), column(b, 0, -1)),
        ],
      };
    }
    return out;
  } finally {
    if (ownTrain) gpuTrain.dispose();
    if (ownHeld) gpuHeld.dispose();
  }
}

/** Membership-inference audit of one model: train rows are members, held-out rows are not. */
export async function auditPrivacy(model: Model, train: Dataset | GpuDataset, heldOut: Dataset | GpuDataset, options: AuditOptions = {}): Promise<PrivacyAudit> {
  return (await compareLeakage({ model }, train, heldOut, options)).model!;
}
