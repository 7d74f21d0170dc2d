/**
 * Sensitivity analysis (Han et al. 2015, section 4; NNI's sensitivity pruner): each layer alone
 * pruned, shared to fewer bits or stripped of units, step by step, and the validation accuracy
 * after each step, without fine-tuning. The curves say how far each layer can go on its own; the
 * search starts from them.
 */
import type { GpuDataset } from '../data/gpu-dataset.js';
import { prune } from '../compress/prune.js';
import { quantizeWeights } from '../compress/quantize.js';
import { removeUnits } from '../compress/simplify.js';
import { evaluate } from '../nn/evaluate.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { type Dimension, STEPS, unitsToRemove } from './candidate.js';

export interface SensitivityPoint {
  /** The setting: fraction kept (keep, units) or bits (32 = float). */
  value: number;
  validationAccuracy: number;
  /** Reference accuracy minus this one (positive: worse). */
  drop: number;
}

export interface SensitivityCurve {
  layer: number;
  dimension: Dimension;
  points: SensitivityPoint[];
}

export interface Sensitivity {
  /** The unchanged model's validation accuracy. */
  reference: number;
  curves: SensitivityCurve[];
}

export async function sensitivity(
  model: Model,
  data: GpuDataset,
  validationRows: Uint32Array,
  options: { dimensions: readonly Dimension[]; unitScores?: Float64Array[]; onPoint?: () => void },
): Promise<Sensitivity> {
  const score = async (m: Model) => (await evaluate(m, data, { rows: validationRows })).accuracy;
  const reference = await score(model);
  const curves: SensitivityCurve[] = [];
  const L = model.layers.length;
  for (const dimension of options.dimensions) {
    const layers = dimension === 'units' ? L - 1 : L;
    for (let layer = 0; layer < layers; layer++) {
      const points: SensitivityPoint[] = [];
      for (const value of STEPS[dimension].slice(1)) {
        let m = model.clone();
        if (dimension === 'keep') await prune(m, { type: 'layer', sparsity: model.layers.map((_, i) => (i === layer ? 1 - value : 0)) });
        else if (dimension === 'bits') await quantizeWeights(m, { method: 'kmeans', bits: value }, { layers: [layer] });
        else {
          const scores = options.unitScores?.[layer];
          if (!scores || !(m instanceof MLP)) throw new Error(`No unit scores for layer ${layer}, or not an MLP: units are removed from MLPs.`);
          const smaller = await removeUnits(m, layer, unitsToRemove(scores, value));
          m.dispose();
          m = smaller;
        }
        const accuracy = await score(m);
        m.dispose();
        points.push({ value, validationAccuracy: accuracy, drop: reference - accuracy });
        options.onPoint?.();
      }
      curves.push({ layer, dimension, points });
    }
  }
  return { reference, curves };
}

/**
 * Per layer and dimension, the harshest step whose drop stays within `tolerance`, walking from the
 * gentlest and stopping at the first step past it (a later step that happens to score better is
 * noise, not a safe setting).
 */
export function settingWithin(curve: SensitivityCurve, tolerance: number): number {
  let value = STEPS[curve.dimension][0]!;
  for (const p of curve.points) {
    if (p.drop > tolerance) break;
    value = p.value;
  }
  return value;
}
