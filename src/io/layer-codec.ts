/**
 * One dense layer's weights in the compressed model format (version 2 of shrinkray's files):
 * which positions are kept, and the kept values.
 *
 * Positions (row-major over W [inputs, units]), whichever is smallest for the layer:
 *  - dense: every position, no index (unpruned layers);
 *  - bitmap: one bit per position, least significant bit first;
 *  - relative: Deep Compression's relative indices (Han et al. 2016): entries of indexBits
 *    bits; an entry d >= 1 moves d positions on to the next kept weight, an entry 0 is a filler
 *    that moves M = 2^indexBits - 1 positions on without a value (Han's fillers carry a zero
 *    value; ours carry none). Fillers also cover the tail, so the last entry ends at most M
 *    positions before the end: a layer can never claim more positions than its entries span.
 * Values, one per kept position:
 *  - float: f32, or f16 on request;
 *  - codes: the quantized symbol (min-max q - qmin, the k-means index, binary 0/1 for -alpha/+alpha,
 *    ternary 0/1/2 for -alpha/0/+alpha) at the method's bit width, packed across byte boundaries.
 * The entries and the codes are stored raw or Huffman coded, whichever takes fewer bytes: a
 * Huffman stream starts with its canonical code's lengths (4 bits per symbol of the alphabet),
 * then the coded bits. Decoding checks every field and every count against the bytes
 * that hold it before allocating; a violation is a DataFormatError.
 */
import { DataFormatError } from '../errors.js';
import type { DenseSpec } from '../nn/mlp.js';
import { perChannelOf, qrange, symbolCount, type QuantSpec } from '../nn/quant-spec.js';
import { packBits, unpackBits } from './bits.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { codeLengths, huffmanBits, huffmanDecode, huffmanEncode, packLengths, unpackLengths } from './huffman.js';
import { tensorArray, type SafeFile, type TensorToWrite } from './safetensors.js';

export interface WeightEncoding {
  /** Stored values. */
  kept: number;
  positions: 'dense' | 'bitmap' | 'relative';
  /** dense positions of a model with a mask (all ones): the mask comes back on load. */
  masked?: boolean;
  indexBits?: number;
  /** relative: entries, fillers included. */
  entries?: number;
  positionsCode?: 'raw' | 'huffman';
  values: 'f32' | 'f16' | 'codes';
  valuesCode?: 'raw' | 'huffman';
  /** The layer's bias in half precision (default f32). */
  bias?: 'f16';
}

/** What a layer's weight holds, read back from the GPU. */
export interface LayerWeights {
  weight: Float32Array;
  mask?: Float32Array;
  quant?: { spec: QuantSpec; scale: Float32Array; zero: Int32Array; codebook?: Float32Array; assignment?: Uint32Array };
}

export interface EncodeOptions {
  /** Float weights and biases as IEEE half precision (default false: f32). */
  float16?: boolean;
  /** Huffman-code index and value streams where that is smaller (default true). */
  huffman?: boolean;
}

/** Relative indices only up to 12 bits: a 4095-position stride per entry bounds what a file can claim. */
export const MAX_INDEX_BITS = 12;

function positionsOf(w: LayerWeights, size: number): Uint32Array {
  if (!w.mask) return Uint32Array.from({ length: size }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < size; i++) if (w.mask[i] !== 0) out.push(i);
  return Uint32Array.from(out);
}

/** Relative entries of sorted positions in a layer of `size` positions (see the file comment). */
export function relativeEntries(positions: Uint32Array, size: number, indexBits: number): Uint32Array {
  const M = 2 ** indexBits - 1;
  const out: number[] = [];
  let at = -1;
  for (const p of positions) {
    let gap = p - at;
    while (gap > M) {
      out.push(0);
      gap -= M;
    }
    out.push(gap);
    at = p;
  }
  while (size - 1 - at > M) {
    out.push(0);
    at += M;
  }
  return Uint32Array.from(out);
}

interface Stream {
  code: 'raw' | 'huffman';
  bytes: Uint8Array;
}

/** The bytes that name a Huffman stream in the metadata beyond a raw one ("huffman" against "raw"). */
const HUFFMAN_NAME_BYTES = 4;

