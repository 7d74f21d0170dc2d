/** shrinkray inspect: a model file's layers, sparsity, bit widths and size. */
import { statSync } from 'node:fs';
import { pruneReport } from '../../compress/prune.js';
import { compressedSize } from '../../compress/size.js';
import { requiredString } from '../args.js';
import type { Command } from '../command.js';
import { openModel } from '../models.js';
import { bitsOf } from '../variants.js';

export const inspect: Command = {
  name: 'inspect',
  summary: "a model file's layers, sparsity, bits and size",
  usage: 'shrinkray inspect FILE',
  options: {},
  positionals: 1,
  async run(ctx) {
    const { out } = ctx;
    const file = ctx.positionals[0] ?? requiredString(ctx.values, 'model', 'FILE (or a positional FILE)');
    const device = await ctx.device();
    const { model, metadata } = openModel(device, file);
    const pr = await pruneReport(model);
    const bits = bitsOf(model);
    const size = await compressedSize(model, { bits });
    const layers = model.layers.map((l, i) => ({
      layer: i + 1,
      inputs: l.inputs,
      units: l.units,
      activation: l.activation,
      parameters: l.inputs * l.units + l.units,
      sparsity: pr.layers[i]!.sparsity,
      masked: !!l.mask,
      bits: l.quant?.spec.bits ?? 32,
      quantization: l.quant ? `${l.quant.spec.bits}-bit ${l.quant.spec.symmetric === false ? 'affine' : 'symmetric'} ${l.quant.spec.perChannel === false ? 'per tensor' : 'per channel'}` : 'float32',
    }));
    out.log(`${file}: ${[model.inputs, ...model.layers.map((l) => l.units)].join('-')}, ${model.parameterCount().toLocaleString('en-US')} parameters, file ${statSync(file).size.toLocaleString('en-US')} bytes`);
    for (const l of layers)
      out.log(`  layer ${l.layer}: ${l.inputs} -> ${l.units} ${l.activation.padEnd(8)} ${l.parameters.toString().padStart(8)} parameters, ${(l.sparsity * 100).toFixed(1).padStart(5)} % pruned, ${l.quantization}`);
    out.log(`  overall: ${(pr.sparsity * 100).toFixed(1)} % of weights pruned, ${pr.flopsKept.toLocaleString('en-US')} of ${pr.flopsDense.toLocaleString('en-US')} FLOPs per row; compressed ${size.totalBytes.toLocaleString('en-US')} bytes (${size.ratio.toFixed(1)}x smaller than float32, index: ${size.index})`);
    for (const k of ['data', 'note', 'created']) if (metadata[k]) out.log(`  ${k}: ${metadata[k]}`);
    out.result({ file, architecture: [model.inputs, ...model.layers.map((l) => l.units)], parameters: model.parameterCount(), sparsity: pr.sparsity, bits, size, layers, metadata });
    model.dispose();
  },
};
