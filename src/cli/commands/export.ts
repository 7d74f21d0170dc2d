/** shrinkray export: a model as ONNX (or its plain float weights as safetensors). */
import { writeFileAtomic } from '../../io/files.js';
import { modelToOnnx } from '../../io/onnx.js';
import { choiceOf, requiredString, stringOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { openModel, outputOf } from '../models.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a model as ONNX (opset 13; quantized layers in QDQ form or as float; a convolutional network as Conv, pooling and Gemm)',
  usage: 'shrinkray export --model FILE --format onnx [--quantized qdq|float] --model-out FILE.onnx',
  description:
    "Each layer is a Gemm and its activation; input 'input' [batch, inputs], output 'output' (logits).\nQuantized layers: integer weights + DequantizeLinear (qdq, the default), or dequantized float weights.\nA CSV model's standardization is not part of the graph: apply it to inputs first (see inspect).",
  options: {
    model: { type: 'string', arg: 'FILE', help: 'the model (safetensors)' },
    format: { type: 'string', arg: 'NAME', default: 'onnx', help: 'onnx' },
    quantized: { type: 'string', arg: 'FORM', default: 'qdq', help: 'qdq or float' },
    'model-out': { type: 'string', arg: 'FILE', help: 'the file to write (default: the model name with .onnx)' },
    output: { type: 'string', short: 'o', arg: 'FILE', help: 'the same as --model-out (its name in 0.1)' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    choiceOf(values, 'format', ['onnx'] as const);
    const quantized = choiceOf(values, 'quantized', ['qdq', 'float'] as const);
    if (values['model-out'] !== undefined && values.output !== undefined) throw new UsageError('give --model-out or --output, not both (they name the same file)');
    const given = stringOf(values, 'model-out') ?? stringOf(values, 'output');
    const target = outputOf(values, values.output !== undefined ? 'output' : 'model-out', given ?? `${file.replace(/\.safetensors$/i, '')}.onnx`);
    const device = await ctx.device();
    const { model } = openModel(device, file, out);
    const bytes = await modelToOnnx(model, { quantized });
    writeFileAtomic(target, bytes);
    // The nodes the graph holds: Conv and Gemm layers (and a network's batch norms).
    const stages = 'stages' in model ? model.stages : [];
    const count = (type: string) => stages.filter((s) => s.spec.type === type).length;
    const convs = count('conv2d');
    const norms = count('batchNorm');
    const nodes = `${convs ? `${convs} Conv, ` : ''}${model.layers.length - convs} Gemm${norms ? `, ${norms} BatchNormalization` : ''} layers`;
    out.log(`wrote ${target}: ONNX opset 13, ${bytes.length.toLocaleString('en-US')} bytes, ${nodes}${model.layers.some((l) => l.quant) ? `, quantized weights as ${quantized}` : ''}`);
    out.result({ model: file, output: target, bytes: bytes.length, quantized });
    model.dispose();
  },
};