/** A symbol stream raw at `width` bits or Huffman coded (code lengths first), whichever is smaller. */
function smallestStream(symbols: Uint32Array, alphabet: number, width: number, huffman: boolean): Stream {
  const raw: Stream = { code: 'raw', bytes: packBits(symbols, width) };
  if (!huffman || symbols.length === 0) return raw;
  const freq = new Array<number>(alphabet).fill(0);
  for (const s of symbols) freq[s]!++;
  const lengths = codeLengths(freq);
  const table = packLengths(lengths);
  if (table.length + Math.ceil(huffmanBits(freq, lengths) / 8) + HUFFMAN_NAME_BYTES >= raw.bytes.length) return raw;
  const coded = huffmanEncode(symbols, lengths);
  const bytes = new Uint8Array(table.length + coded.length);
  bytes.set(table);
  bytes.set(coded, table.length);
  return { code: 'huffman', bytes };
}

/** The method's symbol for each kept position. */
function symbolsOf(w: LayerWeights, positions: Uint32Array, units: number): Uint32Array {
  const q = w.quant!;
  const method = q.spec.method ?? 'minmax';
  const perChannel = perChannelOf(q.spec);
  const out = new Uint32Array(positions.length);
  const [qmin, qmax] = qrange(q.spec);
  positions.forEach((p, i) => {
    const v = w.weight[p]!;
    const c = perChannel ? p % units : 0;
    if (method === 'kmeans') out[i] = q.assignment![p]!;
    else if (method === 'binary') out[i] = v > 0 ? 1 : 0;
    else if (method === 'ternary') out[i] = v > 0 ? 2 : v < 0 ? 0 : 1;
    // w = (q - z) s exactly, so q = round(w / s) + z recovers the integer.
    else out[i] = Math.min(qmax, Math.max(qmin, Math.round(v / q.scale[c]!) + q.zero[c]!)) - qmin;
  });
  return out;
}

/** The value of a symbol, computed as the GPU kernels compute it (f32). */
export function dequantizer(spec: QuantSpec, scale: Float32Array, zero: Int32Array, codebook: Float32Array | undefined, units: number): (symbol: number, position: number) => number {
  const perChannel = perChannelOf(spec);
  const f = Math.fround;
  switch (spec.method ?? 'minmax') {
    case 'kmeans':
      return (s) => codebook![s]!;
    case 'binary':
      return (s, p) => (s ? scale[perChannel ? p % units : 0]! : -scale[perChannel ? p % units : 0]!);
    case 'ternary':
      return (s, p) => f((s - 1) * scale[perChannel ? p % units : 0]!);
    default: {
      const [qmin] = qrange(spec);
      return (s, p) => {
        const c = perChannel ? p % units : 0;
        return f((s + qmin - zero[c]!) * scale[c]!);
      };
    }
  }
}

/** The tensors of layer `i`'s weight and their description, the smallest encoding found. */
export function encodeWeight(prefix: string, spec: DenseSpec, w: LayerWeights, options: EncodeOptions): { tensors: Record<string, TensorToWrite>; encoding: WeightEncoding } {
  const size = spec.inputs * spec.units;
  const huffman = options.huffman ?? true;
  const positions = positionsOf(w, size);
  const tensors: Record<string, TensorToWrite> = {};
  const encoding: WeightEncoding = { kept: positions.length, positions: 'dense', values: 'f32' };

  // Positions: dense when nothing is pruned, else the smaller of a bitmap and relative indices.
  if (positions.length === size) {
    if (w.mask) encoding.masked = true;
  } else {
    const bitmap = new Uint8Array(Math.ceil(size / 8));
    for (const p of positions) bitmap[p >> 3]! |= 1 << (p & 7);
    let best: { bytes: number; bits: number; stream: Stream; entries: number } | undefined;
    for (let bits = 1; bits <= MAX_INDEX_BITS; bits++) {
      const entries = relativeEntries(positions, size, bits);
      const stream = smallestStream(entries, 2 ** bits, bits, huffman);
      // What the header spends on the choice counts too: the numbers' digits, "huffman" over "raw".
      const bytes = stream.bytes.length + String(entries.length).length + String(bits).length + (stream.code === 'huffman' ? HUFFMAN_NAME_BYTES : 0);
      if (!best || bytes < best.bytes) best = { bytes, bits, stream, entries: entries.length };
    }
    if (best && best.bytes < bitmap.length) {
      Object.assign(encoding, { positions: 'relative', indexBits: best.bits, entries: best.entries, positionsCode: best.stream.code });
      tensors[`${prefix}.positions`] = { dtype: 'U8', shape: [best.stream.bytes.length], data: best.stream.bytes };
    } else {
      encoding.positions = 'bitmap';
      tensors[`${prefix}.positions`] = { dtype: 'U8', shape: [bitmap.length], data: bitmap };
    }
  }

  const dense = encoding.positions === 'dense';
  if (w.quant) {
    const q = w.quant;
    const symbols = symbolsOf(w, positions, spec.units);
    const stream = smallestStream(symbols, symbolCount(q.spec), q.spec.bits, huffman);
    Object.assign(encoding, { values: 'codes', valuesCode: stream.code });
    tensors[`${prefix}.values`] = { dtype: 'U8', shape: [stream.bytes.length], data: stream.bytes };
    const method = q.spec.method ?? 'minmax';
    if (method === 'kmeans') tensors[`${prefix}.codebook`] = { dtype: 'F32', shape: [q.codebook!.length], data: q.codebook! };
    else {
      tensors[`${prefix}.scale`] = { dtype: 'F32', shape: [q.scale.length], data: q.scale };
      if (method === 'minmax' && q.spec.symmetric === false) {
        const [qmin] = qrange(q.spec);
        tensors[`${prefix}.zero`] = { dtype: 'U8', shape: [q.zero.length], data: Uint8Array.from(q.zero, (z) => z - qmin) };
      }
    }
  } else if (options.float16) {
    encoding.values = 'f16';
    const half = Uint16Array.from(positions, (p) => toFloat16Bits(w.weight[p]!));
    tensors[dense ? prefix : `${prefix}.values`] = { dtype: 'F16', shape: dense ? [spec.inputs, spec.units] : [half.length], data: half };
  } else {
    // A dense f32 layer is the plain tensor any safetensors reader expects.
    const values = dense ? w.weight : Float32Array.from(positions, (p) => w.weight[p]!);
    tensors[dense ? prefix : `${prefix}.values`] = { dtype: 'F32', shape: dense ? [spec.inputs, spec.units] : [values.length], data: values };
  }
  return { tensors, encoding };
}

