/**
 * Training hooks (Keras callbacks, with the points a compression method needs): `fit` is the loop,
 * and what a feature does to training lives with the feature — gradual pruning and
 * quantization-aware training in compress/, distillation, early stopping and weight sharing in nn/.
 *
 * Per step, in this order:
 *   batch          the batch's inputs, gathered, changed in place (data augmentation)
 *   beforeForward  the weights the forward pass sees (quantization-aware training quantizes them)
 *   distill        the teacher's logits for the batch, if the loss is a distillation loss
 *   (forward, loss, backward)
 *   slots          the parameters the optimizer steps (float masters, shared values)
 *   (optimizer step)
 *   afterUpdate    put the model's weights back in their usual form (float masters, weights
 *                  derived from shared values)
 *   afterStep      scheduled changes (pruning); they see the usual form
 * Per epoch: epochEnd (return true to stop). At the end of a completed run: end; always: dispose.
 * At each point the hooks run in the order given; fit runs its own (distillation, early
 * stopping, weight sharing) before the caller's, so early stopping restores the best weights
 * before quantization-aware training quantizes them for good.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Slot } from '../kernels/optim.js';
import type { GpuDataset } from '../data/gpu-dataset.js';
import type { Model } from './model.js';
import type { EpochReport, History } from './train.js';

/** What a hook sees of the run. */
export interface TrainingRun {
  model: Model;
  data: GpuDataset;
  /** Steps (batches) finished so far, over all epochs. */
  step: number;
  /** 0-based epoch. */
  epoch: number;
  batchesPerEpoch: number;
  history: History;
}

/** A distillation loss's inputs for one batch. */
export interface DistillTerms {
  teacher: Tensor<'f32'>;
  alpha: number;
  temperature: number;
  labelled: boolean;
}

export interface TrainingHook {
  /** For messages (a hook's errors name it). */
  readonly name: string;
  /** Before the first step: check the model, allocate, precompute. */
  begin?(run: TrainingRun): void | Promise<void>;
  /** The batch's inputs [rows, features] after gathering: change them in place. */
  batch?(x: Tensor<'f32'>, run: TrainingRun): void;
  beforeForward?(run: TrainingRun): void;
  /** The teacher's logits for the batch: `index` holds the epoch's row order, the batch starts at `offset`, its inputs are `x`. */
  distill?(index: Tensor<'u32'>, offset: number, x: Tensor<'f32'>): DistillTerms;
  slots?(slots: Slot[]): Slot[];
  afterUpdate?(run: TrainingRun): void;
  afterStep?(run: TrainingRun): void | Promise<void>;
  /** After the epoch's report (validation included); true stops training. */
  epochEnd?(run: TrainingRun, report: EpochReport): boolean | void | Promise<boolean | void>;
  /** After the last epoch, when training was neither aborted nor failed. */
  end?(run: TrainingRun): void | Promise<void>;
  /** Always, last: frees what the hook allocated. */
  dispose?(): void;
}
