/**
 * A sequential multilayer perceptron of dense layers. Weights live on the GPU, stored [inputs,
 * units] (so the forward pass is X W), with a bias per unit and an activation per layer.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { ACTIVATIONS, gemm, type Activation } from '../kernels/gemm.js';
import { softmax } from '../kernels/loss.js';
import { resize, transpose } from '../kernels/transpose.js';
import { rowsPadded, sparseForwardT } from '../kernels/sparse.js';
import { blockSparseForward } from '../kernels/block-sparse.js';
import { packedForward } from '../kernels/packed.js';
import { FORM_COSTS, LayerForms } from './layer-forms.js';
import { Random } from '../random.js';
import { disposeQuant, type LayerQuant } from './quant-spec.js';
import type { LossKind } from '../kernels/loss.js';
import { Backprop } from './backprop.js';

type F32 = Tensor<'f32'>;

export interface DenseSpec {
  inputs: number;
  units: number;
  activation: Activation;
}

export interface DenseLayer extends DenseSpec {
  /** [inputs, units] */
  weight: F32;
  /** [units] */
  bias: F32;
  /** Optional pruning mask of the weight's shape (1 keeps, 0 prunes); optimizers honour it. */
  mask?: F32;
  /** Optional mask of the bias (structured pruning removes a neuron's bias too). */
  biasMask?: F32;
  /** Set by quantizeWeights: the weight's quantization (the weight then holds dequantized values). */
  quant?: LayerQuant;
}

export interface MlpOptions {
  /** Activation of the hidden layers (default relu). */
  activation?: Activation;
  /** Activation of the last layer (default identity: logits). */
  output?: Activation;
  /** Seed of the initialization (default 0). */
  seed?: number;
}