const fail = (message: string): never => {
  throw new DataFormatError(message);
};

/** The encoding as the metadata stores it: defaults left out (dense positions, raw streams, codes for quantized layers). */
export function compactEncoding(e: WeightEncoding, quantized: boolean): Partial<WeightEncoding> {
  const out: Partial<WeightEncoding> = { ...e };
  if (e.positions === 'dense') delete out.positions, delete out.kept;
  if (e.values === (quantized ? 'codes' : 'f32')) delete out.values;
  if (e.valuesCode === 'raw') delete out.valuesCode;
  if (e.positionsCode === 'raw') delete out.positionsCode;
  return out;
}

const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;

/** Checks a layer's encoding description from the file (every field, before any allocation). */
export function checkEncoding(e: unknown, spec: DenseSpec, quant: QuantSpec | null, name: string): WeightEncoding {
  const size = spec.inputs * spec.units;
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return fail(`${name}: the encoding must be an object.`);
  // The defaults compactEncoding leaves out.
  const stored = e as Record<string, unknown>;
  const positions = stored.positions ?? 'dense';
  const enc: Record<string, unknown> = {
    ...stored,
    positions,
    kept: stored.kept ?? (positions === 'dense' ? size : undefined),
    values: stored.values ?? (quant ? 'codes' : 'f32'),
    ...(quant && stored.valuesCode === undefined ? { valuesCode: 'raw' } : {}),
    ...(positions === 'relative' && stored.positionsCode === undefined ? { positionsCode: 'raw' } : {}),
  };
  for (const k of Object.keys(enc)) if (enc[k] === undefined) delete enc[k];
  const known = new Set(['kept', 'positions', 'masked', 'indexBits', 'entries', 'positionsCode', 'values', 'valuesCode', 'bias']);
  for (const k of Object.keys(enc)) if (!known.has(k)) fail(`${name}: unknown encoding field '${k}'.`);
  if (!isCount(enc.kept, size)) fail(`${name}: kept must be a count from 0 to ${size}.`);
  if (enc.positions !== 'dense' && enc.positions !== 'bitmap' && enc.positions !== 'relative') fail(`${name}: positions must be dense, bitmap or relative.`);
  if (enc.positions === 'dense' && enc.kept !== size) fail(`${name}: dense positions store all ${size} values, not ${enc.kept}.`);
  if (enc.masked !== undefined && (enc.masked !== true || enc.positions !== 'dense')) fail(`${name}: masked applies to dense positions only.`);
  if (enc.positions === 'relative') {
    if (!isCount(enc.indexBits, MAX_INDEX_BITS) || enc.indexBits < 1) fail(`${name}: indexBits must be from 1 to ${MAX_INDEX_BITS}.`);
    if (!isCount(enc.entries, Number.MAX_SAFE_INTEGER) || enc.entries < (enc.kept as number)) fail(`${name}: entries must be a count of at least kept.`);
    if (enc.positionsCode !== 'raw' && enc.positionsCode !== 'huffman') fail(`${name}: positionsCode must be raw or huffman.`);
  } else if (enc.indexBits !== undefined || enc.entries !== undefined || enc.positionsCode !== undefined) fail(`${name}: indexBits, entries and positionsCode belong to relative positions.`);
  if (enc.bias !== undefined && enc.bias !== 'f16') fail(`${name}: bias must be f16 or left out (f32).`);
  if (quant) {
    if (enc.values !== 'codes') fail(`${name}: a quantized layer stores codes.`);
    if (enc.valuesCode !== 'raw' && enc.valuesCode !== 'huffman') fail(`${name}: valuesCode must be raw or huffman.`);
  } else {
    if (enc.values !== 'f32' && enc.values !== 'f16') fail(`${name}: a float layer stores f32 or f16 values.`);
    if (enc.valuesCode !== undefined) fail(`${name}: valuesCode belongs to quantized layers.`);
  }
  return enc as unknown as WeightEncoding;
}

