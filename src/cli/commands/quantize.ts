/** shrinkray quantize: min-max weight quantization, post-training or quantization-aware. */
import { quantizeWeights, type QuantSpec } from '../../compress/quantize.js';
import { compressedSize } from '../../compress/size.js';
import { evaluate } from '../../nn/train.js';
import { numberOf, requiredString, stringOf } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, writeModel } from '../models.js';
import { TRAIN_OPTIONS, fitOptionsOf, trainWithProgress } from '../training.js';

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a model to 2-8 bits, post-training (PTQ) or with quantization-aware training (--epochs)',
  usage: 'shrinkray quantize --model FILE [--bits 8] [--per-tensor] [--affine] [--epochs N] --model-out FILE',
  options: {
    ...DATA_OPTIONS,
    ...TRAIN_OPTIONS,
    model: { type: 'string', arg: 'FILE', help: 'the model to quantize' },
    bits: { type: 'string', arg: 'N', default: '8', help: 'bit width, 2 to 8' },
    'per-tensor': { type: 'boolean', help: 'one scale per layer instead of one per output channel' },
    affine: { type: 'boolean', help: 'affine (with a zero point) instead of symmetric' },
    'model-out': { type: 'string', arg: 'FILE', default: 'quantized.safetensors', help: 'where the quantized model goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const spec: QuantSpec = { bits: numberOf(values, 'bits', { integer: true, min: 2, max: 8 }), perChannel: !values['per-tensor'], symmetric: !values.affine };
    const qat = values.epochs !== undefined && numberOf(values, 'epochs', { integer: true, min: 0 }) > 0;
    const options = fitOptionsOf({ ...values, epochs: qat ? values.epochs : undefined }, { epochs: 1, lr: 0.005 });
    const device = await ctx.device();
    const opened = openModel(device, file);
    const { model } = opened;
    const { train, test } = loadDataFor(values, opened.standardizer);
    const before = await evaluate(model, test);
    if (qat) await trainWithProgress(out, `QAT ${spec.bits}-bit`, model, train, { ...options, quantization: spec }, test);
    else quantizeWeights(model, spec);
    const after = await evaluate(model, test);
    const size = await compressedSize(model, { bits: spec.bits });
    const target = stringOf(values, 'model-out')!;
    await writeModel(model, target, { note: `${spec.bits}-bit ${qat ? 'QAT' : 'PTQ'} of ${file}`, standardizer: opened.standardizer, data: opened.metadata.data });
    out.log(`${spec.bits}-bit ${qat ? 'quantization-aware training' : 'post-training quantization'}: test accuracy ${(before.accuracy * 100).toFixed(2)} % -> ${(after.accuracy * 100).toFixed(2)} %, ${size.totalBytes.toLocaleString('en-US')} bytes (${size.ratio.toFixed(1)}x smaller); saved ${target}`);
    out.result({ model: target, spec, qat, before, after, size });
    model.dispose();
  },
};
