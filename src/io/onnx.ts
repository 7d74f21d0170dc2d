/**
 * ONNX export of an MLP (opset 13, IR version 7; networks: onnx-network.ts): each dense layer is a Gemm (x W + b) followed by
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
import { ACTIVATION_OPS, bytesOf, FLOAT, IR_VERSION, node, OPSET, tensor, valueInfo } from './onnx-proto.js';
import { qdqWeight, writesQdq } from './onnx-qdq.js';
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
  if (model instanceof Sequential) return networkToOnnx(model, { quantized: mode, ...(options.name ? { name: options.name } : {}) });
  const graph = new ProtoWriter();
  const initializers: ProtoWriter[] = [];
  let h = 'input';
  for (const [i, l] of model.layers.entries()) {
    const last = i === model.layers.length - 1;
    const w = await l.weight.read();
    const weightName = `layers.${i}.weight`;
    if (mode === 'qdq' && writesQdq(l.quant)) graph.message(1, await qdqWeight(weightName, w, [l.inputs, l.units], (e) => e % l.units, 1, l.quant, initializers));
    else initializers.push(tensor(weightName, FLOAT, [l.inputs, l.units], bytesOf(w)));
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
