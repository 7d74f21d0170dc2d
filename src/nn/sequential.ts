/**
 * A model as a sequence of layers: 2D convolutions, max and average pooling, flatten, dropout and
 * dense layers, on NHWC images (an input row of h * w * c values is the image row by row, channels
 * last: MNIST's 784 pixels are [28, 28, 1]). Convolution and dense layers hold their weights as
 * DenseLayer matrices [k, units] (a convolution's k = kh * kw * c, units = filters, TensorFlow's
 * HWIO), so pruning, quantization per output channel (per filter), weight sharing and the
 * optimizers work on them unchanged. A dense layer after image layers flattens its input. Dropout
 * zeroes a seeded random fraction of its inputs in training and scales the rest (inverted
 * dropout, as PyTorch), and passes its inputs through otherwise. Batch norm (PyTorch's
 * BatchNorm2d after a convolution, BatchNorm1d after a dense layer) follows a convolution or dense
 * layer directly, which then has no activation: the activation comes after the batch norm, so the
 * pair can always be folded into one layer (compress/fold.ts). Its parameters live in `norms`.
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { copy } from '../kernels/elementwise.js';
import { conv2d, type Window, type WindowOptions, windowOf } from '../kernels/conv.js';
import { batchNormInfer, type NormParams } from '../kernels/batchnorm.js';
import { ACTIVATIONS, type Activation, gemm } from '../kernels/gemm.js';
import type { LossKind } from '../kernels/loss.js';
import { avgPool, maxPool, poolWindow } from '../kernels/pool.js';
import { Random } from '../random.js';
import { cloneLayers, type DenseLayer, type DenseSpec, disposeLayers, initialWeights, predictWith } from './mlp.js';
import { foldedWeights } from './fold-norm.js';
import { SequentialBackprop } from './sequential-backprop.js';

type F32 = Tensor<'f32'>;

export type LayerSpec =
  | ({ type: 'conv2d'; filters: number; activation?: Activation } & WindowOptions)
  | ({ type: 'maxPool2d' } & WindowOptions)
  | ({ type: 'avgPool2d' } & WindowOptions)
  | { type: 'flatten' }
  | { type: 'dropout'; rate: number }
  | { type: 'batchNorm'; eps?: number; momentum?: number; activation?: Activation }
  | { type: 'dense'; units: number; activation?: Activation };

/** PyTorch's BatchNorm defaults. */
export const NORM_DEFAULTS = { eps: 1e-5, momentum: 0.1 } as const;

/** A layer placed in the model: its spec (activation resolved), input and output shapes, and its weights' index in `layers`. */
export interface Stage {
  spec: LayerSpec;
  /** [h, w, c] for images, [features] for flat rows. */
  input: number[];
  output: number[];
  /** The activation of this stage's outputs (identity for pooling; flatten passes its input's on). */
  activation: Activation;
  /** Index into Sequential.layers for convolution and dense stages. */
  param?: number;
  /** Index into Sequential.norms for batch norm stages. */
  norm?: number;
}

