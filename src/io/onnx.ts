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
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/sequential.js';
import { networkToOnnx } from './onnx-network.js';
import { qrange } from '../nn/quant-spec.js';
import { ACTIVATION_OPS, bytesOf, FLOAT, INT8, IR_VERSION, node, OPSET, tensor, UINT8, valueInfo } from './onnx-proto.js';
import { ProtoWriter } from './protobuf.js';

export interface OnnxOptions {
  /** 'qdq' (default): integer weights + DequantizeLinear; 'float': dequantized float weights. */
  quantized?: 'qdq' | 'float';
  /** The graph's name (default 'shrinkray_mlp'). */
  name?: string;
}

/** The model as the bytes of an .onnx file (a Sequential model through onnx-network.ts). */
export async function modelToOnnx(model: Model, options: OnnxOptions = {}): Promise<Uint8Array> {
  const mode = options.quantized ?? 'qdq';
  if (mode !== 'qdq' && mode !== 'float') throw new InvalidArgumentError(`quantized must be 'qdq' or 'float', got '${mode}'.`);
  if (model instanceof Sequential) return networkToOnnx(model, options.name ? { name: options.name } : {});
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
