/** shrinkray quantize: weight quantization (min-max, k-means sharing, binary, ternary), post-training or trained. */
import { basename } from 'node:path';
import { quantizeWeights } from '../../compress/quantize.js';
import { normalizeSpec, QUANT_METHODS, type QuantRequest, type QuantSpec } from '../../nn/quant-spec.js';
import { evaluate } from '../../nn/evaluate.js';
import { choiceOf, numberOf, requiredString, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, outputOf, SAVE_OPTIONS, writeModel } from '../models.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { trainWithProgress } from '../../study/progress.js';
import { quantizationAware } from '../../compress/qat.js';
import { withBatchNormFolded } from '../../compress/fold.js';
import type { Sequential } from '../../nn/sequential.js';

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize weights: min-max 2-8 bits, k-means sharing 1-8 bits, binary or ternary; post-training, or trained with --epochs',
  usage: 'shrinkray quantize --model FILE [--method minmax|kmeans|binary|ternary] [--bits 8] [--per-tensor] [--affine] [--epochs N] --model-out FILE',
  description:
    'minmax: per-channel scales (PyTorch MinMaxObserver); with --epochs, quantization-aware training.\nkmeans: weight sharing (Deep Compression): 2^bits shared values per layer; with --epochs, the shared values are\nfine-tuned with the gradients summed per cluster. binary (XNOR-Net) and ternary (TWN): +-alpha per channel; with\n--epochs, quantization-aware training. The model file stores the codes bit-packed (Huffman coded where smaller).',
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...trainOptions({ epochs: 'none: post-training; N > 0 trains quantized', lr: 0.005 }),
    model: { type: 'string', arg: 'FILE', help: 'the model to quantize' },
    method: { type: 'string', arg: 'NAME', default: 'minmax', help: `${QUANT_METHODS.join(', ')}` },
    bits: { type: 'string', arg: 'N', help: 'bit width: minmax 2-8 (default 8), kmeans 1-8 (default 5); binary and ternary imply theirs' },
    'per-tensor': { type: 'boolean', help: 'one scale per layer instead of one per output channel (minmax, binary, ternary)' },
    affine: { type: 'boolean', help: 'minmax: affine (with a zero point) instead of symmetric' },
    'model-out': { type: 'string', arg: 'FILE', default: 'quantized.safetensors', help: 'where the quantized model goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const method = choiceOf(values, 'method', QUANT_METHODS);
    const bits = values.bits === undefined ? undefined : numberOf(values, 'bits', { integer: true, min: 1, max: 8 });
    const request: QuantRequest =
      method === 'kmeans'
        ? { method, bits: bits ?? 5 }
        : method === 'minmax'
          ? { bits: bits ?? 8, perChannel: !values['per-tensor'], symmetric: !values.affine }
          : { method, bits, perChannel: !values['per-tensor'] };
    let spec: QuantSpec;
    try {
      spec = normalizeSpec(request);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const trained = values.epochs !== undefined && numberOf(values, 'epochs', { integer: true, min: 0 }) > 0;
    const options = fitOptionsOf({ ...values, epochs: trained ? values.epochs : undefined }, { epochs: 1, lr: 0.005 });
    const target = outputOf(values, 'model-out'); // checked before the work, not after it
    const device = await ctx.device();
    const opened = openModel(device, file, out);
    const { train, test } = loadDataFor(values, opened.standardizer, opened.classNames);
    const before = await evaluate(opened.model, test);
    // Quantization works on folded weights: batch norms go into the layers before them (the same predictions).
    const model = await withBatchNormFolded(opened.model);
    if (model !== opened.model) {
      out.log(`batch norms folded into the layers before them: ${(opened.model as Sequential).describe()} -> ${(model as Sequential).describe()}`);
      opened.model.dispose();
    }
    const how = method === 'kmeans' ? (trained ? 'k-means sharing with fine-tuned shared values' : 'k-means sharing') : trained ? 'quantization-aware training' : 'post-training quantization';
    if (method === 'kmeans') {
      await quantizeWeights(model, spec);
      if (trained) await trainWithProgress(out, `fine-tuning ${2 ** spec.bits} shared values`, model, train, options, test);
    } else if (trained) await trainWithProgress(out, `QAT ${method} ${spec.bits}-bit`, model, train, { ...options, hooks: [quantizationAware(spec)] }, test);
    else await quantizeWeights(model, spec);
    const after = await evaluate(model, test);
    const bytes = await writeModel(model, target, {
      float16: !!values.float16,
      note: `${method} ${spec.bits}-bit ${how} of ${basename(file)}`,
      standardizer: opened.standardizer,
      classNames: opened.classNames,
      data: opened.metadata.data,
    });
    out.log(
      `${method} ${spec.bits}-bit ${how}: test accuracy ${(before.accuracy * 100).toFixed(2)} % -> ${(after.accuracy * 100).toFixed(2)} %; ${target}: ${bytes.toLocaleString('en-US')} bytes (${file}: ${opened.fileBytes.toLocaleString('en-US')} bytes, ${(opened.fileBytes / bytes).toFixed(1)}x smaller)`,
    );
    out.result({ model: target, spec, trained, before, after, bytes, inputBytes: opened.fileBytes });
    model.dispose();
  },
};
