/**
 * A quantized weight in ONNX's QDQ form: the integers as an INT8 (signed specs) or UINT8
 * initializer with their scale and zero point (one per output channel, or one for the tensor) and
 * a DequantizeLinear node that writes the float weight under its name, for the Gemm or Conv that
 * reads it. Shared by the MLP and network exporters.
 */
import type { LayerQuant } from '../nn/quant-spec.js';
import { qrange } from '../nn/quant-spec.js';
import { bytesOf, FLOAT, INT8, node, tensor, UINT8 } from './onnx-proto.js';
import type { ProtoWriter } from './protobuf.js';

/** Whether a layer's quantization can be written as QDQ integers (min-max; k-means, binary and ternary stay floats). */
export function writesQdq(quant: LayerQuant | undefined): quant is LayerQuant {
  return !!quant && (quant.spec.method ?? 'minmax') === 'minmax';
}

/**
 * `w`: the dequantized weight in the layout ONNX reads (`dims`); `channelOf(e)`: the output channel
 * of element e; `axis`: that channel's dimension. Pushes the initializers, returns the node.
 */
export async function qdqWeight(name: string, w: Float32Array, dims: number[], channelOf: (e: number) => number, axis: number, quant: LayerQuant, initializers: ProtoWriter[]): Promise<ProtoWriter> {
  const scale = await quant.weight.scale.read();
  const zero = await quant.weight.zero.read();
  const signed = quant.spec.signed !== false;
  const [qmin, qmax] = qrange(quant.spec);
  const q = signed ? new Int8Array(w.length) : new Uint8Array(w.length);
  const perChannel = scale.length > 1;
  for (let e = 0; e < w.length; e++) {
    const c = perChannel ? channelOf(e) : 0;
    // The weight holds (q - z) * s exactly, so this recovers q.
    q[e] = Math.min(qmax, Math.max(qmin, Math.round(w[e]! / scale[c]! + zero[c]!)));
  }
  const shape = perChannel ? [scale.length] : [];
  initializers.push(tensor(`${name}_q`, signed ? INT8 : UINT8, dims, bytesOf(q)));
  initializers.push(tensor(`${name}_scale`, FLOAT, shape, bytesOf(scale)));
  initializers.push(tensor(`${name}_zero`, signed ? INT8 : UINT8, shape, bytesOf(signed ? Int8Array.from(zero) : Uint8Array.from(zero))));
  return node('DequantizeLinear', [`${name}_q`, `${name}_scale`, `${name}_zero`], [name], `dequantize_${name}`, perChannel ? { axis } : {});
}