export interface SequentialOptions {
  /** The input's shape: [h, w, c] for images, or [features]. */
  input: number[];
  layers: LayerSpec[];
  /** Seed of the initialization (default 0); weights as MLP.create draws them (He for relu). */
  seed?: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** One layer's name for messages and descriptions: conv20k5, maxpool2, flatten, 500. */
export function layerName(spec: LayerSpec): string {
  const k = (o: WindowOptions) => {
    const pair = (v: number | readonly [number, number]) => (typeof v === 'number' ? `${v}` : `${v[0]}x${v[1]}`);
    return `${pair(o.kernel)}${o.stride !== undefined ? `s${pair(o.stride)}` : ''}${o.padding ? `p${pair(o.padding)}` : ''}`;
  };
  if (spec.type === 'conv2d') return `conv${spec.filters}k${k(spec)}`;
  if (spec.type === 'maxPool2d') return `maxpool${k(spec)}`;
  if (spec.type === 'avgPool2d') return `avgpool${k(spec)}`;
  if (spec.type === 'flatten') return 'flatten';
  if (spec.type === 'dropout') return `dropout${spec.rate}`;
  if (spec.type === 'batchNorm') return 'bn';
  return `${spec.units}`;
}

/** Places the layers: output shapes, implicit flattening before dense layers, activations (relu hidden, identity last); errors name the layer. */
export function placeStages(input: number[], specs: LayerSpec[]): Stage[] {
  if (!(input.length === 1 || input.length === 3) || !input.every((d) => Number.isInteger(d) && d >= 1))
    throw new ShapeError(`The input shape must be [h, w, c] or [features] of positive whole numbers, got [${input.join(', ')}].`);
  if (specs.length === 0) throw new ShapeError('A model needs at least one layer.');
  const stages: Stage[] = [];
  let shape = input;
  let params = 0;
  let norms = 0;
  const lastParam = specs.map((s) => s.type === 'conv2d' || s.type === 'dense').lastIndexOf(true);
  specs.forEach((spec, i) => {
    const where = `layer ${i + 1} (${layerName(spec)})`;
    const previous = stages[stages.length - 1]?.activation ?? 'identity';
    const normed = specs[i + 1]?.type === 'batchNorm';
    const activation = (s: { activation?: Activation }) => {
      const a = s.activation ?? (i === lastParam || normed ? 'identity' : 'relu');
      if (!(a in ACTIVATIONS)) throw new InvalidArgumentError(`${where}: unknown activation '${a}' (use ${Object.keys(ACTIVATIONS).join(', ')}).`);
      if (normed && a !== 'identity')
        throw new InvalidArgumentError(`${where}: a batch norm follows it, so its activation comes after the batch norm: give ${a} to the batch norm, not to this layer.`);
      return a;
    };
    if (spec.type === 'batchNorm') {
      if (stages[stages.length - 1]?.param === undefined)
        throw new ShapeError(
          `${where}: a batch norm must follow a convolution or dense layer directly (so it can be folded into it), not ${stages.length ? layerName(stages[stages.length - 1]!.spec) : 'the input'}.`,
        );
      const eps = spec.eps ?? NORM_DEFAULTS.eps;
      const momentum = spec.momentum ?? NORM_DEFAULTS.momentum;
      if (!(Number.isFinite(eps) && eps > 0)) throw new InvalidArgumentError(`${where}: eps must be a positive number, got ${eps}.`);
      if (!(momentum >= 0 && momentum <= 1)) throw new InvalidArgumentError(`${where}: momentum must be in [0, 1], got ${momentum}.`);
      const a = activation(spec);
      stages.push({ spec: { type: 'batchNorm', eps, momentum, activation: a }, input: shape, output: shape, activation: a, norm: norms++ });
      return;
    }
    if (spec.type === 'dense') {
      if (shape.length === 3) stages.push({ spec: { type: 'flatten' }, input: shape, output: [size(shape)], activation: previous });
      if (!Number.isInteger(spec.units) || spec.units < 1) throw new ShapeError(`${where}: units must be a positive whole number, got ${spec.units}.`);
      const a = activation(spec);
      stages.push({ spec: { ...spec, activation: a }, input: [size(shape)], output: [spec.units], activation: a, param: params++ });
      shape = [spec.units];
      return;
    }
    if (spec.type === 'flatten') {
      stages.push({ spec, input: shape, output: [size(shape)], activation: previous });
      shape = [size(shape)];
      return;
    }
    if (spec.type === 'dropout') {
      if (!(typeof spec.rate === 'number' && spec.rate >= 0 && spec.rate < 1)) throw new InvalidArgumentError(`${where}: the dropout rate must be in [0, 1), got ${spec.rate}.`);
      // Its outputs are its inputs scaled (or 0): their activation's derivative is applied below it.
      stages.push({ spec, input: shape, output: shape, activation: 'identity' });
      return;
    }
    if (shape.length !== 3) throw new ShapeError(`${where}: takes images [h, w, c], but its input is flat [${shape.join(', ')}].`);
    // Window errors start with `where`, so they name the layer.
    const g: Window = spec.type === 'conv2d' ? windowOf([1, ...shape], spec, where) : poolWindow([1, ...shape], spec, where);
    if (spec.type === 'conv2d') {
      if (!Number.isInteger(spec.filters) || spec.filters < 1) throw new ShapeError(`${where}: filters must be a positive whole number, got ${spec.filters}.`);
      const a = activation(spec);
      stages.push({ spec: { ...spec, activation: a }, input: shape, output: [g.oh, g.ow, spec.filters], activation: a, param: params++ });
      shape = [g.oh, g.ow, spec.filters];
    } else {
      stages.push({ spec, input: shape, output: [g.oh, g.ow, g.c], activation: 'identity' });
      shape = [g.oh, g.ow, g.c];
    }
  });
  if (specs[specs.length - 1]!.type !== 'dense') throw new ShapeError(`The last layer must be a dense layer (it gives the outputs), not ${layerName(specs[specs.length - 1]!)}.`);
  return stages;
}

/** The window of a convolution or pooling stage over a batch of n images. */
export function stageWindow(stage: Stage, n: number): Window {
  const spec = stage.spec;
  if (spec.type === 'conv2d') return windowOf([n, ...stage.input], spec, 'conv2d');
  if (spec.type === 'maxPool2d' || spec.type === 'avgPool2d') return poolWindow([n, ...stage.input], spec, spec.type);
  throw new InvalidArgumentError(`${spec.type} has no window.`);
}

/** A batch norm stage's settings, as placeStages resolved them. */
export function normSettings(stage: Stage): { eps: number; momentum: number; activation: Activation } {
  const spec = stage.spec as LayerSpec & { type: 'batchNorm' };
  return { eps: spec.eps ?? NORM_DEFAULTS.eps, momentum: spec.momentum ?? NORM_DEFAULTS.momentum, activation: stage.activation };
}

/** A batch norm's channels: the last dimension of its input. */
export const channelsOf = (stage: Stage): number => stage.input[stage.input.length - 1]!;

/** Fresh batch norm parameters, as PyTorch initializes them: gamma 1, beta 0, running mean 0, running variance 1. */
export function initialNorm(device: Device, channels: number): NormParams {
  return {
    gamma: device.tensor(new Float32Array(channels).fill(1)),
    beta: device.tensor(new Float32Array(channels)),
    running: device.tensor(
      Float32Array.from({ length: 2 * channels }, (_, i) => (i < channels ? 0 : 1)),
      [2, channels],
    ),
  };
}

export class Sequential {
  constructor(
    readonly device: Device,
    readonly inputShape: number[],
    readonly stages: Stage[],
    /** The weights of the convolution and dense stages, in order. */
    readonly layers: DenseLayer[],
    /** The parameters of the batch norm stages, in order. */
    readonly norms: NormParams[] = [],
  ) {
    const stagesWithNorms = stages.filter((s) => s.norm !== undefined);
    if (stagesWithNorms.length !== norms.length || stagesWithNorms.some((s, i) => norms[i]!.gamma.size !== channelsOf(s)))
      throw new ShapeError(`The model's ${stagesWithNorms.length} batch norm stages need their parameters (${stagesWithNorms.map(channelsOf).join(', ')} channels), got ${norms.length} sets.`);
  }

