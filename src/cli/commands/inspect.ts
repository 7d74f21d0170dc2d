/** shrinkray inspect: a model file's layers, sparsity, quantization, encoding and size. */
import { statSync } from 'node:fs';
import { pruneReport } from '../../compress/prune.js';
import { compressedSize } from '../../compress/size.js';
import { requiredString } from '../args.js';
import type { Command } from '../command.js';
import { openModel } from '../models.js';
import { bitsOf } from '../variants.js';

export const inspect: Command = {
  name: 'inspect',
  summary: "a model file's layers, sparsity, quantization, encoding and byte size",
  usage: 'shrinkray inspect FILE',
  options: {},
  positionals: 1,
  async run(ctx) {
    const { out } = ctx;
    const file = ctx.positionals[0] ?? requiredString(ctx.values, 'model', 'FILE (or a positional FILE)');
    const device = await ctx.device();
    const { model, metadata } = openModel(device, file);
    const fileBytes = statSync(file).size;
    const pr = await pruneReport(model);
    const bits = bitsOf(model);
    // The file as this version would write it again (the same metadata): its encoding per layer and breakdown.
    const size = await compressedSize(model, { metadata, float16: metadata.encoding?.includes('"bias":"f16"') });
    const layers = model.layers.map((l, i) => {
      const q = l.quant?.spec;
      const e = size.layers[i]!;
      return {
        layer: i + 1,
        inputs: l.inputs,
        units: l.units,
        activation: l.activation,
        parameters: l.inputs * l.units + l.units,
        sparsity: pr.layers[i]!.sparsity,
        masked: !!l.mask,
        bits: q?.bits ?? 32,
        quantization: !q
          ? 'float'
          : q.method === 'kmeans'
            ? `k-means ${2 ** q.bits} shared values (${q.bits}-bit)`
            : q.method === 'binary' || q.method === 'ternary'
              ? `${q.method} ${q.perChannel === false ? 'per tensor' : 'per channel'}`
              : `${q.bits}-bit ${q.symmetric === false ? 'affine' : 'symmetric'} ${q.perChannel === false ? 'per tensor' : 'per channel'}`,
        encoding: `${e.positions === 'relative' ? `relative ${e.indexBits}-bit indices (${e.positionsCode})` : e.positions} positions, ${e.values === 'codes' ? `${e.valuesCode} codes` : e.values} values`,
      };
    });
    out.log(`${file}: ${[model.inputs, ...model.layers.map((l) => l.units)].join('-')}, ${model.parameterCount().toLocaleString('en-US')} parameters, file ${fileBytes.toLocaleString('en-US')} bytes (version ${metadata.version})`);
    for (const l of layers)
      out.log(`  layer ${l.layer}: ${l.inputs} -> ${l.units} ${l.activation.padEnd(8)} ${l.parameters.toString().padStart(8)} parameters, ${(l.sparsity * 100).toFixed(1).padStart(5)} % pruned, ${l.quantization}; ${l.encoding}`);
    const parts = Object.entries(size.parts).filter(([, b]) => b > 0).map(([k, b]) => `${k} ${b.toLocaleString('en-US')}`).join(', ');
    out.log(`  overall: ${(pr.sparsity * 100).toFixed(1)} % of weights pruned, ${pr.flopsKept.toLocaleString('en-US')} of ${pr.flopsDense.toLocaleString('en-US')} FLOPs per row; ${(size.denseBytes / fileBytes).toFixed(1)}x smaller than as dense float32 (${size.denseBytes.toLocaleString('en-US')} bytes)`);
    out.log(`  bytes by part (as this version writes it, ${size.totalBytes.toLocaleString('en-US')} in all): ${parts}`);
    for (const k of ['data', 'note', 'created']) if (metadata[k]) out.log(`  ${k}: ${metadata[k]}`);
    out.result({ file, fileBytes, architecture: [model.inputs, ...model.layers.map((l) => l.units)], parameters: model.parameterCount(), sparsity: pr.sparsity, bits, size, layers, metadata });
    model.dispose();
  },
};
