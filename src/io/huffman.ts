/**
 * Canonical Huffman coding (Deep Compression's last stage, Han et al. 2016), the code of DEFLATE
 * (RFC 1951 3.2.2): a code is fully described by each symbol's length, codes of one length are
 * consecutive in symbol order, and they are written most significant bit first into the
 * LSB-first bit stream. Lengths are limited to 15 bits; a file stores them as 4-bit nibbles.
 *
 * Written here rather than taken from a package: the maintained compression libraries (fflate,
 * pako) implement all of DEFLATE and keep their Huffman stage internal, and none exposes
 * canonical codes over an alphabet of our own (quantized weights, index gaps) with the code
 * table kept apart from the stream. Decoding follows zlib's puff: one bit at a time, no table
 * larger than the code itself. Pure: browsers too.
 */
import { DataFormatError } from '../errors.js';
import { BitReader, BitWriter } from './bits.js';

export const MAX_CODE_LENGTH = 15;

/** Huffman code lengths for symbol frequencies (0 for unused symbols), at most `maxLength` bits. */
export function codeLengths(frequencies: ArrayLike<number>, maxLength = MAX_CODE_LENGTH): Uint8Array {
  const n = frequencies.length;
  const lengths = new Uint8Array(n);
  let freq = Array.from(frequencies);
  const used = freq.flatMap((f, s) => (f > 0 ? [s] : []));
  if (used.length === 0) return lengths;
  if (used.length === 1) {
    lengths[used[0]!] = 1;
    return lengths;
  }
  if (used.length > 2 ** maxLength) throw new RangeError(`${used.length} symbols do not fit codes of ${maxLength} bits.`);
  for (;;) {
    // Two-queue construction over leaves sorted by frequency (ties by symbol: deterministic).
    const leaves = used.map((s) => ({ weight: freq[s]!, symbol: s })).sort((a, b) => a.weight - b.weight || a.symbol - b.symbol);
    const parent: number[] = new Array(leaves.length * 2 - 1).fill(-1);
    const weight = leaves.map((l) => l.weight);
    const merged: number[] = [];
    let leaf = 0,
      node = 0;
    const takeSmallest = (): number => {
      const nodeIndex = leaves.length + node;
      if (leaf < leaves.length && (node >= merged.length || weight[leaf]! <= merged[node]!)) return leaf++;
      node++;
      return nodeIndex;
    };
    for (let k = 0; k < leaves.length - 1; k++) {
      const a = takeSmallest(),
        b = takeSmallest();
      const id = leaves.length + merged.length;
      const w = (a < leaves.length ? weight[a]! : merged[a - leaves.length]!) + (b < leaves.length ? weight[b]! : merged[b - leaves.length]!);
      merged.push(w);
      parent[a] = id;
      parent[b] = id;
    }
    const depth = new Array<number>(parent.length).fill(0);
    for (let id = parent.length - 2; id >= 0; id--) depth[id] = depth[parent[id]!]! + 1;
    const longest = Math.max(...leaves.map((_, i) => depth[i]!));
    if (longest <= maxLength) {
      leaves.forEach((l, i) => (lengths[l.symbol] = depth[i]!));
      return lengths;
    }
    // Too deep: flatten the distribution and build again (zlib's trees do the same in spirit).
    freq = freq.map((f) => (f > 0 ? Math.max(1, f >> 1) : 0));
  }
}

/** Canonical codes of the lengths (RFC 1951's algorithm). */
function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const count = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  for (const l of lengths) count[l]!++;
  count[0] = 0;
  const next = new Array<number>(MAX_CODE_LENGTH + 2).fill(0);
  for (let len = 1, code = 0; len <= MAX_CODE_LENGTH; len++) {
    code = (code + count[len - 1]!) << 1;
    next[len] = code;
  }
  const codes = new Uint32Array(lengths.length);
  lengths.forEach((l, s) => l && (codes[s] = next[l]!++));
  return codes;
}

function reverse(code: number, length: number): number {
  let r = 0;
  for (let i = 0; i < length; i++) r |= ((code >> i) & 1) << (length - 1 - i);
  return r;
}

/** The symbols as a bit stream under the code of `lengths` (every symbol must have a length). */
export function huffmanEncode(symbols: ArrayLike<number>, lengths: Uint8Array): Uint8Array {
  const codes = canonicalCodes(lengths);
  const w = new BitWriter();
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!,
      l = lengths[s]!;
    if (!l) throw new RangeError(`symbol ${s} has no code.`);
    w.write(reverse(codes[s]!, l), l);
  }
  return w.finish();
}

/** Bits that `symbols` take under `lengths` (without the padding of the last byte). */
export function huffmanBits(frequencies: ArrayLike<number>, lengths: Uint8Array): number {
  let bits = 0;
  for (let s = 0; s < lengths.length; s++) bits += (frequencies[s] ?? 0) * lengths[s]!;
  return bits;
}

/** Checks code lengths read from a file: each at most 15 and not oversubscribed (Kraft). */
export function checkLengths(lengths: Uint8Array, what: string): void {
  let left = 1;
  const count = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  for (const l of lengths) {
    if (l > MAX_CODE_LENGTH) throw new DataFormatError(`${what}: a code length of ${l} bits (at most ${MAX_CODE_LENGTH}).`);
    count[l]!++;
  }
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    left = left * 2 - count[len]!;
    if (left < 0) throw new DataFormatError(`${what}: the code lengths are oversubscribed (not a prefix code).`);
  }
}

/**
 * `count` symbols decoded from `bytes`. Every symbol takes at least one bit, so a count beyond
 * the stream's bits is refused before anything is allocated.
 */
export function huffmanDecode(bytes: Uint8Array, lengths: Uint8Array, count: number, what: string): Uint32Array {
  checkLengths(lengths, what);
  if (!Number.isSafeInteger(count) || count < 0 || count > bytes.length * 8) throw new DataFormatError(`${what}: ${count} symbols cannot fit ${bytes.length} bytes.`);
  const perLength = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  for (const l of lengths) perLength[l]!++;
  // Symbols ordered by (length, symbol): the canonical order.
  const order: number[] = [];
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) lengths.forEach((l, s) => l === len && order.push(s));
  const r = new BitReader(bytes, what);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let code = 0,
      first = 0,
      index = 0,
      symbol = -1;
    for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
      code |= r.read(1);
      const n = perLength[len]!;
      if (code - first < n) {
        symbol = order[index + code - first]!;
        break;
      }
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
    if (symbol < 0) throw new DataFormatError(`${what}: a bit sequence that is no code.`);
    out[i] = symbol;
  }
  r.end();
  return out;
}

/** Code lengths as nibbles, two to a byte, low nibble first. */
export function packLengths(lengths: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(lengths.length / 2));
  lengths.forEach((l, s) => (out[s >> 1]! |= l << ((s & 1) * 4)));
  return out;
}

export function unpackLengths(bytes: Uint8Array, symbols: number, what: string): Uint8Array {
  if (bytes.length !== Math.ceil(symbols / 2)) throw new DataFormatError(`${what}: ${bytes.length} bytes of code lengths for ${symbols} symbols (needs ${Math.ceil(symbols / 2)}).`);
  if (symbols % 2 && bytes[bytes.length - 1]! >> 4) throw new DataFormatError(`${what}: a code length past the last symbol.`);
  return Uint8Array.from({ length: symbols }, (_, s) => (bytes[s >> 1]! >> ((s & 1) * 4)) & 15);
}