  /** A new model, freshly initialized: for LeNet-5, input [28, 28, 1] and conv20k5, maxpool2, conv50k5, maxpool2, 500, 10. */
  static create(device: Device, options: SequentialOptions): Sequential {
    const stages = placeStages(options.input, options.layers);
    const random = new Random(options.seed ?? 0);
    const layers = Sequential.specsOf(options.input, options.layers).map((spec, i) => {
      device.checkTensorSize([spec.inputs, spec.units], 'f32', `weights ${i + 1} (${spec.inputs} x ${spec.units})`);
      return { ...spec, weight: device.tensor(initialWeights(spec, random), [spec.inputs, spec.units]), bias: device.tensor(new Float32Array(spec.units)) };
    });
    const norms = stages.flatMap((s) => (s.norm === undefined ? [] : [initialNorm(device, channelsOf(s))]));
    return new Sequential(device, options.input, stages, layers, norms);
  }

  /** The weight matrices the layers need, in order: [kh * kw * c, filters] per convolution, [inputs, units] per dense layer. */
  static specsOf(input: number[], specs: LayerSpec[]): DenseSpec[] {
    return placeStages(input, specs).flatMap((s) => {
      if (s.param === undefined) return [];
      if (s.spec.type !== 'conv2d') return [{ inputs: s.input[0]!, units: s.output[0]!, activation: s.activation }];
      const g = stageWindow(s, 1);
      return [{ inputs: g.kh * g.kw * g.c, units: s.spec.filters, activation: s.activation }];
    });
  }

