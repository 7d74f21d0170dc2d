/**
 * Bindings of a dispatch: storage buffers, uniforms at their ring offsets, and tensors bound as
 * textures (copied in, TEXTURE_ROW vec4s a row; into a texture of their own where they stay
 * unchanged, resident-textures.ts). Bind groups are cached by layout and resources:
 * creating one costs more than the rest of recording a dispatch (11 us on Dawn in Node), and a
 * training loop binds the same tensors every step.
 */
import { LimitError } from '../errors.js';
import { TEXTURE_ROW, textureFormat, type BindingInfo, type EntryPoint, type KernelArgs, type UniformValues } from './kernel.js';
import { alignTo, type Recorder } from './recorder.js';
import type { Tensor } from './tensor.js';
import type { WriteStamps } from './write-stamps.js';
import { ResidentTextures } from './resident-textures.js';

/** Bind groups kept for reuse; a training step of a deep MLP binds a few dozen. */
const BIND_GROUP_CACHE = 1024;

export class Bindings {
  private readonly groups = new Map<string, GPUBindGroup>();
  /** Textures by (binding slot, format, rows): reused across dispatches, since a copy recorded
   * for one dispatch runs after every dispatch recorded before it. */
  private readonly textures = new Map<string, { texture: GPUTexture; view: GPUTextureView }>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  private readonly resident: ResidentTextures;

  constructor(
    private readonly gpu: GPUDevice,
    private readonly recorder: Recorder,
    private readonly stamps: WriteStamps,
  ) {
    this.resident = new ResidentTextures(gpu, recorder);
  }

  /** Bytes of the textures kept for tensors bound unchanged (resident-textures.ts). */
  get residentBytes(): number {
    return this.resident.keptBytes;
  }

  /** The bind group and dynamic offsets for `args` bound to `info`'s bindings; read_write buffers are stamped. */
  bind(info: EntryPoint, args: KernelArgs, where: string): { group: GPUBindGroup; offsets: number[] } {
    const offsets: number[] = [];
    const resources: (GPUBufferBinding | GPUTextureView)[] = [];
    let key = String(this.idOf(info.layout));
    for (const b of info.bindings) {
      const arg = args[b.name]!;
      if (b.kind === 'uniform') {
        offsets.push(this.recorder.stageUniform(b.fields!, arg as UniformValues, b.uniformBytes!));
        resources.push({ buffer: this.recorder.uniforms, offset: 0, size: alignTo(b.uniformBytes!, 16) });
      } else if (b.kind === 'texture') {
        const view = this.textureOf(arg as Tensor, b, where);
        resources.push(view);
        key += `,t${this.idOf(view)}`;
      } else {
        const t = arg as Tensor;
        // Bind the tensor's bytes (rounded up so vec4 views see whole elements), not the pool's slack.
        const buffer = t.buffer;
        const size = Math.min(alignTo(t.byteLength, 16), buffer.size);
        resources.push({ buffer, offset: 0, size });
        key += `,${this.idOf(buffer)}:${size}`;
        if (b.access === 'read_write') this.stamps.touch(buffer);
      }
    }
    let group = this.groups.get(key);
    if (!group) {
      // Dropped when it grows past a training step's worth of shapes, and by clear().
      if (this.groups.size >= BIND_GROUP_CACHE) this.groups.clear();
      group = this.gpu.createBindGroup({ layout: info.layout, entries: info.bindings.map((b, i) => ({ binding: b.binding, resource: resources[i]! })) });
      this.groups.set(key, group);
    }
    return { group, offsets };
  }

  /** Drops cached bind groups (they may hold buffers about to be destroyed). */
  clearGroups(): void {
    this.groups.clear();
  }

  /** Drops cached bind groups and destroys the textures. */
  clear(): void {
    this.groups.clear();
    for (const t of this.textures.values()) t.texture.destroy();
    this.textures.clear();
    this.resident.clear();
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /**
   * The view of a texture holding `tensor`: its own texture where it was bound unchanged before
   * (copied once), else the texture of binding `b`'s slot and format with a copy recorded into it.
   * Rows past the tensor keep stale texels; kernels never read beyond the tensor's length.
   */
  private textureOf(tensor: Tensor, b: BindingInfo, where: string): GPUTextureView {
    const texels = tensor.size / 4;
    const rows = Math.max(1, Math.ceil(texels / TEXTURE_ROW));
    const limit = this.gpu.limits.maxTextureDimension2D;
    if (rows > limit) throw new LimitError(`kernel '${where}': a tensor of ${tensor.size} elements needs ${rows} texture rows of ${TEXTURE_ROW} texels; maxTextureDimension2D is ${limit}.`);
    const format = textureFormat(b);
    const buffer = tensor.buffer;
    const stamp = this.stamps.of(buffer);
    const kept = this.resident.lookup(buffer, stamp, format, texels);
    if (kept) return kept;
    const own = this.resident.unchangedSinceLastCopy(buffer, stamp) ? this.resident.keep(buffer, stamp, format, texels, [TEXTURE_ROW, rows]) : undefined;
    if (own) {
      this.copy(buffer, texels, own.texture);
      return own.view;
    }
    const key = `${b.binding}:${format}:${rows}`;
    let cached = this.textures.get(key);
    if (!cached) {
      const texture = this.gpu.createTexture({
        size: [TEXTURE_ROW, rows],
        format,
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
        label: `shrinkray-texture-${key}`,
      });
      cached = { texture, view: texture.createView() };
      this.textures.set(key, cached);
    }
    this.copy(buffer, texels, cached.texture);
    return cached.view;
  }

  /** Records a copy of the buffer's first `texels` vec4s into the texture, TEXTURE_ROW a row. */
  private copy(buffer: GPUBuffer, texels: number, texture: GPUTexture): void {
    const encoder = this.recorder.copies();
    const full = Math.floor(texels / TEXTURE_ROW),
      rest = texels % TEXTURE_ROW;
    if (full > 0) encoder.copyBufferToTexture({ buffer, bytesPerRow: TEXTURE_ROW * 16 }, { texture }, [TEXTURE_ROW, full]);
    if (rest > 0) encoder.copyBufferToTexture({ buffer, offset: full * TEXTURE_ROW * 16 }, { texture, origin: [0, full] }, [rest, 1]);
  }
}
