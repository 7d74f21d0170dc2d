/**
 * Forward and backward passes of a Sequential model for one batch size, in preallocated tensors
 * (as Backprop does for an MLP). Every stage keeps its outputs (and a convolution its im2col
 * columns, a max pool its argmax). Backward, each stage receives dL/dz of its outputs, gives
 * its weights' gradients, and sends dL/d(input) back, multiplied by the derivative of the
 * activation that produced that input (fused into the GEMM for a dense stage, a pass after
 * col2im or the pooling backward otherwise). Flatten stages are views: no copies. Batch norm
 * normalizes with the batch's statistics and moves its running averages (training mode, as
 * PyTorch's), keeping the statistics for its backward pass.
 */
import type { Tensor } from '../gpu/tensor.js';
import { batchNormBackward, batchNormTrain } from '../kernels/batchnorm.js';
import { activationBackward, conv2dBackward, convolveColumns, im2col, paddedFilters, type Window } from '../kernels/conv.js';
import { gemm } from '../kernels/gemm.js';
import { distillationLoss, type LossKind, lossForward } from '../kernels/loss.js';
import type { Slot } from '../kernels/optim.js';
import { dropout, dropoutBackward } from '../kernels/dropout.js';
import { mixSeeds } from '../kernels/hash.js';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from '../kernels/pool.js';
import { requireLogits, slotsOf } from './backprop.js';
import type { Sequential } from './sequential.js';
import { channelsOf, normSettings, stageWindow } from './sequential.js';

type F32 = Tensor<'f32'>;

interface StageBuffers {
  out: F32;
  delta: F32;
  window?: Window;
  cols?: F32;
  dcols?: F32;
  /** The step's zero-padded copy of the filters (kernels/conv.ts), made once for the forward and backward GEMMs; absent when the filters need no padding. */
  filters?: F32;
  argmax?: Tensor<'u32'>;
  /** Dropout: each input's factor this step (0 or 1 / (1 - rate)). */
  keep?: F32;
  /** Batch norm: the step's statistics per channel [channels, 4] (kernels/batchnorm.ts). */
  affine?: F32;
}

export class SequentialBackprop {
  /** The batch's inputs [B, inputs]; fill it (e.g. by gathering) before gradients(). */
  readonly x: F32;
  private readonly buffers: StageBuffers[] = [];
  readonly weightGrads: F32[];
  readonly biasGrads: F32[];
  /** Gradients of each batch norm's gamma and beta. */
  readonly normGrads: { gamma: F32; beta: F32 }[];
  /** Tensors this object allocated (flatten stages only view others). */
  private readonly owned: (F32 | Tensor<'u32'>)[] = [];

  constructor(
    readonly model: Sequential,
    readonly batch: number,
    readonly loss: LossKind,
  ) {
    requireLogits(model.stages[model.stages.length - 1]!.activation, loss);
    const d = model.device;
    const own = (t: F32): F32 => (this.owned.push(t), t);
    this.x = own(d.empty([batch, model.inputs]));
    model.stages.forEach((s, i) => {
      if (s.spec.type === 'flatten') {
        // Views of the previous stage's tensors (or of x for a first flatten).
        const prev = this.buffers[i - 1];
        this.buffers.push({ out: (prev?.out ?? this.x).reshape([batch, ...s.output]), delta: (prev?.delta ?? own(d.empty([batch, ...s.output]))).reshape([batch, ...s.output]) });
        return;
      }
      const b: StageBuffers = { out: own(d.empty([batch, ...s.output])), delta: own(d.empty([batch, ...s.output])) };
      if (s.spec.type === 'conv2d' || s.spec.type === 'maxPool2d' || s.spec.type === 'avgPool2d') b.window = stageWindow(s, batch);
      if (s.spec.type === 'conv2d') {
        const g = b.window!;
        b.cols = own(d.empty([batch * g.oh * g.ow, g.kp]));
        if (i > 0) b.dcols = own(d.empty([batch * g.oh * g.ow, g.kp]));
        const units = model.layers[s.param!]!.units;
        if (g.kp !== g.kh * g.kw * g.c || units % 4 !== 0) b.filters = own(d.empty([g.kp, Math.ceil(units / 4) * 4]));
      }
      if (s.spec.type === 'maxPool2d') {
        b.argmax = d.empty([batch, ...s.output], 'u32');
        this.owned.push(b.argmax);
      }
      if (s.spec.type === 'dropout') b.keep = own(d.empty([batch, ...s.output]));
      if (s.spec.type === 'batchNorm') b.affine = own(d.empty([channelsOf(s), 4]));
      this.buffers.push(b);
    });
    this.weightGrads = model.layers.map((l) => own(d.empty([l.inputs, l.units])));
    this.biasGrads = model.layers.map((l) => own(d.empty([l.units])));
    this.normGrads = model.norms.map((n) => ({ gamma: own(d.empty(n.gamma.shape)), beta: own(d.empty(n.beta.shape)) }));
  }

