/** shrinkray inspect: a model file's layers, sparsity, quantization, encoding and size. */
import { pruneReport } from '../../compress/prune.js';
import { compressedSize } from '../../compress/size.js';
import { requiredString } from '../args.js';
import type { Command } from '../command.js';
import { openModel } from '../models.js';
import { describeFile } from '../../io/model-file.js';
import { bitsOf } from '../../study/variants.js';
import { Sequential } from '../../nn/sequential.js';
import { architectureName } from '../network.js';

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
    const { model, metadata, bytes } = openModel(device, file, out);
    const fileBytes = bytes.length;
    const pr = await pruneReport(model);
    const bits = bitsOf(model);
    // The file's own encoding and bytes by part, read from its header; the dense baseline is a
    // float32 file of the same architecture and metadata.
    const described = describeFile(bytes);
    const { denseBytes } = await compressedSize(model, { metadata });
    const layers = model.layers.map((l, i) => {
      const q = l.quant?.spec;
      const e = described.encodings?.[i];
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
        encoding: e
          ? `${e.positions === 'relative' ? `relative ${e.indexBits}-bit indices (${e.positionsCode})` : e.positions} positions, ${e.values === 'codes' ? `${e.valuesCode} codes` : e.values} values`
          : 'version 1 layout',
      };
    });
    out.log(`${file}: ${architectureName(model)}, ${model.parameterCount().toLocaleString('en-US')} parameters, file ${fileBytes.toLocaleString('en-US')} bytes (version ${metadata.version})`);
    for (const l of layers)
      out.log(
        `  layer ${l.layer}: ${l.inputs} -> ${l.units} ${l.activation.padEnd(8)} ${l.parameters.toString().padStart(8)} parameters, ${(l.sparsity * 100).toFixed(1).padStart(5)} % pruned, ${l.quantization}; ${l.encoding}`,
      );
    const parts = Object.entries(described.parts)
      .filter(([, b]) => b > 0)
      .map(([k, b]) => `${k} ${b.toLocaleString('en-US')}`)
      .join(', ');
    out.log(
      `  overall: ${(pr.sparsity * 100).toFixed(1)} % of weights pruned, ${pr.flopsKept.toLocaleString('en-US')} of ${pr.flopsDense.toLocaleString('en-US')} FLOPs per row; ${(denseBytes / fileBytes).toFixed(1)}x smaller than the same model as a dense float32 file (${denseBytes.toLocaleString('en-US')} bytes)`,
    );
    out.log(`  bytes by part: ${parts}`);
    for (const k of ['data', 'note', 'created']) if (metadata[k]) out.log(`  ${k}: ${metadata[k]}`);
    out.result({
      file,
      fileBytes,
      version: described.version,
      parts: described.parts,
      denseBytes,
      architecture: model instanceof Sequential ? model.describe() : model.widths,
      parameters: model.parameterCount(),
      sparsity: pr.sparsity,
      bits,
      layers,
      metadata,
    });
    model.dispose();
  },
};
