/** Host side of shaders/optim.wgsl: SGD (momentum, Nesterov, weight decay), Adam and AdamW, in place, with masks. */
import { InvalidArgumentError } from '../errors.js';
import { grid } from '../gpu/grid.js';
import type { Tensor } from '../gpu/tensor.js';
import { linearWorkgroup, requireShape } from './launch.js';
import { fill } from './elementwise.js';

type F32 = Tensor<'f32'>;

/** Elements per invocation (shaders/optim.wgsl: PER). */
const PER = 4;

export type OptimizerConfig =
  | { type: 'sgd'; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { type: 'adam' | 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

/** One parameter tensor with its gradient, optimizer state and optional mask (1 keep, 0 pruned). */
export interface Slot {
  param: F32;
  grad: F32;
  mask?: F32;
}

function finiteIn(name: string, v: number, lo: number, hi: number, hiOpen = true): void {
  if (!Number.isFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi)) throw new InvalidArgumentError(`optimizer: ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}.`);
}

/** Updates every slot in place from its gradient. Masks keep pruned weights exactly 0. */
export class Optimizer {
  private readonly state = new Map<F32, { s1: F32; s2?: F32 }>();
  private t = 0;

  constructor(readonly config: OptimizerConfig) {
    const c = config;
    if (c.type === 'sgd') {
      finiteIn('momentum', c.momentum ?? 0, 0, 1);
      if (c.nesterov && !(c.momentum && c.momentum > 0)) throw new InvalidArgumentError('optimizer: nesterov needs momentum > 0.');
    } else if (c.type === 'adam' || c.type === 'adamw') {
      finiteIn('beta1', c.beta1 ?? 0.9, 0, 1);
      finiteIn('beta2', c.beta2 ?? 0.999, 0, 1);
      if (!((c.eps ?? 1e-8) > 0)) throw new InvalidArgumentError(`optimizer: eps must be > 0, got ${c.eps}.`);
    } else throw new InvalidArgumentError(`optimizer: unknown type '${(c as { type: string }).type}' (use sgd, adam, adamw).`);
    finiteIn('weightDecay', c.weightDecay ?? 0, 0, Infinity);
  }

  /** One step over all slots at learning rate lr; `stats` stops updates after a non-finite loss. */
  step(slots: Slot[], lr: number, stats: F32): void {
    if (!(Number.isFinite(lr) && lr > 0)) throw new InvalidArgumentError(`optimizer: learning rate must be a positive finite number, got ${lr}.`);
    this.t++;
    const c = this.config;
    const adam = c.type !== 'sgd';
    const beta1 = adam ? (c.beta1 ?? 0.9) : 0;
    const beta2 = adam ? (c.beta2 ?? 0.999) : 0;
    const wd = c.weightDecay ?? 0;
    const momentum = c.type === 'sgd' ? (c.momentum ?? 0) : 0;
    for (const { param, grad, mask } of slots) {
      requireShape('optimizer', 'grad', grad, param.shape);
      if (mask) requireShape('optimizer', 'mask', mask, param.shape);
      const device = param.device;
      let st = this.state.get(param);
      if (!st) {
        st = { s1: fill(device.empty(param.shape), 0), s2: adam ? fill(device.empty(param.shape), 0) : undefined };
        this.state.set(param, st);
      }
      // Four parameters to an element (a vec4) where the size allows (shaders/optim.wgsl: sgd4,
      // adam4), and PER elements per invocation.
      const vec = param.size % 4 === 0;
      const wg = linearWorkgroup(device);
      const invocations = Math.ceil((vec ? param.size / 4 : param.size) / PER);
      const buffers = { w: param, g: grad, s1: st.s1, ...(st.s2 ? { s2: st.s2 } : {}), mask: mask ?? grad }; // mask: read only with HAS_MASK
      device.dispatch(
        device.kernel('optim'),
        (adam ? 'adam' : 'sgd') + (vec ? '4' : ''),
        {
          p: {
            n: param.size,
            lr,
            momentum,
            wd: c.type === 'adamw' ? 0 : wd,
            decoupled: c.type === 'adamw' ? wd : 0,
            beta1,
            beta2,
            eps: adam ? (c.eps ?? 1e-8) : 0,
            c1: adam ? 1 - beta1 ** this.t : 1,
            c2: adam ? 1 - beta2 ** this.t : 1,
          },
          // The vec4 entry points name the same buffers with a _4 suffix.
          ...(vec ? Object.fromEntries(Object.entries(buffers).map(([k, t]) => [`${k}_4`, t])) : buffers),
          stats,
        },
        grid(Math.ceil(invocations / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension),
        { WG: wg, HAS_MASK: mask !== undefined, MOMENTUM: momentum !== 0, NESTEROV: c.type === 'sgd' && (c.nesterov ?? false) },
      );
    }
  }

  /** Frees the optimizer state (momenta). */
  dispose(): void {
    for (const { s1, s2 } of this.state.values()) s1.dispose(), s2?.dispose();
    this.state.clear();
  }
}

export type Schedule = { type: 'constant' } | { type: 'step'; every: number; gamma: number } | { type: 'cosine'; total: number; min?: number };

/** Learning rate at epoch `epoch` (0-based) for base rate lr: constant, step decay, or cosine annealing. */
export function scheduledRate(lr: number, schedule: Schedule, epoch: number): number {
  switch (schedule.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * schedule.gamma ** Math.floor(epoch / schedule.every);
    case 'cosine': {
      const min = schedule.min ?? 0;
      const t = Math.min(epoch, schedule.total) / schedule.total;
      return min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}
