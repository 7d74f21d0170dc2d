/**
 * ONNX export of an MLP (opset 13, IR version 7): each dense layer is a Gemm (x W + b) followed by
 * its activation (Relu, Tanh, Sigmoid; none for identity). The input is `input` [batch, inputs]
 * and the output `output` [batch, outputs] (logits for the usual identity output layer).
 *
 * Quantized layers are written in QDQ form by default: the integer weights as an INT8 (signed
 * specs) or UINT8 initializer with their scale and zero point, and a DequantizeLinear (per output
 * channel: axis 1) feeding the Gemm, so runtimes can fuse it into integer kernels and the file
 * stays small. `quantized: 'float'` writes the dequantized float weights instead. k-means,
 * binary and ternary layers are always written as their float (shared or +-alpha) values.
 *
 * Run as written, a QDQ file computes what shrinkray computes (float Gemm on dequantized weights).
 * onnxruntime's default graph optimizations go further and fuse DequantizeLinear + Gemm into
 * integer kernels that quantize the activations on the fly: logits then differ slightly (on
 * MNIST, 99.8 % identical argmax for int8); with `graphOptimizationLevel: 'disabled'` they agree
 * to 1e-4. Export with `quantized: 'float'` where exact float outputs matter more than size.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MLP } from '../nn/mlp.js';
import { qrange } from '../nn/quant-spec.js';
import { ProtoWriter } from './protobuf.js';

const OPSET = 13;
const IR_VERSION = 7;
const FLOAT = 1,
  UINT8 = 2,
  INT8 = 3;
const ATTR_INT = 2;
const ACTIVATION_OPS = { identity: null, relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' } as const;

export interface OnnxOptions {
  /** 'qdq' (default): integer weights + DequantizeLinear; 'float': dequantized float weights. */
  quantized?: 'qdq' | 'float';
  /** The graph's name (default 'shrinkray_mlp'). */
  name?: string;
}

function tensor(name: string, dataType: number, dims: number[], raw: Uint8Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  return t.int(2, dataType).string(8, name).bytes(9, raw);
}

function bytesOf(a: Float32Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function node(op: string, inputs: string[], outputs: string[], name: string, ints: Record<string, number> = {}): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(ints)) n.message(5, new ProtoWriter().string(1, k).int(3, v).int(20, ATTR_INT));
  return n;
}

function valueInfo(name: string, width: number): ProtoWriter {
  const dims = new ProtoWriter().message(1, new ProtoWriter().string(2, 'batch')).message(1, new ProtoWriter().int(1, width));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** The model as the bytes of an .onnx file. */
export async function modelToOnnx(model: MLP, options: OnnxOptions = {}): Promise<Uint8Array> {
  const mode = options.quantized ?? 'qdq';
  if (mode !== 'qdq' && mode !== 'float') throw new InvalidArgumentError(`quantized must be 'qdq' or 'float', got '${mode}'.`);
  const graph = new ProtoWriter();
  const initializers: ProtoWriter[] = [];
  let h = 'input';
  for (const [i, l] of model.layers.entries()) {
    const last = i === model.layers.length - 1;
    const w = await l.weight.read();
    const weightName = `layers.${i}.weight`;
    if (l.quant && mode === 'qdq' && (l.quant.spec.method ?? 'minmax') === 'minmax') {
      const scale = await l.quant.weight.scale.read();
      const zero = await l.quant.weight.zero.read();
      const signed = l.quant.spec.signed !== false;
      const [qmin, qmax] = qrange(l.quant.spec);
      const q = signed ? new Int8Array(w.length) : new Uint8Array(w.length);
      for (let k = 0; k < l.inputs; k++)
        for (let n = 0; n < l.units; n++) {
          const c = scale.length === 1 ? 0 : n;
          // The weight holds (q - z) * s exactly, so this recovers q.
          q[k * l.units + n] = Math.min(qmax, Math.max(qmin, Math.round(w[k * l.units + n]! / scale[c]! + zero[c]!)));
        }
      const zeros = signed ? Int8Array.from(zero) : Uint8Array.from(zero);
      const perChannel = scale.length > 1;
      const dims = perChannel ? [scale.length] : [];
      initializers.push(tensor(`${weightName}_q`, signed ? INT8 : UINT8, [l.inputs, l.units], bytesOf(q)));
      initializers.push(tensor(`${weightName}_scale`, FLOAT, dims, bytesOf(scale)));
      initializers.push(tensor(`${weightName}_zero`, signed ? INT8 : UINT8, dims, bytesOf(zeros)));
      graph.message(1, node('DequantizeLinear', [`${weightName}_q`, `${weightName}_scale`, `${weightName}_zero`], [weightName], `dequantize_${i}`, perChannel ? { axis: 1 } : {}));
    } else {
      initializers.push(tensor(weightName, FLOAT, [l.inputs, l.units], bytesOf(w)));
    }
    const biasName = `layers.${i}.bias`;
    initializers.push(tensor(biasName, FLOAT, [l.units], bytesOf(await l.bias.read())));
    const op = ACTIVATION_OPS[l.activation];
    const z = last && !op ? 'output' : `layers.${i}.z`;
    graph.message(1, node('Gemm', [h, weightName, biasName], [z], `dense_${i}`));
    h = z;
    if (op) {
      const a = last ? 'output' : `layers.${i}.a`;
      graph.message(1, node(op, [z], [a], `${l.activation}_${i}`));
      h = a;
    }
  }
  graph.string(2, options.name ?? 'shrinkray_mlp');
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo('input', model.inputs));
  graph.message(12, valueInfo('output', model.outputs));
  return new ProtoWriter().int(1, IR_VERSION).string(2, 'shrinkray').string(3, '0.1.0').message(7, graph).message(8, new ProtoWriter().string(1, '').int(2, OPSET)).finish();
}
