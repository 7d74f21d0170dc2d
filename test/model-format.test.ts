/**
 * The compressed model format: its pieces (bit packing, Huffman, CRC-32, half floats, relative
 * indices), every kind of layer saved and loaded exactly, sizes equal to file lengths, and
 * hostile files (mutated, truncated, crafted) rejected with DataFormatError only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packBits, unpackBits } from '../src/io/bits.js';
import { crc32 } from '../src/io/crc32.js';
import { fromFloat16Bits, roundToFloat16, toFloat16Bits } from '../src/io/float16.js';
import { codeLengths, huffmanDecode, huffmanEncode, MAX_CODE_LENGTH } from '../src/io/huffman.js';
import { relativeEntries } from '../src/io/layer-codec.js';
import { decodeSafetensors, encodeSafetensors, type TensorToWrite } from '../src/io/safetensors.js';
import { layersWithoutWeights, modelFromSafetensors, modelToSafetensors } from '../src/io/model-file.js';
import { saveModel } from '../src/io/files.js';
import { compressedSize } from '../src/compress/size.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import type { QuantRequest } from '../src/nn/quant-spec.js';
import { MLP } from '../src/nn/mlp.js';
import { DataFormatError, ShrinkrayError } from '../src/errors.js';
import { Random } from '../src/random.js';
import { useDevice } from './helpers.js';

describe('format pieces', () => {
  it('packs values at any width from 1 to 12 bits across byte boundaries, and reads them back', () => {
    const r = new Random(1);
    for (let width = 1; width <= 12; width++) {
      const count = 1 + r.int(50);
      const values = Array.from({ length: count }, () => r.int(2 ** width));
      const bytes = packBits(values, width);
      expect(bytes.length).toBe(Math.ceil((count * width) / 8)); // 6-bit values take 6 bits
      expect(Array.from(unpackBits(bytes, count, width, 'test'))).toEqual(values);
    }
    expect(Array.from(packBits([5, 63, 0, 42], 6))).toEqual([0b11000101, 0b00001111, 0b10101000]); // LSB first
    expect(() => unpackBits(new Uint8Array(2), 3, 6, 'stream')).toThrow(/holds 2 bytes; 3 values of 6 bits need 3/);
    expect(() => unpackBits(Uint8Array.from([0, 0, 0x80]), 3, 6, 'stream')).toThrow(/nonzero padding/);
  });

  it('CRC-32 is the IEEE one (check value of "123456789")', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('half precision: known values, ties to even, subnormals, and every 16-bit pattern round-trips', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [0.1, 0x2e66],
      [-0, 0x8000],
      [Infinity, 0x7c00],
    ];
    for (const [v, h] of cases) expect([v, toFloat16Bits(v)]).toEqual([v, h]);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    for (let h = 0; h < 65536; h++) {
      const v = fromFloat16Bits(h);
      if (!Number.isNaN(v)) expect(toFloat16Bits(v)).toBe(h);
    }
    expect(roundToFloat16(3.14)).toBe(3.140625);
  });

  it('Huffman: the textbook code lengths, RFC 1951 canonical codes, round trips, a 15-bit limit', () => {
    // CLRS 16.3: frequencies a45 b13 c12 d16 e9 f5 give lengths 1 3 3 3 4 4.
    expect(Array.from(codeLengths([45, 13, 12, 16, 9, 5]))).toEqual([1, 3, 3, 3, 4, 4]);
    // RFC 1951 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give F=00, A=010, ..., E=110, G=1110, H=1111.
    const lengths = Uint8Array.from([3, 3, 3, 3, 3, 2, 4, 4]);
    const bits = huffmanEncode([5, 0, 7], lengths); // 00 010 1111, each code most significant bit first
    expect(Array.from(bits)).toEqual([0b11101000, 0b1]);
    expect(Array.from(huffmanDecode(bits, lengths, 3, 'test'))).toEqual([5, 0, 7]);
    const r = new Random(3);
    for (let trial = 0; trial < 20; trial++) {
      const alphabet = 2 + r.int(300);
      const symbols = Array.from({ length: 1 + r.int(2000) }, () => Math.min(alphabet - 1, Math.floor(-Math.log(1 - r.next()) * 3)));
      const freq = new Array<number>(alphabet).fill(0);
      for (const s of symbols) freq[s]!++;
      const l = codeLengths(freq);
      expect(Array.from(huffmanDecode(huffmanEncode(symbols, l), l, symbols.length, 'test'))).toEqual(symbols);
    }
    // Fibonacci frequencies make the deepest trees: limited to 15 bits and still a prefix code.
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!);
    const limited = codeLengths(fib);
    expect(Math.max(...limited)).toBeLessThanOrEqual(MAX_CODE_LENGTH); // unlimited, the deepest code would take 29 bits
    expect(Array.from(limited).reduce((k, len) => k + 2 ** -len, 0)).toBeLessThanOrEqual(1);
    expect(Array.from(huffmanDecode(huffmanEncode([0, 29, 3], limited), limited, 3, 'test'))).toEqual([0, 29, 3]);
    expect(() => huffmanDecode(Uint8Array.from([0]), Uint8Array.from([1, 1, 1]), 1, 'table')).toThrow(/oversubscribed/);
    expect(() => huffmanDecode(Uint8Array.from([0xff, 0xff]), Uint8Array.from([1, 2, 0]), 1, 'stream')).toThrow(/no code/); // 11... is no code
    expect(() => huffmanDecode(Uint8Array.from([0]), Uint8Array.from([1, 1]), 9, 'stream')).toThrow(/cannot fit/);
  });

  it('relative indices: gaps of at most 2^bits - 1, fillers (0) for longer gaps and for the tail', () => {
    expect(Array.from(relativeEntries(Uint32Array.from([0, 3, 19]), 20, 2))).toEqual([1, 3, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(relativeEntries(Uint32Array.from([2]), 20, 2))).toEqual([3, 0, 0, 0, 0, 0]); // the tail: 17 positions left, fillers until at most 3 remain
    expect(Array.from(relativeEntries(new Uint32Array(0), 7, 3))).toEqual([]);
  });
});

type Case = { name: string; prune?: 'global' | 'structured'; spec?: QuantRequest; float16?: boolean };
const CASES: Case[] = [
  { name: 'dense float32' },
  { name: 'dense float16', float16: true },
  { name: 'pruned float32', prune: 'global' },
  { name: 'pruned float16', prune: 'global', float16: true },
  { name: 'structured (bias masks)', prune: 'structured' },
  ...[2, 3, 4, 5, 6, 7, 8].map((bits) => ({ name: `min-max ${bits}-bit, pruned`, prune: 'global' as const, spec: { bits } })),
  { name: 'min-max 8-bit dense, restricted range', spec: { bits: 8, restrictRange: true } },
  { name: 'min-max 5-bit affine per tensor', prune: 'global', spec: { bits: 5, symmetric: false, perChannel: false } },
  { name: 'min-max 4-bit unsigned symmetric', spec: { bits: 4, signed: false } },
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((bits) => ({ name: `k-means ${bits}-bit, pruned`, prune: 'global' as const, spec: { method: 'kmeans' as const, bits } })),
  { name: 'k-means 4-bit dense', spec: { method: 'kmeans', bits: 4 } },
  { name: 'binary dense', spec: { method: 'binary' } },
  { name: 'binary pruned', prune: 'global', spec: { method: 'binary' } },
  { name: 'ternary pruned per tensor', prune: 'global', spec: { method: 'ternary', perChannel: false } },
  { name: 'ternary structured', prune: 'structured', spec: { method: 'ternary' } },
];

describe('model files, version 2', () => {
  const ctx = useDevice('llvmpipe');

  async function make(c: Case, seed = 3): Promise<MLP> {
    const model = MLP.create(ctx.device, [37, 21, 5], { seed });
    if (c.prune === 'global') await prune(model, { type: 'global', sparsity: 0.85 });
    if (c.prune === 'structured') await prune(model, { type: 'structured', fraction: 0.3 });
    if (c.spec) await quantizeWeights(model, c.spec);
    return model;
  }

  it.each(CASES)('$name: loads exactly, saves the same bytes again, and compressedSize is the file length', async (c) => {
    const model = await make(c);
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-format-'));
    try {
      const path = join(dir, 'm.safetensors');
      const metadata = { note: c.name };
      const predicted = await compressedSize(model, { metadata, float16: c.float16 });
      await saveModel(model, path, metadata, { float16: c.float16 });
      expect(statSync(path).size).toBe(predicted.totalBytes);
      const bytes = await modelToSafetensors(model, metadata, { float16: c.float16 });
      const loaded = modelFromSafetensors(ctx.device, bytes);
      const [a, b] = [await model.read(), await loaded.read()];
      a.forEach((l, i) => {
        const round = c.float16 ? (v: number) => roundToFloat16(v) : (v: number) => v;
        expect(Array.from(b[i]!.weight)).toEqual(Array.from(l.weight, round));
        expect(Array.from(b[i]!.bias)).toEqual(Array.from(l.bias, round));
      });
      for (const [i, l] of model.layers.entries()) {
        const m = loaded.layers[i]!;
        expect(!!m.mask).toBe(!!l.mask);
        if (l.mask) expect(Array.from(await m.mask!.read())).toEqual(Array.from(await l.mask.read()));
        if (l.biasMask) expect(Array.from(await m.biasMask!.read())).toEqual(Array.from(await l.biasMask.read()));
        expect(m.quant?.spec).toEqual(l.quant?.spec);
        if (l.quant) {
          expect(Array.from(await m.quant!.weight.scale.read())).toEqual(Array.from(await l.quant.weight.scale.read()));
          if (l.quant.codebook) expect(Array.from(await m.quant!.codebook!.read())).toEqual(Array.from(await l.quant.codebook.read()));
          if (l.quant.assignment) expect(Array.from(await m.quant!.assignment!.read())).toEqual(Array.from(await l.quant.assignment.read()));
        }
      }
      // Nothing is lost or invented: the loaded model writes the very same file.
      expect(await modelToSafetensors(loaded, metadata, { float16: c.float16 })).toEqual(bytes);
      loaded.dispose();
      // The same from a Node Buffer inside a larger one (as readFileSync may hand out): its
      // slice() shares memory, so reading tensors must copy by offset.
      const inPool = Buffer.concat([Buffer.alloc(13, 7), Buffer.from(bytes)]).subarray(13);
      const fromBuffer = modelFromSafetensors(ctx.device, inPool);
      expect(await modelToSafetensors(fromBuffer, metadata, { float16: c.float16 })).toEqual(bytes);
      fromBuffer.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    model.dispose();
  });

  it('picks the smallest encoding: pruned layers beat their dense size, Huffman only where it is smaller', async () => {
    const pruned = MLP.create(ctx.device, [200, 60, 10], { seed: 4 });
    await prune(pruned, { type: 'global', sparsity: 0.85 });
    await quantizeWeights(pruned, { method: 'kmeans', bits: 5 });
    const raw = await compressedSize(pruned, { huffman: false });
    const coded = await compressedSize(pruned);
    // Chosen per stream by its bytes and the header characters that name it; the header's
    // padding and its tensors' offset digits may still move the total by a few bytes.
    expect(coded.totalBytes).toBeLessThanOrEqual(raw.totalBytes + 12);
    expect(coded.layers.some((l) => l.valuesCode === 'huffman')).toBe(true);
    expect(raw.layers.every((l) => l.valuesCode !== 'huffman' && l.positionsCode !== 'huffman')).toBe(true);
    const dense = await make({ name: '' });
    const denseSize = await compressedSize(dense);
    expect((await compressedSize(await make({ name: '', prune: 'global' }))).totalBytes).toBeLessThan(denseSize.totalBytes);
    expect(coded.ratio).toBeGreaterThan(5);
    pruned.dispose();
    dense.dispose();
  });

  it('a layer with every weight pruned is found in the file (the CLI warns; the file is valid and loads)', async () => {
    const model = MLP.create(ctx.device, [7, 5, 3], { seed: 8 });
    expect(layersWithoutWeights(await modelToSafetensors(model))).toEqual([]);
    await prune(model, { type: 'threshold', threshold: 1e9 }); // every weight of both layers
    const bytes = await modelToSafetensors(model);
    expect(layersWithoutWeights(bytes)).toEqual([0, 1]);
    const loaded = modelFromSafetensors(ctx.device, bytes);
    expect(loaded.layers.length).toBe(2);
    loaded.dispose();
    model.dispose();
  });

  /** Re-signs a mutated file (a correct checksum), so the decoder behind the checksum is tested too. */
  function resign(bytes: Uint8Array): Uint8Array {
    const file = decodeSafetensors(bytes, { verifyChecksum: false });
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of file.tensors) {
      const copy = t.bytes.slice();
      const ctor = { F32: Float32Array, F16: Uint16Array, U8: Uint8Array, I32: Int32Array, U32: Uint32Array, I8: Int8Array } as const;
      const C = ctor[t.dtype as keyof typeof ctor];
      tensors[name] = { dtype: t.dtype as TensorToWrite['dtype'], shape: t.shape, data: new C(copy.buffer, 0, copy.length / C.BYTES_PER_ELEMENT) };
    }
    const { checksum: _, ...meta } = file.metadata;
    return encodeSafetensors(tensors, meta, { checksum: true });
  }

  it('2,500 hostile files: truncated, mutated, mutated and re-signed, crafted metadata: a typed error or a valid model, never a crash, a hang or a huge allocation', async () => {
    const { device } = ctx;
    const sources = await Promise.all(
      [
        { name: '', prune: 'global', spec: { method: 'kmeans', bits: 4 } },
        { name: '', prune: 'global', spec: { bits: 3, symmetric: false } },
        { name: '', prune: 'structured', float16: true },
        { name: '', spec: { method: 'ternary' } },
      ].map(async (c) => {
        const m = await make(c as Case, 5);
        const bytes = await modelToSafetensors(m, {}, { float16: (c as Case).float16 });
        m.dispose();
        return bytes;
      }),
    );
    const r = new Random(11);
    let loaded = 0,
      rejected = 0;
    const attempt = (bytes: Uint8Array) => {
      try {
        modelFromSafetensors(device, bytes).dispose();
        loaded++;
      } catch (e) {
        if (!(e instanceof ShrinkrayError)) throw e;
        rejected++;
      }
    };
    const started = Date.now();
    const memory = process.memoryUsage().rss;
    for (let i = 0; i < 500; i++) {
      const good = sources[i % sources.length]!;
      attempt(good.subarray(0, Math.floor((i / 500) * good.length)));
    }
    for (let i = 0; i < 2000; i++) {
      const good = sources[i % sources.length]!;
      const headerEnd = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
      const bytes = good.slice();
      const edits = 1 + r.int(4);
      const inData = i % 2 === 1;
      for (let e = 0; e < edits; e++) {
        const at = inData ? headerEnd + r.int(bytes.length - headerEnd) : 8 + r.int(headerEnd - 8);
        bytes[at] = r.next() < 0.5 ? r.int(256) : bytes[at]! ^ (1 << r.int(8));
      }
      let hostile: Uint8Array = bytes;
      if (inData)
        hostile = resign(bytes); // past the checksum, into the layer decoder
      else {
        try {
          decodeSafetensors(bytes); // header mutations that keep the JSON readable get re-signed too
          if (r.next() < 0.5) hostile = resign(bytes);
        } catch {
          /* an unreadable header: tried as it is */
        }
      }
      attempt(hostile);
    }
    expect(loaded + rejected).toBe(2500);
    expect(rejected).toBeGreaterThan(1500);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(process.memoryUsage().rss - memory).toBeLessThan(512 * 2 ** 20);
  }, 180_000);

  it('crafted metadata that claims more than the file holds is refused before allocating', async () => {
    const { device } = ctx;
    const m = await make({ name: '', prune: 'global' });
    const good = await modelToSafetensors(m);
    m.dispose();
    const file = decodeSafetensors(good);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of file.tensors) tensors[name] = { dtype: 'U8', shape: [t.bytes.length], data: t.bytes.slice() };
    const craft = (meta: Record<string, string>) => {
      // Dtypes as U8 keep the layout simple; what matters is that the metadata lies.
      return encodeSafetensors(tensors, { ...file.metadata, ...meta }, { checksum: true });
    };
    const encoding = JSON.parse(file.metadata.encoding!);
    const huge = JSON.stringify([
      { inputs: 100_000, units: 20_000, activation: 'relu' },
      { inputs: 20_000, units: 5, activation: 'identity' },
    ]);
    const cases: [Record<string, string>, RegExp][] = [
      [{ architecture: huge }, /cannot span|must be|needs|expected|kept/],
      [{ encoding: JSON.stringify([{ ...encoding[0], kept: 10 ** 9 }, encoding[1]]) }, /kept must be/],
      [{ encoding: JSON.stringify([{ ...encoding[0], indexBits: 13 }, encoding[1]]) }, /indexBits/],
      [{ encoding: JSON.stringify([{ ...encoding[0], surprise: 1 }, encoding[1]]) }, /unknown encoding field/],
      [{ encoding: '[1]' }, /must list 2 layers/],
      [{ quantization: JSON.stringify([{ method: 'kmeans', bits: 9 }, null]) }, /bits must be/],
      [{ version: '3' }, /version 3 is not supported/],
    ];
    for (const [meta, message] of cases) {
      const bytes = craft(meta);
      expect(() => modelFromSafetensors(device, bytes)).toThrow(DataFormatError);
      expect(() => modelFromSafetensors(device, bytes)).toThrow(message);
    }
    const noChecksum = encodeSafetensors(tensors, file.metadata);
    expect(() => modelFromSafetensors(device, noChecksum)).toThrow(/tensor .* is U8|checksum/);
  });
});
