/**
 * One truth for size: the byte length of the file saveModel writes, because compressedSize
 * encodes that very file (io/model-file.ts) and measures it. The breakdown counts every tensor's
 * bytes by part; the header (length field, JSON and padding) is the rest. The baseline is the
 * same architecture written as a dense float32 file with the same metadata.
 */
import type { Model } from '../nn/model.js';
import { encodeLayers, networkMetadata, readLayers, readNorms, type EncodedModel, type EncodeOptions } from '../io/model-file.js';
import type { WeightEncoding } from '../io/layer-codec.js';

export interface SizeOptions extends EncodeOptions {
  /** The metadata the file will carry (saveModel's third argument): it is part of the file's size. */
  metadata?: Record<string, string>;
}

export interface SizeReport {
  /** Bytes of the file saveModel(model, path, metadata, options) writes. */
  totalBytes: number;
  /** Where they go: values, positions (sparse indices), code tables (Huffman), codebooks, scales, biases, masks (bias masks), norms (batch norms' parameters and running averages), header. */
  parts: EncodedModel['parts'];
  /** Each layer's chosen encoding (positions, index width, raw or Huffman streams). */
  layers: WeightEncoding[];
  /** Bytes of the same architecture as a dense float32 file with the same metadata. */
  denseBytes: number;
  /** denseBytes / totalBytes */
  ratio: number;
}

export async function compressedSize(model: Model, options: SizeOptions = {}): Promise<SizeReport> {
  const { metadata: given = {}, ...encode } = options;
  const metadata = { ...given, ...networkMetadata(model) };
  const layers = await readLayers(model);
  const norms = await readNorms(model);
  const file = encodeLayers(layers, metadata, encode, norms);
  const dense = encodeLayers(
    layers.map(({ inputs, units, activation, weight, bias }) => ({ inputs, units, activation, weight, bias })),
    metadata,
    {},
    norms,
  );
  return { totalBytes: file.bytes.length, parts: file.parts, layers: file.encodings, denseBytes: dense.bytes.length, ratio: dense.bytes.length / file.bytes.length };
}