  get inputs(): number {
    return size(this.inputShape);
  }

  get outputs(): number {
    return this.stages[this.stages.length - 1]!.output[0]!;
  }

  /** As an MLP's: inputs, then each weight layer's units (a convolution's filters): LeNet-5 is [784, 20, 50, 500, 10]. */
  get widths(): number[] {
    return [this.inputs, ...this.layers.map((l) => l.units)];
  }

  /** How many times per input row each weight matrix is applied: a convolution's output positions, 1 for a dense layer. */
  get positions(): number[] {
    return this.stages.flatMap((s) => (s.param === undefined ? [] : [s.spec.type === 'conv2d' ? s.output[0]! * s.output[1]! : 1]));
  }

  /** input shape, then each layer: 28x28x1-conv20k5-maxpool2-conv50k5-maxpool2-flatten-500-10. */
  describe(): string {
    return [this.inputShape.join('x'), ...this.stages.map((s) => layerName(s.spec))].join('-');
  }

  /** Trained parameters: weights and biases, and each batch norm's gamma and beta (as PyTorch counts them; the running averages are buffers). */
  parameterCount(): number {
    return this.layers.reduce((n, l) => n + l.inputs * l.units + l.units, 0) + this.norms.reduce((n, b) => n + 2 * b.gamma.size, 0);
  }

  /** Forward pass on x [B, inputs]: the logits [B, outputs]. */
  forward(x: F32): F32 {
    if (x.shape.length !== 2 || x.shape[1] !== this.inputs) throw new ShapeError(`The model's input must be [batch, ${this.inputs}], got [${x.shape.join(', ')}].`);
    return this.runStages(x.reshape([x.shape[0]!, ...this.inputShape]), 0);
  }

  /**
   * Stages from..to-1 on h [B, ...stages[from].input]: their output [B, ...stages[to - 1].output]
   * (from 0 to the end, the logits). h itself is left to the caller.
   */
  runStages(h: F32, from: number, to = this.stages.length): F32 {
    const n = h.shape[0]!;
    let owner: F32 | undefined; // the tensor h views, to dispose when the next stage is done
    for (let i = from; i < to; i++) {
      const s = this.stages[i]!;
      let next: F32;
      const spec = s.spec;
      // A layer and its batch norm run as one when prepareInference folded them (and both are in the range).
      const folded = s.param !== undefined && i + 1 < to ? this.foldedOf(i) : undefined;
      const layer = s.param === undefined ? undefined : this.layers[s.param];
      const [weight, bias] = folded ? [folded.weight, folded.bias] : [layer?.weight, layer?.bias];
      const activation = folded ? this.stages[i + 1]!.activation : s.activation;
      if (folded) i++; // its batch norm is done
      if (spec.type === 'conv2d') {
        const { y, cols } = conv2d(h, weight!, { ...spec, bias, activation });
        cols.dispose();
        next = y;
      } else if (spec.type === 'maxPool2d') {
        const { y, argmax } = maxPool(h, spec);
        argmax.dispose();
        next = y;
      } else if (spec.type === 'avgPool2d') next = avgPool(h, spec).y;
      else if (spec.type === 'flatten') {
        h = h.reshape([n, ...s.output]);
        continue;
      } else if (spec.type === 'dropout')
        continue; // identity outside training
      else if (spec.type === 'batchNorm') {
        const c = channelsOf(s);
        next = this.device.empty(h.shape);
        batchNormInfer(h.reshape([h.size / c, c]), this.norms[s.norm!]!, normSettings(s), next.reshape([h.size / c, c]));
      } else next = gemm(h.reshape([n, s.input[0]!]), weight!, { bias, activation });
      owner?.dispose();
      owner = next;
      h = next;
    }
    return h;
  }

