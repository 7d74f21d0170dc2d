import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { modelFromSafetensors, modelToSafetensors } from '../src/io/model-file.js';
import { loadModel, saveModel } from '../src/io/files.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { MLP } from '../src/nn/mlp.js';
import { DataFormatError, ShapeError } from '../src/errors.js';
import { randomArray, useDevice } from './helpers.js';

/**
 * An independent reader written from the format's description alone (not src/io): it checks the
 * rules a reference reader enforces and returns each tensor's dtype, shape and bytes.
 */
function referenceRead(file: Uint8Array): { meta: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; bytes: number[] }> } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8'));
  const body = file.subarray(8 + n);
  const size: Record<string, number> = { F32: 4, F16: 2, U8: 1, I8: 1, I32: 4, U32: 4 };
  const spans: [number, number][] = [];
  const tensors: Record<string, { dtype: string; shape: number[]; bytes: number[] }> = {};
  for (const [k, v] of Object.entries<{ dtype: string; shape: number[]; data_offsets: [number, number] }>(header)) {
    if (k === '__metadata__') continue;
    const [b, e] = v.data_offsets;
    if (e - b !== v.shape.reduce((x: number, y: number) => x * y, 1) * size[v.dtype]!) throw new Error(`${k}: size`);
    spans.push([b, e]);
    tensors[k] = { dtype: v.dtype, shape: v.shape, bytes: Array.from(body.subarray(b, e)) };
  }
  spans.sort((x, y) => x[0] - y[0]);
  spans.reduce((at, [b, e]) => {
    if (b !== at) throw new Error('hole or overlap');
    return e;
  }, 0);
  if (spans.length && spans[spans.length - 1]![1] !== body.length) throw new Error('trailing bytes');
  if ((8 + n) % 8 !== 0) throw new Error('header not padded to 8 bytes');
  for (const v of Object.values<string>(header.__metadata__ ?? {})) if (typeof v !== 'string') throw new Error('metadata');
  return { meta: header.__metadata__ ?? {}, tensors };
}

