/** ONNX's protobuf pieces shared by the MLP and network exporters: tensors, nodes, value infos. */
import { ProtoWriter } from './protobuf.js';

export const OPSET = 13;
export const IR_VERSION = 7;
export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT64 = 7;
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_INTS = 7;
export const ACTIVATION_OPS = { identity: null, relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' } as const;

export function tensor(name: string, dataType: number, dims: number[], raw: Uint8Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  return t.int(2, dataType).string(8, name).bytes(9, raw);
}

export function bytesOf(a: Float32Array | Int8Array | Uint8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A NodeProto; attributes are ints, lists of ints, or { float } for a float. */
export function node(op: string, inputs: string[], outputs: string[], name: string, attributes: Record<string, number | number[] | { float: number }> = {}): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attributes)) {
    const a = new ProtoWriter().string(1, k);
    if (typeof v === 'number') a.int(3, v).int(20, ATTR_INT);
    else if (!Array.isArray(v)) a.float(2, v.float).int(20, ATTR_FLOAT);
    else {
      for (const x of v) a.int(8, x);
      a.int(20, ATTR_INTS);
    }
    n.message(5, a);
  }
  return n;
}

export function valueInfo(name: string, width: number): ProtoWriter {
  const dims = new ProtoWriter().message(1, new ProtoWriter().string(2, 'batch')).message(1, new ProtoWriter().int(1, width));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}
