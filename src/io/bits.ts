/**
 * Bit streams, least significant bit first (as DEFLATE): value i of a b-bit stream occupies bits
 * i*b .. i*b+b-1, crossing byte boundaries, so 6-bit values take 6 bits each. Pure: browsers too.
 */
import { DataFormatError } from '../errors.js';

export class BitWriter {
  private bytes = new Uint8Array(64);
  private bit = 0;

  /** Appends the low `width` bits of `value` (width 0..24). */
  write(value: number, width: number): void {
    const end = this.bit + width;
    if (end > this.bytes.length * 8) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, Math.ceil(end / 8) + 8));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    for (let i = 0; i < width; ) {
      const at = this.bit >> 3,
        shift = this.bit & 7;
      const take = Math.min(8 - shift, width - i);
      this.bytes[at]! |= ((value >>> i) & ((1 << take) - 1)) << shift;
      i += take;
      this.bit += take;
    }
  }

  get bitLength(): number {
    return this.bit;
  }

  /** The bytes written so far (the last one padded with zero bits). */
  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bit / 8));
  }
}

export class BitReader {
  private bit = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  /** The next `width` bits as an unsigned number; reading past the end is a DataFormatError. */
  read(width: number): number {
    if (this.bit + width > this.bytes.length * 8) throw new DataFormatError(`${this.what} ends before its last value.`);
    let v = 0;
    for (let i = 0; i < width; ) {
      const at = this.bit >> 3,
        shift = this.bit & 7;
      const take = Math.min(8 - shift, width - i);
      v |= ((this.bytes[at]! >> shift) & ((1 << take) - 1)) << i;
      i += take;
      this.bit += take;
    }
    return v >>> 0;
  }

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bit;
  }

  /** After the last value: only zero padding may follow, and less than a byte of it. */
  end(): void {
    if (this.bitsLeft >= 8) throw new DataFormatError(`${this.what} has ${this.bitsLeft >> 3} bytes after its last value.`);
    if (this.bitsLeft > 0 && this.read(this.bitsLeft) !== 0) throw new DataFormatError(`${this.what} has nonzero padding bits.`);
  }
}

/** `values` (each below 2^width) packed at `width` bits each. */
export function packBits(values: ArrayLike<number>, width: number): Uint8Array {
  const w = new BitWriter();
  for (let i = 0; i < values.length; i++) w.write(values[i]!, width);
  return w.finish();
}

/** `count` values of `width` bits; the stream must hold exactly that many (whole bytes). */
export function unpackBits(bytes: Uint8Array, count: number, width: number, what: string): Uint32Array {
  if (bytes.length !== Math.ceil((count * width) / 8)) throw new DataFormatError(`${what} holds ${bytes.length} bytes; ${count} values of ${width} bits need ${Math.ceil((count * width) / 8)}.`);
  const r = new BitReader(bytes, what);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = r.read(width);
  r.end();
  return out;
}