  /** Forward, loss (accumulated into stats) and backward for the batch in x with labels or targets y; dropout draws its masks from seed and step. */
  gradients(y: Tensor, stats: F32, options: { step?: number; seed?: number; labelSmoothing?: number; distill?: { teacher: F32; alpha: number; temperature: number; labelled: boolean } } = {}): void {
    const { model, batch } = this;
    const stages = model.stages;
    const input = (i: number) => (i === 0 ? this.x.reshape([batch, ...model.inputShape]) : this.buffers[i - 1]!.out);
    stages.forEach((s, i) => {
      const b = this.buffers[i]!;
      const spec = s.spec;
      if (spec.type === 'conv2d') {
        const layer = model.layers[s.param!]!;
        im2col(input(i), b.window!, b.cols);
        if (b.filters) paddedFilters(layer.weight, b.window!, b.filters);
        convolveColumns(b.cols!, layer.weight, b.window!, {
          bias: layer.bias,
          activation: s.activation,
          out: b.out.reshape([b.cols!.shape[0]!, layer.units]),
          ...(b.filters ? { padded: b.filters } : {}),
        });
      } else if (spec.type === 'maxPool2d') maxPool(input(i), spec, { y: b.out, argmax: b.argmax! });
      else if (spec.type === 'avgPool2d') avgPool(input(i), spec, b.out);
      else if (spec.type === 'dropout') dropout(input(i), spec.rate, mixSeeds(options.seed ?? 0, options.step ?? 0, i), { y: b.out, keep: b.keep! });
      else if (spec.type === 'batchNorm') {
        const rows = b.out.size / channelsOf(s);
        batchNormTrain(input(i).reshape([rows, channelsOf(s)]), model.norms[s.norm!]!, normSettings(s), { y: b.out.reshape([rows, channelsOf(s)]), affine: b.affine! });
      } else if (spec.type === 'dense') {
        const layer = model.layers[s.param!]!;
        gemm(input(i).reshape([batch, s.input[0]!]), layer.weight, { bias: layer.bias, activation: s.activation, out: b.out });
      }
    });
    const last = stages.length - 1;
    const z = this.buffers[last]!.out;
    const grad = this.buffers[last]!.delta;
    const d = options.distill;
    if (d) distillationLoss({ z, teacher: d.teacher, labels: d.labelled ? (y as Tensor<'i32'>) : undefined, stats, grad, alpha: d.alpha, temperature: d.temperature, step: options.step });
    else lossForward(this.loss, { z, target: y, stats, grad, step: options.step, labelSmoothing: options.labelSmoothing });
    for (let i = last; i >= 0; i--) {
      const s = stages[i]!;
      const b = this.buffers[i]!;
      const prev = i > 0 ? { out: this.buffers[i - 1]!.out, delta: this.buffers[i - 1]!.delta, activation: stages[i - 1]!.activation } : undefined;
      const spec = s.spec;
      if (spec.type === 'dense') {
        const layer = model.layers[s.param!]!;
        const a = input(i).reshape([batch, layer.inputs]);
        gemm(a, b.delta, { transA: true, out: this.weightGrads[s.param!], columnSums: this.biasGrads[s.param!] });
        if (prev)
          gemm(b.delta, layer.weight, {
            transB: true,
            ...(prev.activation !== 'identity' ? { derivativeOf: { activation: prev.activation, output: prev.out.reshape([batch, layer.inputs]) } } : {}),
            out: prev.delta.reshape([batch, layer.inputs]),
          });
        continue;
      }
      if (spec.type === 'flatten' || !prev) continue; // a view: the delta is already in place
      if (spec.type === 'conv2d') {
        const layer = model.layers[s.param!]!;
        conv2dBackward(b.delta, b.cols!, layer.weight, b.window!, {
          ...(b.filters ? { padded: b.filters } : {}),
          bias: true,
          input: true,
          out: { dweight: this.weightGrads[s.param!], dbias: this.biasGrads[s.param!], dx: prev.delta, dcols: b.dcols },
        });
      } else if (spec.type === 'maxPool2d') maxPoolBackward(b.delta, b.argmax!, b.window!, prev.delta);
      else if (spec.type === 'dropout') dropoutBackward(b.delta, b.keep!, prev.delta);
      else if (spec.type === 'batchNorm') {
        const rows = b.out.size / channelsOf(s);
        const view = (t: F32) => t.reshape([rows, channelsOf(s)]);
        batchNormBackward(view(input(i)), view(b.delta), b.affine!, { dgamma: this.normGrads[s.norm!]!.gamma, dbeta: this.normGrads[s.norm!]!.beta, dx: view(prev.delta) });
      } else avgPoolBackward(b.delta, b.window!, prev.delta);
      activationBackward(prev.delta, prev.out, prev.activation);
    }
    // The first stage's weights need no input gradient; a first convolution skips it above (no prev).
    const first = stages[0]!;
    if (first.spec.type === 'conv2d') {
      const layer = model.layers[first.param!]!;
      conv2dBackward(this.buffers[0]!.delta, this.buffers[0]!.cols!, layer.weight, this.buffers[0]!.window!, {
        bias: true,
        out: { dweight: this.weightGrads[first.param!], dbias: this.biasGrads[first.param!] },
      });
    }
  }

  /** The parameters with their gradients and masks, for an optimizer. */
  slots(): Slot[] {
    const norms = this.model.norms.flatMap((n, i) => [
      { param: n.gamma, grad: this.normGrads[i]!.gamma },
      { param: n.beta, grad: this.normGrads[i]!.beta },
    ]);
    return [...slotsOf(this.model.layers, this.weightGrads, this.biasGrads), ...norms];
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
  }
}
