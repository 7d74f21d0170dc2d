/**
 * The IDX format of the MNIST files (LeCun et al.): magic 0x0000 TT DD (TT = 0x08 for unsigned
 * bytes, DD = number of dimensions), then DD big-endian u32 sizes, then the data. Every field is
 * checked; only unsigned-byte data is accepted (what MNIST uses).
 */
import { DataFormatError } from '../errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(buffer: Uint8Array, name = 'IDX file'): IdxArray {
  if (buffer.length < 4) throw new DataFormatError(`${name}: ${buffer.length} bytes is too short for an IDX header.`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (view.getUint16(0) !== 0) throw new DataFormatError(`${name}: not an IDX file (the magic number must start with two zero bytes).`);
  const type = view.getUint8(2);
  if (type !== 0x08) throw new DataFormatError(`${name}: data type 0x${type.toString(16)} is not supported (only 0x08, unsigned bytes).`);
  const ndims = view.getUint8(3);
  if (ndims < 1 || ndims > 4) throw new DataFormatError(`${name}: ${ndims} dimensions (expected 1 to 4).`);
  const header = 4 + 4 * ndims;
  if (buffer.length < header) throw new DataFormatError(`${name}: truncated header (${buffer.length} of ${header} bytes).`);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i);
    if (d === 0) throw new DataFormatError(`${name}: dimension ${i} is 0.`);
    dims.push(d);
    count *= d;
  }
  if (buffer.length !== header + count)
    throw new DataFormatError(
      `${name}: ${buffer.length - header} data bytes but the header [${dims.join(', ')}] says ${count}${buffer.length < header + count ? ' (truncated).' : ' (trailing bytes).'}`,
    );
  return { dims, data: buffer.subarray(header) };
}