  /** Training buffers for batches of `batch` rows (fit uses them). */
  backprop(batch: number, loss: LossKind): SequentialBackprop {
    return new SequentialBackprop(this, batch, loss);
  }

  /** Folded weights of the layers before batch norms (by stage), with the write stamps of what they were made from. */
  private readonly folded = new Map<number, { weight: F32; bias: F32; stamps: number[] }>();

  private sources(stage: number): Tensor[] {
    const layer = this.layers[this.stages[stage]!.param!]!;
    const norm = this.norms[this.stages[stage + 1]!.norm!]!;
    return [layer.weight, layer.bias, norm.gamma, norm.beta, norm.running];
  }

  /** The folded weight and bias of the layer at `stage` and its batch norm, if prepareInference made them and nothing was written since. */
  private foldedOf(stage: number): { weight: F32; bias: F32 } | undefined {
    const entry = this.folded.get(stage);
    return entry && this.sources(stage).every((t, i) => this.device.writeStamp(t) === entry.stamps[i]) ? entry : undefined;
  }

  /**
   * Folds each batch norm into the layer before it for inference (nn/fold-norm.ts): one pass
   * less, the same outputs (LeNet-5 with batch norm ran 1.19x faster at batch 1024). Made again
   * only after the weights or the batch norm changed; evaluate, predict and inferenceSpeed call it,
   * forward() alone runs the batch norms where it was not called. Pruned layers run dense.
   */
  async prepareInference(): Promise<void> {
    for (const [i, s] of this.stages.entries()) {
      if (s.norm === undefined || this.foldedOf(i - 1)) continue;
      const stamps = this.sources(i - 1).map((t) => this.device.writeStamp(t));
      const layer = this.layers[this.stages[i - 1]!.param!]!;
      const { weight, bias } = await foldedWeights(layer, this.norms[s.norm]!, normSettings(s).eps);
      const old = this.folded.get(i - 1);
      old?.weight.dispose();
      old?.bias.dispose();
      this.folded.set(i - 1, { weight: this.device.tensor(weight, [layer.inputs, layer.units]), bias: this.device.tensor(bias), stamps });
    }
  }

  /** Outputs for x [B, inputs]: logits, or softmax probabilities with { probabilities: true }. */
  async predict(x: F32 | Float32Array, options: { probabilities?: boolean } = {}): Promise<Float32Array> {
    await this.prepareInference();
    return predictWith(this, x, options);
  }

  /** An independent copy made on the GPU: weights, biases, masks, quantization and batch norm parameters. */
  clone(): Sequential {
    const norms = this.norms.map((n) => ({ gamma: copy(n.gamma), beta: copy(n.beta), running: copy(n.running) }));
    return new Sequential(this.device, [...this.inputShape], this.stages, cloneLayers(this.layers), norms);
  }

  dispose(): void {
    disposeLayers(this.layers);
    for (const f of this.folded.values()) for (const t of [f.weight, f.bias]) t.dispose();
    this.folded.clear();
    for (const n of this.norms) for (const t of [n.gamma, n.beta, n.running]) t.dispose();
  }
}
