/**
 * A compiled WGSL module: its bindings come from reflecting the source with wgsl_reflect, so a
 * bind group layout is never written by hand, and every dispatch is checked against them.
 * One bind group (group 0) per kernel; uniforms are structs of u32/i32/f32 fields passed by name.
 * A `texture_2d<f32>` or `texture_storage_2d<rgba32float, read>` binding takes an f32 tensor too
 * (`texture_2d<u32>` or `texture_storage_2d<rgba32uint, read>` a u32 tensor): the device copies
 * it, before the dispatch, into an rgba32float (rgba32uint) texture whose texels are the tensor's
 * vec4s in order, TEXTURE_ROW to a row (read texel i at (i % TEXTURE_ROW, i / TEXTURE_ROW)).
 * On llvmpipe a texel loads faster than a storage vec4 (bench/RESULTS.md), and the copy runs at
 * memory speed.
 */
import { ResourceType, WgslReflect, type TypeInfo, type VariableInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KernelArgumentError, ShaderCompileError } from '../errors.js';
import type { Tensor } from './tensor.js';

export type Scalar = 'f32' | 'i32' | 'u32';
export type UniformValues = Record<string, number>;
export type KernelArgs = Record<string, Tensor | UniformValues>;
export type Overrides = Record<string, number | boolean>;

export interface UniformField {
  name: string;
  offset: number;
  type: Scalar;
}

/** Texels per row of the textures that texture bindings receive (16 KiB rows). */
export const TEXTURE_ROW = 1024;

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'uniform' | 'storage' | 'texture';
  /** Texture: read as a read-only storage texture (texture_storage_2d<rgba32float or rgba32uint, read>). */
  storageTexture?: boolean;
  access: 'read' | 'read_write';
  /** Storage: element scalar type, and the fewest bytes a bound tensor may have (one element of a
   * runtime-sized array, 16 for vec4<f32>; the whole array when its size is fixed). */
  scalar?: Scalar;
  minBytes: number;
  /** Uniform: the struct's fields and byte size. */
  fields?: UniformField[];
  uniformBytes?: number;
}

export interface EntryPoint {
  name: string;
  bindings: BindingInfo[];
  /** The bindings' names, for checking arguments. */
  names: ReadonlySet<string>;
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
}

const SCALARS = new Set<string>(['f32', 'i32', 'u32']);

/** f32 for `f32`, `vec4f`, `vec4<f32>`, `atomic<f32>`...; null for anything else. */
function scalarOf(type: TypeInfo | null | undefined): Scalar | null {
  if (!type) return null;
  if (SCALARS.has(type.name)) return type.name as Scalar;
  const short = /^vec[234]([fiu])$/.exec(type.name);
  if (short) return ({ f: 'f32', i: 'i32', u: 'u32' } as const)[short[1] as 'f' | 'i' | 'u'];
  return scalarOf((type as { format?: TypeInfo | null }).format);
}

function describeBinding(kernel: string, v: VariableInfo): Omit<BindingInfo, 'binding'> & { binding: number } {
  const where = `kernel '${kernel}', binding '${v.name}'`;
  if (v.group !== 0) throw new KernelArgumentError(`${where}: shrinkray kernels use @group(0) only.`);
  if (v.resourceType === ResourceType.Uniform) {
    const fields = (v.members ?? []).map((m) => {
      const type = SCALARS.has(m.type.name) ? (m.type.name as Scalar) : null;
      if (!type) throw new KernelArgumentError(`${where}: uniform field '${m.name}' must be f32, i32 or u32, not ${m.type.name}.`);
      return { name: m.name, offset: m.offset, type };
    });
    return { name: v.name, binding: v.binding, kind: 'uniform', access: 'read', minBytes: v.size, fields, uniformBytes: v.size };
  }
  if (v.resourceType === ResourceType.Storage) {
    const scalar = scalarOf(v.type);
    if (!scalar || !v.isArray) throw new KernelArgumentError(`${where}: storage bindings must be arrays of f32/i32/u32 or their vectors.`);
    const access = v.access === 'read_write' ? 'read_write' : 'read';
    const minBytes = v.count > 0 ? v.size : v.stride || 4;
    return { name: v.name, binding: v.binding, kind: 'storage', access, scalar, minBytes };
  }
  if (v.resourceType === ResourceType.Texture) {
    const scalar = scalarOf(v.type);
    if (v.type.name !== 'texture_2d' || (scalar !== 'f32' && scalar !== 'u32')) throw new KernelArgumentError(`${where}: the only texture types supported are texture_2d<f32> and texture_2d<u32>.`);
    return { name: v.name, binding: v.binding, kind: 'texture', access: 'read', scalar, minBytes: 16 };
  }
  if (v.resourceType === ResourceType.StorageTexture) {
    const format = (v.type as { format?: TypeInfo | null }).format?.name;
    if (v.type.name !== 'texture_storage_2d' || (format !== 'rgba32float' && format !== 'rgba32uint') || v.access !== 'read')
      throw new KernelArgumentError(`${where}: the only storage texture types supported are texture_storage_2d<rgba32float, read> and texture_storage_2d<rgba32uint, read>.`);
    return { name: v.name, binding: v.binding, kind: 'texture', storageTexture: true, access: 'read', scalar: format === 'rgba32float' ? 'f32' : 'u32', minBytes: 16 };
  }
  throw new KernelArgumentError(`${where}: only uniform and storage buffers, texture_2d<f32 or u32> and texture_storage_2d<rgba32float or rgba32uint, read> are supported.`);
}

