/**
 * Textures that keep a tensor's contents between dispatches. A tensor bound as a texture is
 * copied into one (bindings.ts); weights, biases and placeholders are bound unchanged by every
 * forward pass, and each copy cost 10-15 us on Dawn's OpenGL backend (recording and running it,
 * llvmpipe), with two or three of them in a small layer's dispatch of about 100 us
 * (bench/RESULTS.md). A buffer whose
 * contents are bound a second time with the same write stamp gets a texture of its own, copied
 * once and bound until the buffer is written again; activations, written between uses, never
 * qualify and keep sharing the per-slot textures. At most BUDGET_BYTES are kept (least recently
 * used go first).
 */

import type { Recorder } from './recorder.js';

const BUDGET_BYTES = 64 * 1024 * 1024;

interface Kept {
  stamp: number;
  format: GPUTextureFormat;
  /** vec4s copied in (two views of one buffer share its stamp; reshape keeps the count). */
  texels: number;
  texture: GPUTexture;
  view: GPUTextureView;
  bytes: number;
}

export class ResidentTextures {
  private readonly kept = new Map<GPUBuffer, Kept>();
  /** The write stamp each buffer had when it was last copied into a shared texture. */
  private readonly lastCopied = new WeakMap<GPUBuffer, number>();
  private bytes = 0;

  constructor(
    private readonly gpu: GPUDevice,
    private readonly recorder: Recorder,
    private readonly budgetBytes = BUDGET_BYTES,
  ) {}

  /** The kept texture holding the first `texels` vec4s of `buffer` as it is now (stamp), in this format; else undefined. */
  lookup(buffer: GPUBuffer, stamp: number, format: GPUTextureFormat, texels: number): GPUTextureView | undefined {
    const k = this.kept.get(buffer);
    if (!k || k.stamp !== stamp || k.format !== format || k.texels !== texels) return undefined;
    this.kept.delete(buffer); // most recently used last
    this.kept.set(buffer, k);
    return k.view;
  }

  /**
   * Whether `buffer` should get a texture of its own: it was copied before with this very stamp
   * (bound twice, unchanged). Records the stamp otherwise.
   */
  unchangedSinceLastCopy(buffer: GPUBuffer, stamp: number): boolean {
    if (this.lastCopied.get(buffer) === stamp) return true;
    this.lastCopied.set(buffer, stamp);
    return false;
  }

  /**
   * A new texture of [width, rows] texels kept for the first `texels` vec4s of `buffer` at `stamp`
   * (the caller records the copy into it); undefined when it alone is over the budget.
   */
  keep(buffer: GPUBuffer, stamp: number, format: GPUTextureFormat, texels: number, [width, rows]: [number, number]): { texture: GPUTexture; view: GPUTextureView } | undefined {
    const bytes = width * rows * 16;
    if (bytes > this.budgetBytes) return undefined;
    this.drop(buffer);
    while (this.bytes + bytes > this.budgetBytes && this.kept.size > 0) this.drop(this.kept.keys().next().value!);
    const texture = this.gpu.createTexture({
      size: [width, rows],
      format,
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
      label: 'shrinkray-resident-texture',
    });
    const view = texture.createView();
    this.kept.set(buffer, { stamp, format, texels, texture, view, bytes });
    this.bytes += bytes;
    return { texture, view };
  }

  /** Bytes of the textures kept now. */
  get keptBytes(): number {
    return this.bytes;
  }

  clear(): void {
    for (const buffer of [...this.kept.keys()]) this.drop(buffer);
  }

  private drop(buffer: GPUBuffer): void {
    const k = this.kept.get(buffer);
    if (!k) return;
    // Commands recorded but not yet submitted may bind it.
    this.recorder.whenSubmitted(() => k.texture.destroy());
    this.bytes -= k.bytes;
    this.kept.delete(buffer);
  }
}