function symbolStream(file: SafeFile, name: string, code: 'raw' | 'huffman', count: number, alphabet: number, width: number): Uint32Array {
  const bytes = tensorArray(file, name, 'U8');
  if (code === 'raw') {
    const symbols = unpackBits(bytes, count, width, name);
    for (const s of symbols) if (s >= alphabet) fail(`${name}: symbol ${s} is outside its ${alphabet} codes.`);
    return symbols;
  }
  const tableBytes = Math.ceil(alphabet / 2);
  if (bytes.length < tableBytes) fail(`${name}: ${bytes.length} bytes cannot hold the ${tableBytes}-byte code table.`);
  const lengths = unpackLengths(bytes.subarray(0, tableBytes), alphabet, `${name}'s code table`);
  return huffmanDecode(bytes.subarray(tableBytes), lengths, count, name);
}

/** Decodes a layer's positions: the kept positions (sorted) and the mask if the layer has one. */
function decodePositions(file: SafeFile, prefix: string, e: WeightEncoding, size: number): { positions: Uint32Array | null; mask?: Float32Array } {
  if (e.positions === 'dense') return { positions: null, mask: e.masked ? new Float32Array(size).fill(1) : undefined };
  const name = `${prefix}.positions`;
  // The stream is read (and its length checked) before the layer-sized arrays are allocated.
  if (e.positions === 'bitmap') {
    const bits = tensorArray(file, name, 'U8', [Math.ceil(size / 8)]);
    if (size % 8 && bits[bits.length - 1]! >> (size % 8)) fail(`${name} has bits set past its ${size} positions.`);
    const mask = new Float32Array(size);
    const positions = new Uint32Array(e.kept);
    let n = 0;
    for (let p = 0; p < size; p++)
      if ((bits[p >> 3]! >> (p & 7)) & 1) {
        if (n === e.kept) fail(`${name} keeps more than the ${e.kept} values the layer stores.`);
        positions[n++] = p;
        mask[p] = 1;
      }
    if (n !== e.kept) fail(`${name} keeps ${n} positions, the layer stores ${e.kept} values.`);
    return { positions, mask };
  }
  const bits = e.indexBits!;
  const M = 2 ** bits - 1;
  const entries = symbolStream(file, name, e.positionsCode!, e.entries!, M + 1, bits);
  const mask = new Float32Array(size);
  const positions = new Uint32Array(e.kept);
  let at = -1,
    n = 0;
  for (const d of entries) {
    at += d === 0 ? M : d;
    if (at >= size) fail(`${name} runs past the layer's ${size} positions.`);
    if (d === 0) continue;
    if (n === e.kept) fail(`${name} has more than ${e.kept} kept positions.`);
    positions[n++] = at;
    mask[at] = 1;
  }
  if (n !== e.kept) fail(`${name} has ${n} kept positions, the layer stores ${e.kept} values.`);
  if (size - 1 - at > M) fail(`${name} ends ${size - 1 - at} positions before the layer does (fillers must cover the tail).`);
  return { positions, mask };
}