/** The texture format a texture binding's tensor is copied into: its texels are the tensor's vec4s. */
export function textureFormat(b: BindingInfo): 'rgba32float' | 'rgba32uint' {
  return b.scalar === 'u32' ? 'rgba32uint' : 'rgba32float';
}

export class Kernel {
  private readonly reflect: WgslReflect;
  private readonly entries = new Map<string, EntryPoint>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  readonly module: GPUShaderModule;
  /** Resolves once compilation messages are in; rejects with ShaderCompileError on errors. */
  readonly compiled: Promise<void>;
  /** Set once compilation is known to have failed; dispatching the kernel then throws it. */
  failure: ShaderCompileError | null = null;

  constructor(
    private readonly device: GPUDevice,
    readonly name: string,
    readonly code: string,
  ) {
    try {
      this.reflect = new WgslReflect(code);
    } catch (e) {
      throw new ShaderCompileError(`Kernel '${name}': WGSL could not be parsed: ${(e as Error).message}`, { cause: e });
    }
    // A scope keeps the compile error out of the uncaptured-error path (Dawn raises it there
    // synchronously); it is reported once, as a ShaderCompileError with the compiler's lines.
    device.pushErrorScope('validation');
    this.module = device.createShaderModule({ code, label: name });
    const scope = device.popErrorScope();
    this.compiled = Promise.all([this.module.getCompilationInfo(), scope]).then(([info, scopeError]) => {
      const errors = info.messages.filter((m) => m.type === 'error');
      const lines = errors.map((m) => `  ${name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`);
      if (lines.length === 0 && scopeError) lines.push(`  ${scopeError.message}`);
      if (lines.length) throw new ShaderCompileError(`Kernel '${name}' failed to compile:\n${lines.join('\n')}`);
    });
    this.compiled.catch((e: ShaderCompileError) => (this.failure = e));
  }

  /** The entry point's bindings and layouts, reflected once. */
  entry(entryName: string): EntryPoint {
    let e = this.entries.get(entryName);
    if (e) return e;
    const fn = this.reflect.entry.compute.find((f) => f.name === entryName);
    if (!fn) {
      const names = this.reflect.entry.compute.map((f) => f.name).join(', ');
      throw new KernelArgumentError(`Kernel '${this.name}' has no compute entry point '${entryName}' (it has: ${names}).`);
    }
    const bindings = fn.resources.map((v) => describeBinding(this.name, v)).sort((a, b) => a.binding - b.binding);
    const layout = this.device.createBindGroupLayout({
      label: `${this.name}.${entryName}`,
      entries: bindings.map((b) =>
        b.kind === 'texture'
          ? b.storageTexture
            ? { binding: b.binding, visibility: GPUShaderStage.COMPUTE, storageTexture: { access: 'read-only' as const, format: textureFormat(b) } }
            : { binding: b.binding, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: b.scalar === 'u32' ? ('uint' as const) : ('unfilterable-float' as const) } }
          : {
              binding: b.binding,
              visibility: GPUShaderStage.COMPUTE,
              buffer: b.kind === 'uniform' ? { type: 'uniform' as const, hasDynamicOffset: true } : { type: b.access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
            },
      ),
    });
    const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [layout] });
    e = { name: entryName, bindings, names: new Set(bindings.map((b) => b.name)), layout, pipelineLayout };
    this.entries.set(entryName, e);
    return e;
  }

  /** The pipeline for (entry point, override constants), compiled once and cached. */
  pipeline(entryName: string, overrides: Overrides = {}): GPUComputePipeline {
    // Looked up first by the overrides in the order given (callers repeat theirs), then sorted.
    let quick = entryName;
    for (const k in overrides) quick += `|${k}=${overrides[k]}`;
    let p = this.pipelines.get(quick);
    if (p) return p;
    const keys = Object.keys(overrides).sort();
    const key = entryName + JSON.stringify(keys.map((k) => [k, overrides[k]]));
    p = this.pipelines.get(key);
    if (p) {
      this.pipelines.set(quick, p);
      return p;
    }
    const known = new Set(this.reflect.overrides.map((o) => o.name));
    const unknown = keys.filter((k) => !known.has(k));
    if (unknown.length) throw new KernelArgumentError(`Kernel '${this.name}' has no override constant ${unknown.join(', ')}.`);
    const constants: Record<string, number> = {};
    for (const k of keys) constants[k] = Number(overrides[k]);
    const entry = this.entry(entryName);
    p = this.device.createComputePipeline({
      label: `${this.name}.${entryName}`,
      layout: entry.pipelineLayout,
      compute: { module: this.module, entryPoint: entryName, constants },
    });
    this.pipelines.set(key, p);
    this.pipelines.set(quick, p);
    return p;
  }
}

