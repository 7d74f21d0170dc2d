/** A plain float64 MLP for the tests: forward, mean losses and SGD, written without the GPU. */
import type { Activation } from '../src/kernels/gemm.js';
import type { LossKind } from '../src/kernels/loss.js';
import type { MLP } from '../src/nn/mlp.js';

export interface RefLayer {
  inputs: number;
  units: number;
  activation: Activation;
  weight: Float64Array; // [inputs, units]
  bias: Float64Array;
}

const F: Record<Activation, (z: number) => number> = {
  identity: (z) => z,
  relu: (z) => Math.max(z, 0),
  tanh: Math.tanh,
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
};

export function refForward(layers: RefLayer[], x: ArrayLike<number>, rows: number): Float64Array {
  let h = Float64Array.from(x);
  for (const l of layers) {
    const out = new Float64Array(rows * l.units);
    for (let r = 0; r < rows; r++)
      for (let u = 0; u < l.units; u++) {
        let s = l.bias[u]!;
        for (let i = 0; i < l.inputs; i++) s += h[r * l.inputs + i]! * l.weight[i * l.units + u]!;
        out[r * l.units + u] = F[l.activation](s);
      }
    h = out;
  }
  return h;
}

/** Mean loss as shrinkray defines it (cross-entropy per row, mse and bce per element). */
export function refLoss(kind: LossKind, z: Float64Array, rows: number, cols: number, target: ArrayLike<number>): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    if (kind === 'softmaxCrossEntropy') {
      const row = z.subarray(r * cols, (r + 1) * cols);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      sum += lse - row[target[r]!]!;
    } else
      for (let c = 0; c < cols; c++) {
        const x = z[r * cols + c]!,
          t = target[r * cols + c]!;
        sum += kind === 'mse' ? (x - t) ** 2 : Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
      }
  }
  return sum / (kind === 'softmaxCrossEntropy' ? rows : rows * cols);
}

/** Central finite differences of the mean loss with respect to every weight and bias. */
export function refGradients(layers: RefLayer[], kind: LossKind, x: ArrayLike<number>, rows: number, target: ArrayLike<number>, h = 1e-5): { weight: Float64Array; bias: Float64Array }[] {
  const cols = layers[layers.length - 1]!.units;
  const lossAt = () => refLoss(kind, refForward(layers, x, rows), rows, cols, target);
  const diff = (a: Float64Array) =>
    Float64Array.from(a, (_, i) => {
      const keep = a[i]!;
      a[i] = keep + h;
      const up = lossAt();
      a[i] = keep - h;
      const down = lossAt();
      a[i] = keep;
      return (up - down) / (2 * h);
    });
  return layers.map((l) => ({ weight: diff(l.weight), bias: diff(l.bias) }));
}

/** A GPU model's current weights as a float64 reference MLP. */
export async function toRef(model: MLP): Promise<RefLayer[]> {
  const w = await model.read();
  return model.layers.map((l, i) => ({ inputs: l.inputs, units: l.units, activation: l.activation, weight: Float64Array.from(w[i]!.weight), bias: Float64Array.from(w[i]!.bias) }));
}