/**
 * Bytes a layer's description may claim: relative entries move at most 2^12 - 1 positions
 * each, so a layer can be no larger than its entries span; checked before the layer's arrays
 * are allocated.
 */
export function checkClaim(e: WeightEncoding, size: number, name: string): void {
  if (e.positions === 'relative' && size > (e.entries! + 1) * (2 ** e.indexBits! - 1) + 1) fail(`${name}: ${e.entries} relative entries cannot span the layer's ${size} positions.`);
}

export interface DecodedWeight {
  weight: Float32Array;
  mask?: Float32Array;
  quant?: { scale: Float32Array; zero: Int32Array; codebook?: Float32Array; assignment?: Uint32Array };
}

/** Layer `prefix`'s weight [inputs, units] from the file, every count and symbol checked. */
export function decodeWeight(file: SafeFile, prefix: string, spec: DenseSpec, e: WeightEncoding, quant: QuantSpec | null): DecodedWeight {
  const size = spec.inputs * spec.units;
  checkClaim(e, size, prefix);
  const dense = e.positions === 'dense';
  // Values come before positions: their byte counts bound `kept` before anything is allocated.
  let quantOut: DecodedWeight['quant'];
  let symbols: Uint32Array | undefined;
  let floats: Float32Array | undefined;
  if (quant) {
    const method = quant.method ?? 'minmax';
    symbols = symbolStream(file, `${prefix}.values`, e.valuesCode!, e.kept, symbolCount(quant), quant.bits);
    const channels = perChannelOf(quant) ? spec.units : 1;
    const [qmin, qmax] = qrange(quant);
    if (method === 'kmeans') {
      const codebook = tensorArray(file, `${prefix}.codebook`, 'F32', [2 ** quant.bits]);
      if (!codebook.every(Number.isFinite)) fail(`${prefix}.codebook holds NaN or infinite values.`);
      quantOut = { scale: new Float32Array([1]), zero: new Int32Array([0]), codebook };
    } else {
      const scale = tensorArray(file, `${prefix}.scale`, 'F32', [channels]);
      const ok = method === 'minmax' ? scale.every((v) => Number.isFinite(v) && v > 0) : scale.every((v) => Number.isFinite(v) && v >= 0);
      if (!ok) fail(`${prefix}.scale must hold ${method === 'minmax' ? 'positive' : 'non-negative'} finite scales.`);
      let zero = new Int32Array(channels);
      if (method === 'minmax' && quant.symmetric === false) {
        const z = tensorArray(file, `${prefix}.zero`, 'U8', [channels]);
        if (z.some((v) => v > qmax - qmin)) fail(`${prefix}.zero holds a zero point outside [${qmin}, ${qmax}].`);
        zero = Int32Array.from(z, (v) => v + qmin);
      } else if (method === 'minmax' && quant.signed === false) zero.fill(Math.trunc((qmin + qmax + 1) / 2));
      quantOut = { scale, zero };
    }
  } else if (e.values === 'f16') {
    const t = file.tensors.get(`${prefix}${dense ? '' : '.values'}`);
    const shape = dense ? [spec.inputs, spec.units] : [e.kept];
    if (t?.dtype !== 'F16' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) fail(`${prefix}: the f16 values must be an F16 tensor [${shape.join(', ')}].`);
    const bytes = new Uint8Array(t!.bytes); // a copy, even of a Node Buffer
    floats = Float32Array.from(new Uint16Array(bytes.buffer, 0, bytes.length / 2), fromFloat16Bits);
  } else floats = tensorArray(file, dense ? prefix : `${prefix}.values`, 'F32', dense ? [spec.inputs, spec.units] : [e.kept]);

  const { positions, mask } = decodePositions(file, prefix, e, size);
  const weight = dense && floats ? floats : new Float32Array(size);
  if (quant) {
    const value = dequantizer(quant, quantOut!.scale, quantOut!.zero, quantOut!.codebook, spec.units);
    for (let i = 0; i < e.kept; i++) {
      const p = positions ? positions[i]! : i;
      weight[p] = value(symbols![i]!, p);
    }
    if ((quant.method ?? 'minmax') === 'kmeans') {
      const assignment = new Uint32Array(size).fill(2 ** quant.bits);
      for (let i = 0; i < e.kept; i++) assignment[positions ? positions[i]! : i] = symbols![i]!;
      quantOut!.assignment = assignment;
    }
  } else if (!dense) positions!.forEach((p, i) => (weight[p] = floats![i]!));
  return { weight, mask, quant: quantOut };
}
