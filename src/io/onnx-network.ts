/**
 * ONNX export of a Sequential model (opset 13). shrinkray's images are NHWC rows, ONNX's
 * convolutions NCHW, so the graph reshapes the input row [batch, h*w*c] to [batch, h, w, c] and
 * transposes it to NCHW once; convolutions (filters converted from HWIO [kh*kw*c, f] to OIHW
 * [f, c, kh, kw]), max and average pooling (count_include_pad, as ours) and the activations run
 * in NCHW; before the flatten the activations go back to NHWC, so the dense weights apply as they
 * are. Weights are floats, or for min-max quantized layers (with `quantized: 'qdq'`, the default)
 * QDQ integers per filter (axis 0 of OIHW) or per unit (axis 1 of a Gemm's weight), as onnx.ts
 * writes an MLP's. Batch norms are BatchNormalization nodes with their running averages (inference
 * mode; onnxruntime folds them into the layer before). Dropout, the identity at inference, is left
 * out. Input `input` [batch, inputs], output `output` [batch, outputs].
 */
import type { Stage } from '../nn/sequential.js';
import type { Sequential } from '../nn/sequential.js';
import { normSettings, stageWindow } from '../nn/sequential.js';
import { ACTIVATION_OPS, bytesOf, FLOAT, INT64, IR_VERSION, node, OPSET, tensor, valueInfo } from './onnx-proto.js';
import { qdqWeight, writesQdq } from './onnx-qdq.js';
import { ProtoWriter } from './protobuf.js';

/** OIHW [f, c, kh, kw] (PyTorch's and ONNX's filters) as HWIO [kh * kw * c, f]: hwioToOihw's inverse. */
export function hwioFromOihw(w: Float32Array, kh: number, kw: number, c: number, f: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < f; o++)
    for (let ci = 0; ci < c; ci++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) out[((ky * kw + kx) * c + ci) * f + o] = w[((o * c + ci) * kh + ky) * kw + kx]!;
  return out;
}

/** HWIO [kh * kw * c, f] (rows in (ky, kx, ci) order) as OIHW [f, c, kh, kw]. */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, c: number, f: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < f; o++)
    for (let ci = 0; ci < c; ci++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) out[((o * c + ci) * kh + ky) * kw + kx] = w[((ky * kw + kx) * c + ci) * f + o]!;
  return out;
}

function windowAttributes(stage: Stage): Record<string, number[]> {
  const g = stageWindow(stage, 1);
  return { kernel_shape: [g.kh, g.kw], strides: [g.sh, g.sw], pads: [g.ph, g.pw, g.ph, g.pw] };
}

export async function networkToOnnx(model: Sequential, options: { name?: string; quantized?: 'qdq' | 'float' } = {}): Promise<Uint8Array> {
  const qdq = (options.quantized ?? 'qdq') === 'qdq';
  const graph = new ProtoWriter();
  const initializers: ProtoWriter[] = [];
  const add = (op: string, inputs: string[], output: string, attributes: Record<string, number | number[] | { float: number }> = {}) => {
    graph.message(1, node(op, inputs, [output], output, attributes));
    return output;
  };
  let h = 'input';
  let nchw = false;
  if (model.inputShape.length === 3) {
    initializers.push(tensor('image_shape', INT64, [4], bytesOf(BigInt64Array.from([0n, ...model.inputShape.map(BigInt)]))));
    h = add('Transpose', [add('Reshape', [h, 'image_shape'], 'image_nhwc')], 'image_nchw', { perm: [0, 3, 1, 2] });
    nchw = true;
  }
  const last = model.stages.length - 1;
  for (const [i, s] of model.stages.entries()) {
    const spec = s.spec;
    const at = `stage${i}`;
    if (spec.type === 'flatten') {
      if (nchw) h = add('Transpose', [h], `${at}.nhwc`, { perm: [0, 2, 3, 1] });
      h = add('Flatten', [h], `${at}.flat`, { axis: 1 });
      nchw = false;
      continue;
    }
    if (spec.type === 'dropout') continue; // identity at inference, as ONNX's Dropout there
    if (spec.type === 'batchNorm') {
      const n = model.norms[s.norm!]!;
      const [gamma, beta, running] = await Promise.all([n.gamma.read(), n.beta.read(), n.running.read()]);
      const c = gamma.length;
      const values = { scale: gamma, bias: beta, mean: running.slice(0, c), var: running.slice(c) };
      for (const [name, v] of Object.entries(values)) initializers.push(tensor(`${at}.${name}`, FLOAT, [c], bytesOf(v)));
      const op = ACTIVATION_OPS[s.activation];
      h = add('BatchNormalization', [h, ...Object.keys(values).map((name) => `${at}.${name}`)], op ? `${at}.z` : `${at}.y`, { epsilon: { float: normSettings(s).eps } });
      if (op) h = add(op, [h], `${at}.a`);
      continue;
    }
    if (spec.type === 'maxPool2d' || spec.type === 'avgPool2d') {
      h = add(spec.type === 'maxPool2d' ? 'MaxPool' : 'AveragePool', [h], at, { ...windowAttributes(s), ...(spec.type === 'avgPool2d' ? { count_include_pad: 1 } : {}) });
      continue;
    }
    const layer = model.layers[s.param!]!;
    const [w, b] = [await layer.weight.read(), await layer.bias.read()];
    initializers.push(tensor(`${at}.bias`, FLOAT, [layer.units], bytesOf(b)));
    const op = ACTIVATION_OPS[s.activation];
    const z = i === last && !op ? 'output' : `${at}.z`;
    // The weight as floats, or (a min-max quantized layer) as QDQ integers per filter or unit.
    const weight = async (values: Float32Array, dims: number[], channelOf: (e: number) => number, axis: number) => {
      if (qdq && writesQdq(layer.quant)) graph.message(1, await qdqWeight(`${at}.weight`, values, dims, channelOf, axis, layer.quant, initializers));
      else initializers.push(tensor(`${at}.weight`, FLOAT, dims, bytesOf(values)));
    };
    if (spec.type === 'conv2d') {
      const g = stageWindow(s, 1);
      const perFilter = g.c * g.kh * g.kw;
      await weight(hwioToOihw(w, g.kh, g.kw, g.c, layer.units), [layer.units, g.c, g.kh, g.kw], (e) => Math.floor(e / perFilter), 0);
      h = add('Conv', [h, `${at}.weight`, `${at}.bias`], z, windowAttributes(s));
    } else {
      await weight(w, [layer.inputs, layer.units], (e) => e % layer.units, 1);
      h = add('Gemm', [h, `${at}.weight`, `${at}.bias`], z);
    }
    if (op) h = add(op, [h], i === last ? 'output' : `${at}.a`);
  }
  graph.string(2, options.name ?? 'shrinkray_network');
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo('input', model.inputs));
  graph.message(12, valueInfo('output', model.outputs));
  return new ProtoWriter().int(1, IR_VERSION).string(2, 'shrinkray').string(3, '0.1.0').message(7, graph).message(8, new ProtoWriter().string(1, '').int(2, OPSET)).finish();
}
