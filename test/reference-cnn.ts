/** A plain float64 forward pass of a Sequential model's stages (NHWC), for gradient checks. */
import type { Activation } from '../src/kernels/gemm.js';
import { type Stage, stageWindow } from '../src/nn/sequential.js';

const F: Record<Activation, (z: number) => number> = {
  identity: (z) => z,
  relu: (z) => Math.max(z, 0),
  tanh: Math.tanh,
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
};

/** A batch norm's parameters in float64: gamma, beta, running mean and variance [channels] each. */
export interface RefNorm {
  gamma: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
}

/**
 * Logits [rows, outputs] of the stages with these weights ([k, units] and [units] per layer);
 * `zero` sets one channel of one stage's outputs to 0 (ablation's definition); `dropout` gives a
 * dropout stage's factor for each of its elements (training), else dropout is the identity.
 * Batch norms use `norms.params`: the batch's statistics when `norms.training`, else the running ones.
 */
export function refSequential(
  stages: Stage[],
  params: { weight: Float64Array; bias: Float64Array }[],
  x: ArrayLike<number>,
  rows: number,
  zero?: { stage: number; channel: number },
  dropout?: (stage: number, index: number) => number,
  norms?: { params: RefNorm[]; training: boolean },
): Float64Array {
  let h = Float64Array.from(x);
  for (const [i, s] of stages.entries()) {
    const spec = s.spec;
    if (spec.type === 'flatten') continue; // NHWC rows are already flat in memory
    if (spec.type === 'batchNorm') {
      const { gamma, beta, mean: runningMean, variance: runningVar } = norms!.params[s.norm!]!;
      const c = gamma.length;
      const m = h.length / c;
      let mean = runningMean;
      let variance = runningVar;
      if (norms!.training) {
        mean = new Float64Array(c);
        variance = new Float64Array(c);
        h.forEach((v, j) => (mean[j % c]! += v / m));
        h.forEach((v, j) => (variance[j % c]! += (v - mean[j % c]!) ** 2 / m));
      }
      const eps = spec.eps!;
      h = h.map((v, j) => (zero?.stage === i && zero.channel === j % c ? 0 : F[s.activation](((v - mean[j % c]!) / Math.sqrt(variance[j % c]! + eps)) * gamma[j % c]! + beta[j % c]!)));
      continue;
    }
    if (spec.type === 'dropout') {
      if (dropout) h = h.map((v, j) => v * dropout(i, j));
      continue;
    }
    const out = new Float64Array(rows * s.output.reduce((a, b) => a * b, 1));
    if (spec.type === 'dense') {
      const { weight, bias } = params[s.param!]!;
      const [k, u] = [s.input[0]!, s.output[0]!];
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < u; j++) {
          let z = bias[j]!;
          for (let i = 0; i < k; i++) z += h[r * k + i]! * weight[i * u + j]!;
          out[r * u + j] = F[s.activation](z);
        }
      h = out;
      continue;
    }
    const g = stageWindow(s, rows);
    const f = s.output[2]!;
    for (let n = 0; n < rows; n++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++)
          for (let o = 0; o < f; o++) {
            const window: { v: number; ci: number; ky: number; kx: number }[] = [];
            for (let ky = 0; ky < g.kh; ky++)
              for (let kx = 0; kx < g.kw; kx++) {
                const [iy, ix] = [oy * g.sh - g.ph + ky, ox * g.sw - g.pw + kx];
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                for (let ci = 0; ci < g.c; ci++) window.push({ v: h[((n * g.h + iy) * g.w + ix) * g.c + ci]!, ci, ky, kx });
              }
            let y: number;
            if (spec.type === 'conv2d') {
              const { weight, bias } = params[s.param!]!;
              y = F[s.activation](window.reduce((z, e) => z + e.v * weight[((e.ky * g.kw + e.kx) * g.c + e.ci) * f + o]!, bias[o]!));
            } else {
              const mine = window.filter((e) => e.ci === o).map((e) => e.v);
              y = spec.type === 'maxPool2d' ? Math.max(...mine) : mine.reduce((a, b) => a + b, 0) / (g.kh * g.kw);
            }
            out[((n * g.oh + oy) * g.ow + ox) * f + o] = zero?.stage === i && zero.channel === o ? 0 : y;
          }
    h = out;
  }
  return h;
}
