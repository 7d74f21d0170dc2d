import type { Tensor } from '../gpu/tensor.js';
import { copyInto } from '../kernels/elementwise.js';
import { gatherRows } from '../kernels/gather.js';
import type { GpuDataset } from '../data/gpu-dataset.js';
import type { TrainingHook } from './hooks.js';
import type { Model } from './model.js';

export interface Distillation {
  teacher: Model;
  alpha?: number;
  temperature?: number;
  cacheTeacher?: boolean;
}

/** The teacher's logits for each batch: gathered from a cache of all rows, or computed per batch. */
export class TeacherLogits {
  private batchLogits = new Map<number, Tensor<'f32'>>();
  private constructor(
    private readonly teacher: Model,
    private readonly all: Tensor<'f32'> | undefined,
    private readonly alpha: number,
    private readonly temperature: number,
    private readonly labelled: boolean,
  ) {}

  static async create(d: Distillation, data: GpuDataset): Promise<TeacherLogits> {
    let all: Tensor<'f32'> | undefined;
    if (d.cacheTeacher ?? true) {
      all = d.teacher.device.empty([data.rows, d.teacher.outputs]);
      await data.forEachBatch(1024, (x, _y, offset) => {
        const z = d.teacher.forward(x);
        copyInto(z, all!, offset * d.teacher.outputs);
        z.dispose();
      });
    }
    return new TeacherLogits(d.teacher, all, d.alpha ?? 0.5, d.temperature ?? 4, !!data.labels);
  }

  forBatch(index: Tensor<'u32'>, offset: number, x: Tensor<'f32'>): { teacher: Tensor<'f32'>; alpha: number; temperature: number; labelled: boolean } {
    const count = x.shape[0]!;
    let logits: Tensor<'f32'>;
    if (this.all) {
      logits = this.batchLogits.get(count) ?? this.all.device.empty([count, this.teacher.outputs]);
      this.batchLogits.set(count, logits);
      gatherRows(this.all, index, { offset, count, out: logits });
    } else {
      this.batchLogits.get(count)?.dispose();
      logits = this.teacher.forward(x);
      this.batchLogits.set(count, logits);
    }
    return { teacher: logits, alpha: this.alpha, temperature: this.temperature, labelled: this.labelled };
  }

  dispose(): void {
    this.all?.dispose();
    for (const t of this.batchLogits.values()) t.dispose();
  }
}

/** The hook: the teacher's logits for every batch of a distillation run (computed once for all rows unless cacheTeacher is false). */
export function distillationHook(d: Distillation): TrainingHook {
  let logits: TeacherLogits | undefined;
  return {
    name: 'distillation',
    async begin({ data }) {
      logits = await TeacherLogits.create(d, data);
    },
    distill: (index, offset, x) => logits!.forBatch(index, offset, x),
    dispose: () => logits?.dispose(),
  };
}