describe('safetensors', () => {
  it('encodes per the format: an independent reader gets the same dtypes, shapes, bytes and metadata', () => {
    const f32 = Float32Array.from([1.5, -2, 3.25]);
    const u8 = Uint8Array.from([0, 1, 255, 7]);
    const i32 = Int32Array.from([-5, 6]);
    const file = encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: f32 }, 'b.mask': { dtype: 'U8', shape: [2, 2], data: u8 }, c: { dtype: 'I32', shape: [2, 1], data: i32 } }, { note: 'hi' });
    const ref = referenceRead(file);
    expect(ref.meta).toEqual({ note: 'hi' });
    expect(ref.tensors.a).toEqual({ dtype: 'F32', shape: [3], bytes: Array.from(new Uint8Array(f32.buffer)) });
    expect(ref.tensors['b.mask']).toEqual({ dtype: 'U8', shape: [2, 2], bytes: [0, 1, 255, 7] });
    expect(ref.tensors.c!.bytes).toEqual([251, 255, 255, 255, 6, 0, 0, 0]); // little-endian -5, 6
    const back = decodeSafetensors(file);
    expect(back.metadata).toEqual({ note: 'hi' });
    expect([...back.tensors.keys()].sort()).toEqual(['a', 'b.mask', 'c']);
  });

  it('reads a file written by hand from the specification, header padding and all', () => {
    const header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}   ';
    const file = new Uint8Array(8 + header.length + 8);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(new TextEncoder().encode(header), 8);
    file.set(new Uint8Array(Float32Array.from([0.5, 4]).buffer), 8 + header.length);
    const f = decodeSafetensors(file);
    expect(Array.from(new Float32Array(f.tensors.get('w')!.bytes.slice().buffer))).toEqual([0.5, 4]);
  });

  it('rejects every rule broken, with DataFormatError', () => {
    const make = (header: string, body = 0) => {
      const h = new TextEncoder().encode(header);
      const f = new Uint8Array(8 + h.length + body);
      new DataView(f.buffer).setBigUint64(0, BigInt(h.length), true);
      f.set(h, 8);
      return f;
    };
    const bad: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /too short/],
      [
        (() => {
          const f = make('{}');
          new DataView(f.buffer).setBigUint64(0, 10n ** 12n, true);
          return f;
        })(),
        /claims/,
      ],
      [make('[1]'), /start with '\{'/],
      [make('{"a":'), /not valid JSON/],
      [make('{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}', 4), /unknown dtype/],
      [make('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /non-negative integers/],
      [make('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4), /needs 8 bytes but its offsets span 4/],
      [make('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /gap of 4 bytes/],
      [make('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /overlaps/],
      [make('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8), /cover 4 bytes but the data section has 8/],
      [make('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 2), /ends at byte 4/],
      [make('{"__metadata__":{"n":1}}'), /must be a string/],
      [make('{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', 1), /absurd shape|needs/],
    ];
    for (const [file, message] of bad) {
      expect(() => decodeSafetensors(file)).toThrow(DataFormatError);
      expect(() => decodeSafetensors(file)).toThrow(message);
    }
  });
});

describe('model files', () => {
  const ctx = useDevice('llvmpipe');

  it('save and load keep predictions, pruning masks and metadata; writes are atomic', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [12, 9, 4], { activation: 'tanh', seed: 3 });
    await prune(model, { type: 'structured', fraction: 0.3 });
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-model-'));
    try {
      const path = join(dir, 'model.safetensors');
      await saveModel(model, path, { trained_on: 'nothing' });
      expect(readdirSync(dir)).toEqual(['model.safetensors']); // no temporary file left
      const ref = referenceRead(new Uint8Array(readFileSync(path)));
      expect(ref.meta.format).toBe('shrinkray');
      expect(ref.meta.trained_on).toBe('nothing');
      // Layer 0 lost 3 of its 9 units: its kept weights and their positions; layer 1 is whole.
      expect(Object.keys(ref.tensors).sort()).toEqual(['layers.0.bias', 'layers.0.bias_mask_bits', 'layers.0.weight.positions', 'layers.0.weight.values', 'layers.1.bias', 'layers.1.weight']);
      expect(ref.tensors['layers.0.weight.values']).toMatchObject({ dtype: 'F32', shape: [12 * 6] });
      expect(ref.tensors['layers.1.weight']).toMatchObject({ dtype: 'F32', shape: [9, 4] });
      expect(ref.meta.version).toBe('2');
      expect(ref.meta.checksum).toMatch(/^crc32:[0-9a-f]{8}$/);
      const loaded = await loadModel(device, path);
      const x = randomArray(5 * 12, 4);
      expect(Array.from(await loaded.predict(x))).toEqual(Array.from(await model.predict(x)));
      expect(Array.from(await loaded.layers[0]!.mask!.read())).toEqual(Array.from(await model.layers[0]!.mask!.read()));
      await expect(
        loadModel(device, path, [
          { inputs: 12, units: 10, activation: 'tanh' },
          { inputs: 10, units: 4, activation: 'identity' },
        ]),
      ).rejects.toThrow(ShapeError);
      await expect(
        loadModel(device, path, [
          { inputs: 12, units: 10, activation: 'tanh' },
          { inputs: 10, units: 4, activation: 'identity' },
        ]),
      ).rejects.toThrow(/holds 12-9-4 \(tanh, identity\), expected 12-10-4 \(tanh, identity\)/);
      expect(existsSync(path)).toBe(true);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    model.dispose();
  });

  it.each([{ bits: 8, restrictRange: true }, { bits: 4, perChannel: false }, { bits: 3 }, { bits: 6, symmetric: false }] as const)(
    'quantized models (%o) store bit-packed codes and load to the same weights',
    async (spec) => {
      const { device } = ctx;
      const model = MLP.create(device, [61, 29, 4], { seed: 8 });
      await prune(model, { type: 'layer', sparsity: 0.4 });
      const floatBytes = (await modelToSafetensors(model)).length; // the same masks, float weights
      await quantizeWeights(model, spec);
      const bytes = await modelToSafetensors(model, {}, { huffman: false });
      const ref = referenceRead(bytes);
      expect(ref.tensors['layers.0.weight']).toBeUndefined();
      const kept = Math.round(0.6 * 61 * 29);
      // Raw codes: exactly `bits` bits per kept weight, across byte boundaries.
      expect(ref.tensors['layers.0.weight.values']).toMatchObject({ dtype: 'U8', shape: [Math.ceil((kept * spec.bits) / 8)] });
      expect(JSON.parse(ref.meta.quantization!)).toEqual([spec, spec]);
      const loaded = modelFromSafetensors(device, bytes);
      const [a, b] = [await model.read(), await loaded.read()];
      a.forEach((l, i) => expect(Array.from(b[i]!.weight)).toEqual(Array.from(l.weight)));
      expect(loaded.layers[1]!.quant!.spec).toEqual(spec);
      expect(Array.from(await loaded.layers[0]!.quant!.weight.scale.read())).toEqual(Array.from(await model.layers[0]!.quant!.weight.scale.read()));
      expect(Array.from(await loaded.layers[0]!.quant!.weight.zero.read())).toEqual(Array.from(await model.layers[0]!.quant!.weight.zero.read()));
      expect(bytes.length).toBeLessThan(floatBytes);
      model.dispose();
      loaded.dispose();
    },
  );

  it('loads version 1 files (written before the compressed format) to the weights they held', async () => {
    const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', 'model-v1.safetensors')));
    const expected = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'model-v1.json'), 'utf8')) as {
      layers: { weight: number[]; bias: number[] }[];
      mask0: number[];
      biasMask0: number[];
    };
    expect(decodeSafetensors(bytes).metadata.version).toBe('1');
    const model = modelFromSafetensors(ctx.device, bytes);
    const layers = await model.read();
    layers.forEach((l, i) => {
      expect(Array.from(l.weight)).toEqual(expected.layers[i]!.weight);
      expect(Array.from(l.bias)).toEqual(expected.layers[i]!.bias);
    });
    expect(Array.from(await model.layers[0]!.mask!.read())).toEqual(expected.mask0);
    expect(Array.from(await model.layers[0]!.biasMask!.read())).toEqual(expected.biasMask0);
    expect(model.layers[0]!.quant!.spec).toEqual({ bits: 5, symmetric: false });
    model.dispose();
  });

  it('a file that is not a shrinkray model says so', () => {
    const file = encodeSafetensors({ '0.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    expect(() => modelFromSafetensors(ctx.device, file)).toThrow(/Not a shrinkray model file/);
  });

  it('a flipped bit anywhere in the tensor data is caught by the checksum', async () => {
    const model = MLP.create(ctx.device, [6, 5, 3], { seed: 1 });
    const good = await modelToSafetensors(model);
    model.dispose();
    const dataStart = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
    for (const at of [dataStart, dataStart + 37, good.length - 1]) {
      const bad = good.slice();
      bad[at]! ^= 1 << (at % 8);
      expect(() => modelFromSafetensors(ctx.device, bad)).toThrow(DataFormatError);
      expect(() => modelFromSafetensors(ctx.device, bad)).toThrow(/does not match its checksum/);
    }
  });
});

describe('MLP.clone', () => {
  const ctx = useDevice();

  it('copies weights, biases, masks and quantization on the GPU, independently of the original', async () => {
    const model = MLP.create(ctx.device, [9, 7, 4], { seed: 3 });
    await prune(model, { type: 'structured', fraction: 0.3 }); // weight and bias masks
    await quantizeWeights(model, { bits: 5, symmetric: false });
    const copy = model.clone();
    // The same file, byte for byte: every tensor and every setting came along.
    expect(await modelToSafetensors(copy)).toEqual(await modelToSafetensors(model));
    expect(Array.from(await copy.layers[0]!.biasMask!.read())).toEqual(Array.from(await model.layers[0]!.biasMask!.read()));
    expect(copy.layers[0]!.biasMask).not.toBe(model.layers[0]!.biasMask); // its own tensor
    const before = await model.read();
    copy.layers[0]!.weight.write(new Float32Array(63).fill(7));
    copy.layers[0]!.quant!.weight.zero.write(new Int32Array(7).fill(1));
    expect(await model.read()).toEqual(before);
    expect(Array.from(await model.layers[0]!.quant!.weight.zero.read())).not.toEqual(new Array(7).fill(1));
    copy.dispose();
    expect(await model.read()).toEqual(before); // disposing the copy leaves the original whole
    model.dispose();
    expect(() => model.clone()).toThrow(/after dispose/);
  });
});