/** Checks that each layer's inputs equal the previous layer's units; names the layers if not. */
export function checkSpecs(specs: DenseSpec[]): void {
  if (specs.length === 0) throw new ShapeError('An MLP needs at least one layer.');
  specs.forEach((s, i) => {
    for (const key of ['inputs', 'units'] as const) if (!Number.isInteger(s[key]) || s[key] < 1) throw new ShapeError(`Layer ${i}: ${key} must be a positive integer, got ${s[key]}.`);
    if (!(s.activation in ACTIVATIONS)) throw new InvalidArgumentError(`Layer ${i}: unknown activation '${s.activation}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
    const prev = specs[i - 1];
    if (prev && prev.units !== s.inputs) throw new ShapeError(`Layer ${i - 1} has ${prev.units} units but layer ${i} expects ${s.inputs} inputs.`);
  });
}

/**
 * Initial weights: He normal (std sqrt(2 / fan_in), He et al. 2015) for relu, Glorot uniform
 * (limit sqrt(6 / (fan_in + fan_out)), Glorot & Bengio 2010) otherwise; biases 0. Drawn from
 * Random (xoshiro128**) seeded with `seed`, layer by layer, row-major.
 */
export function initialWeights(spec: DenseSpec, random: Random): Float32Array {
  const w = new Float32Array(spec.inputs * spec.units);
  if (spec.activation === 'relu') {
    const std = Math.sqrt(2 / spec.inputs);
    for (let i = 0; i < w.length; i++) w[i] = random.normal() * std;
  } else {
    const limit = Math.sqrt(6 / (spec.inputs + spec.units));
    for (let i = 0; i < w.length; i++) w[i] = random.uniform(-limit, limit);
  }
  return w;
}

export class MLP {
  constructor(
    readonly device: Device,
    readonly layers: DenseLayer[],
  ) {
    checkSpecs(layers);
    this.forms = new LayerForms(device);
  }

  /** A new MLP with widths like [784, 300, 100, 10], freshly initialized. */
  static create(device: Device, widths: number[], options: MlpOptions = {}): MLP {
    if (widths.length < 2) throw new ShapeError(`An MLP needs at least an input and an output width, got [${widths.join(', ')}].`);
    const specs: DenseSpec[] = widths.slice(1).map((units, i) => ({
      inputs: widths[i]!,
      units,
      activation: i === widths.length - 2 ? (options.output ?? 'identity') : (options.activation ?? 'relu'),
    }));
    checkSpecs(specs);
    // Refused before the initial weights are drawn on the CPU (gigabytes for a mistyped width).
    specs.forEach((s, i) => device.checkTensorSize([s.inputs, s.units], 'f32', `Layer ${i} (${s.inputs} x ${s.units})`));
    const random = new Random(options.seed ?? 0);
    const layers = specs.map((s) => ({
      ...s,
      weight: device.tensor(initialWeights(s, random), [s.inputs, s.units]),
      bias: device.tensor(new Float32Array(s.units)),
    }));
    return new MLP(device, layers);
  }

  /** An MLP from given weights ([inputs, units], row-major) and biases. */
  static fromWeights(device: Device, layers: (DenseSpec & { weight: Float32Array; bias: Float32Array })[]): MLP {
    checkSpecs(layers);
    return new MLP(
      device,
      layers.map((l, i) => {
        if (l.weight.length !== l.inputs * l.units || l.bias.length !== l.units)
          throw new ShapeError(`Layer ${i}: expected ${l.inputs * l.units} weights and ${l.units} biases, got ${l.weight.length} and ${l.bias.length}.`);
        return {
          inputs: l.inputs,
          units: l.units,
          activation: l.activation,
          weight: device.tensor(l.weight, [l.inputs, l.units]),
          bias: device.tensor(l.bias),
        };
      }),
    );
  }

  get inputs(): number {
    return this.layers[0]!.inputs;
  }

  get outputs(): number {
    return this.layers[this.layers.length - 1]!.units;
  }

  /** The architecture as widths: inputs, then each layer's units (784-300-100-10 is [784, 300, 100, 10]). */
  get widths(): number[] {
    return [this.inputs, ...this.layers.map((l) => l.units)];
  }

  /** How many times per input row each layer's weight matrix is applied: once each. */
  get positions(): number[] {
    return this.layers.map(() => 1);
  }

  parameterCount(): number {
    return this.layers.reduce((n, l) => n + l.inputs * l.units + l.units, 0);
  }

  /**
   * Forward pass on a batch x [B, inputs]; writes each layer's outputs into `outs` when given
   * (training keeps them for backpropagation), else into temporaries. Returns the last output.
   */
  forward(x: F32, outs?: F32[]): F32 {
    if (x.shape.length !== 2 || x.shape[1] !== this.inputs) throw new ShapeError(`MLP input must be [batch, ${this.inputs}], got [${x.shape.join(', ')}].`);
    if (!outs) return this.infer(x);
    let h = x;
    this.layers.forEach((l, i) => {
      const next = gemm(h, l.weight, { bias: l.bias, activation: l.activation, out: outs?.[i] });
      if (!outs && h !== x) h.dispose(); // the pool reuses it only for later work
      h = next;
    });
    return h;
  }

  /**
   * Inference: hidden widths that are not multiples of 4 (94, 51, 30) run as if padded with zero
   * units, so every layer stays on the blocked GEMM versions, which need widths in whole vec4s
   * (bench/RESULTS.md: a 784-94-51-10 model ran 2.2x slower than 784-300-100-10 without this).
   * A padding unit outputs act(0) and meets zero rows of the next padded weight, so it changes
   * nothing; the last layer is padded too (a 10-wide output left the blocked versions: 0.55
   * against 0.23 ms over 1,024 rows) and cut to its width at the end, from 256 rows up; below,
   * the cut's own dispatch costs more than the narrow product loses (100 x 10, medians, narrow
   * against padded and cut: 1 row 0.09 against 0.17 ms, 128 rows 0.13 against 0.23, 512 rows 0.37
   * against 0.33). The padded weights are kept and made again only after the layer's weight or
   * bias was written (Device.writeStamp).
   * Compressed layers run in the form prepareInference chose (layer-forms.ts): blocks or packed
   * integers on the same row-major activations, or column lists on transposed ones at 64 rows
   * or more, transposed in and out around runs.
   */
  private infer(x: F32): F32 {
    const rows = x.shape[0]!;
    // The activation as it stands: h [rows, k] (k may include padding units; rows padded to whole
    // vec4s after a dense layer on transposed activations), or transposed ht [units, rowsPadded]
    // after a column-list layer.
    let h: F32 | undefined = x;
    let ht: F32 | undefined;
    let k = this.inputs;
    const drop = (t: F32 | undefined) => t !== x && t?.dispose();
    const toRows = () => {
      if (!ht) return;
      const back = transpose(ht);
      ht.dispose();
      ht = undefined;
      h = back.shape[0] === rows ? back : resize(back, rows, k);
      if (h !== back) back.dispose();
    };
    const lastLayer = this.layers[this.layers.length - 1];
    for (const l of this.layers) {
      const form = this.forms.of(l);
      // Under UNPADDED_LAST_BELOW rows a block, packed or dense last layer runs dense and as wide
      // as its outputs (no cut after it).
      const narrowLast = l === lastLayer && !ht && rows < UNPADDED_LAST_BELOW && l.units % 4 !== 0;
      if (form?.kind === 'sparse' && rows >= FORM_COSTS.sparseMinRows) {
        if (!ht) {
          const rp = rowsPadded(rows);
          const padded = h!.shape[0] === rp && k === l.inputs ? h! : resize(h!, rp, l.inputs);
          ht = transpose(padded);
          if (padded !== h) padded.dispose();
          drop(h);
          h = undefined;
        }
        const next = sparseForwardT(ht, form.weight, rows, { bias: l.bias, activation: l.activation });
        ht.dispose();
        ht = next;
        k = l.units;
        continue;
      }
      if ((form?.kind === 'block' || form?.kind === 'packed') && !narrowLast) {
        toRows();
        const input = k === form.weight.inputs ? h! : resize(h!, h!.shape[0]!, form.weight.inputs);
        const options = { bias: form.bias, activation: l.activation };
        const next = form.kind === 'block' ? blockSparseForward(input, form.weight, options) : packedForward(input, form.weight, options);
        if (input !== h) input.dispose();
        drop(h);
        h = next;
        k = next.shape[1]!;
        continue;
      }
      const n = narrowLast ? l.units : Math.ceil(l.units / 4) * 4;
      const { weight, bias } = k === l.inputs && n === l.units ? l : this.paddedLayer(l, k, n);
      if (ht) {
        // After column lists, the product reads the transposed activation as it is (gemm's
        // mat_tn, rowsPadded rows out) rather than transposing it back: 1.8 against 2.7 ms for
        // the 1,024-row 300 x 100 layer.
        h = gemm(ht, weight, { transA: true, bias, activation: l.activation });
        ht.dispose();
        ht = undefined;
      } else {
        const next = gemm(h!, weight, { bias, activation: l.activation });
        drop(h);
        h = next;
      }
      k = n;
    }
    toRows();
    const out = this.outputs;
    if (k === out && h!.shape[0] === rows) return h!;
    const cut = resize(h!, rows, out); // the last layer's padding units, and padding rows
    drop(h);
    return cut;
  }

  private readonly forms: LayerForms;

  /**
   * Reads back what inference needs to skip pruned weights and read packed ones: each compressed
   * layer's form (blocks, column lists, packed integers or dense; layer-forms.ts), made again
   * only after its weight, mask, bias or scale changed. predict, evaluate, testMetrics and
   * inferenceSpeed call it; forward() alone runs dense where it was not called.
   */
  async prepareInference(): Promise<void> {
    await this.forms.prepare(this.layers);
  }

  /**
   * The form each layer runs in at inference now: 'block', 'sparse' (at 64 rows or more; dense
   * below), 'packed' or 'dense'. A last layer whose width is not a multiple of 4 runs dense under
   * 256 rows (infer).
   */
  inferenceForms(): ('block' | 'sparse' | 'packed' | 'dense')[] {
    return this.layers.map((l) => this.forms.of(l)?.kind ?? 'dense');
  }

  /** Padded copies of a layer's weight and bias, by their padded shape `${k}x${n}` (a last layer has two: wide and narrow). */
  private readonly padded = new Map<DenseLayer, Map<string, { weight: F32; bias: F32; stamps: [number, number] }>>();

  private paddedLayer(l: DenseLayer, k: number, n: number): { weight: F32; bias: F32 } {
    const stamps: [number, number] = [this.device.writeStamp(l.weight), this.device.writeStamp(l.bias)];
    let shapes = this.padded.get(l);
    if (!shapes) this.padded.set(l, (shapes = new Map()));
    const key = `${k}x${n}`;
    const hit = shapes.get(key);
    if (hit && hit.stamps[0] === stamps[0] && hit.stamps[1] === stamps[1]) return { weight: hit.weight, bias: hit.bias.reshape([n]) };
    hit?.weight.dispose();
    hit?.bias.dispose();
    const entry = { weight: resize(l.weight, k, n), bias: resize(l.bias.reshape([1, l.units]), 1, n), stamps };
    shapes.set(key, entry);
    return { weight: entry.weight, bias: entry.bias.reshape([n]) };
  }

  /** Outputs for x [B, inputs]: logits, or softmax probabilities with { probabilities: true }. */
  async predict(x: F32 | Float32Array, options: { probabilities?: boolean } = {}): Promise<Float32Array> {
    await this.prepareInference();
    return predictWith(this, x, options);
  }

  /** The weights and biases, read back. */
  async read(): Promise<{ weight: Float32Array; bias: Float32Array }[]> {
    return Promise.all(this.layers.map(async (l) => ({ weight: await l.weight.read(), bias: await l.bias.read() })));
  }

  /** Training buffers for batches of `batch` rows (fit uses them). */
  backprop(batch: number, loss: LossKind): Backprop {
    return new Backprop(this, batch, loss);
  }

  /** An independent copy made on the GPU: weights, biases, masks and quantization parameters. */
  clone(): MLP {
    return new MLP(this.device, cloneLayers(this.layers));
  }

  dispose(): void {
    for (const shapes of this.padded.values()) for (const p of shapes.values()) p.weight.dispose(), p.bias.dispose();
    this.padded.clear();
    this.forms.dispose();
    disposeLayers(this.layers);
  }
}

/** Copies of layers made on the GPU: weights, biases, masks and quantization parameters. */
export function cloneLayers(layers: DenseLayer[]): DenseLayer[] {
  return layers.map((l) => {
    const d = l.weight.device;
    return {
      inputs: l.inputs,
      units: l.units,
      activation: l.activation,
      weight: d.duplicate(l.weight),
      bias: d.duplicate(l.bias),
      ...(l.mask ? { mask: d.duplicate(l.mask) } : {}),
      ...(l.biasMask ? { biasMask: d.duplicate(l.biasMask) } : {}),
      ...(l.quant ? { quant: cloneQuant(l.quant) } : {}),
    };
  });
}

export function disposeLayers(layers: DenseLayer[]): void {
  for (const l of layers) {
    l.weight.dispose();
    l.bias.dispose();
    l.mask?.dispose();
    l.biasMask?.dispose();
    disposeQuant(l.quant);
  }
}

/** Rows below which inference runs the last layer as wide as the outputs (infer). */
const UNPADDED_LAST_BELOW = 256;

/** Rows per forward pass when predict is given host rows: as evaluate's batches (a convolution's columns for 10,000 images would pass the buffer limits). */
const PREDICT_ROWS = 1024;

/** A model's outputs for x [B, inputs] read back: logits, or softmax probabilities; host rows go through in passes of 1,024. */
export async function predictWith(
  model: { device: Device; inputs: number; outputs: number; forward(x: F32): F32 },
  x: F32 | Float32Array,
  options: { probabilities?: boolean },
): Promise<Float32Array> {
  if (x instanceof Float32Array && x.length % model.inputs !== 0) throw new ShapeError(`predict: ${x.length} values are not whole rows of ${model.inputs} inputs.`);
  if (x instanceof Float32Array && x.length > PREDICT_ROWS * model.inputs) {
    const rows = x.length / model.inputs;
    const out = new Float32Array(rows * model.outputs);
    for (let r = 0; r < rows; r += PREDICT_ROWS) out.set(await predictWith(model, x.subarray(r * model.inputs, Math.min(rows, r + PREDICT_ROWS) * model.inputs), options), r * model.outputs);
    return out;
  }
  const input = x instanceof Float32Array ? model.device.tensor(x, [x.length / model.inputs, model.inputs]) : x;
  let out = model.forward(input);
  if (options.probabilities) {
    const p = softmax(out);
    out.dispose();
    out = p;
  }
  const data = await out.read();
  out.dispose();
  if (input !== x) input.dispose();
  return data;
}

/** An independent copy of a layer's quantization parameters (clone). */
export function cloneQuant(q: LayerQuant): LayerQuant {
  const d = q.weight.scale.device;
  return {
    spec: { ...q.spec },
    weight: { ...q.weight, scale: d.duplicate(q.weight.scale), zero: d.duplicate(q.weight.zero) },
    ...(q.codebook ? { codebook: d.duplicate(q.codebook) } : {}),
    ...(q.assignment ? { assignment: d.duplicate(q.assignment) } : {}),
  };
}