/** Checks args against the entry point's reflected bindings; throws KernelArgumentError naming the binding. */
export function checkArgs(kernel: string, entry: EntryPoint, args: KernelArgs, owner: unknown): void {
  const where = (name: string) => `kernel '${kernel}.${entry.name}', binding '${name}'`;
  const expected = entry.names;
  for (const name in args) {
    if (!expected.has(name)) throw new KernelArgumentError(`${where(name)}: no such binding (expected ${[...expected].join(', ')}).`);
  }
  const writable = new Map<GPUBuffer, string>();
  const all = new Map<GPUBuffer, string>();
  for (const b of entry.bindings) {
    const arg = args[b.name];
    if (arg === undefined) throw new KernelArgumentError(`${where(b.name)}: missing argument.`);
    if (b.kind === 'uniform') {
      if (isTensor(arg)) throw new KernelArgumentError(`${where(b.name)}: is a uniform struct; pass an object of fields, not a tensor.`);
      const names = new Set(b.fields!.map((f) => f.name));
      for (const f of b.fields!) {
        const v = arg[f.name];
        if (typeof v !== 'number') throw new KernelArgumentError(`${where(b.name)}: field '${f.name}' (${f.type}) is missing.`);
        if (f.type !== 'f32' && !Number.isInteger(v)) throw new KernelArgumentError(`${where(b.name)}: field '${f.name}' is ${f.type} but got ${v}.`);
      }
      const extra = Object.keys(arg).filter((k) => !names.has(k));
      if (extra.length) throw new KernelArgumentError(`${where(b.name)}: unknown field ${extra.join(', ')}.`);
      continue;
    }
    if (!isTensor(arg)) throw new KernelArgumentError(`${where(b.name)}: is a ${b.kind === 'texture' ? 'texture' : 'storage buffer'}; pass a Tensor.`);
    if (b.kind === 'texture' && arg.size % 4 !== 0) throw new KernelArgumentError(`${where(b.name)}: a texture holds whole vec4s, but the tensor has ${arg.size} elements (not a multiple of 4).`);
    if (arg.device !== owner) throw new KernelArgumentError(`${where(b.name)}: the tensor belongs to another device.`);
    if (arg.dtype !== b.scalar) throw new KernelArgumentError(`${where(b.name)}: expects ${b.scalar} elements but got a ${arg.dtype} tensor.`);
    if (arg.byteLength < b.minBytes) throw new KernelArgumentError(`${where(b.name)}: needs at least ${b.minBytes} bytes but the tensor has ${arg.byteLength}.`);
    const buffer = arg.buffer;
    const clash = b.access === 'read_write' ? all.get(buffer) : writable.get(buffer);
    if (clash) throw new KernelArgumentError(`${where(b.name)}: the same tensor is bound to '${clash}' and one of them is writable.`);
    all.set(buffer, b.name);
    if (b.access === 'read_write') writable.set(buffer, b.name);
  }
}

export function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'dtype' in x && 'shape' in x && 'device' in x;
}

/** Writes a uniform struct's fields into `view` at `base`. */
export function packUniform(fields: UniformField[], values: UniformValues, view: DataView, base: number): void {
  for (const f of fields) {
    const v = values[f.name]!;
    if (f.type === 'f32') view.setFloat32(base + f.offset, v, true);
    else if (f.type === 'i32') view.setInt32(base + f.offset, v, true);
    else view.setUint32(base + f.offset, v, true);
  }
}
