/**
 * The model a training command builds from --layers (widths, a network in the compact notation of
 * nn/architecture.ts, or a preset) and --arch: an MLP for widths, a Sequential model otherwise,
 * its input shape from --input or the data's own images, the output layer from the data.
 */
import type { Dataset } from '../data/dataset.js';
import { InvalidArgumentError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Activation } from '../kernels/gemm.js';
import { isNetwork, parseLayers, PRESETS } from '../nn/architecture.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { type LayerSpec, Sequential } from '../nn/sequential.js';
import { type Options, stringOf, UsageError, type Values } from './args.js';

export const NETWORK_OPTIONS: Options = {
  layers: {
    type: 'string',
    arg: 'LAYERS',
    default: '300,100',
    help: 'hidden layers: widths (300,100) or a network (conv20k5,maxpool2,conv50k5,maxpool2,500; bn after a layer for batch norm, dropout0.5); the output layer comes from the data',
  },
  arch: { type: 'string', arg: 'NAME', help: `a preset network instead of --layers: ${Object.keys(PRESETS).join(', ')}` },
  input: { type: 'string', arg: 'HxWxC', help: "each row's image shape for convolutions (default: the data's, 28x28x1 for MNIST)" },
};

/** The hidden layers the options name (--arch, or the option `name`: --layers, or distill's --student). */
export function layersOf(values: Values, name = 'layers'): LayerSpec[] {
  const arch = stringOf(values, 'arch');
  if (arch !== undefined && !(arch in PRESETS)) throw new UsageError(`--arch must be one of ${Object.keys(PRESETS).join(', ')}, not '${arch}'`);
  const text = arch ?? stringOf(values, name) ?? '';
  if (text.trim() === '') return [];
  try {
    return parseLayers(text);
  } catch (e) {
    throw e instanceof InvalidArgumentError ? new UsageError(`--${name}: ${e.message}`) : e;
  }
}

/** A new model for the data: an MLP when every layer is dense, a Sequential model otherwise. */
export function buildModel(device: Device, values: Values, data: Dataset, outputs: number, options: { activation: Activation; seed?: number | undefined; option?: string }): Model {
  const hidden = layersOf(values, options.option);
  if (!isNetwork(hidden)) return MLP.create(device, [data.cols, ...hidden.map((l) => (l as { units: number }).units), outputs], options);
  const given = stringOf(values, 'input');
  const input = given === undefined ? data.imageShape : given.split('x').map(Number);
  if (!input) throw new UsageError("convolution and pooling layers need images: use --data mnist or idx, or give each row's shape with --input HxWxC");
  if (input.length !== 3 || !input.every((d) => Number.isInteger(d) && d > 0) || input[0]! * input[1]! * input[2]! !== data.cols)
    throw new UsageError(`--input ${given} must be HxWxC with H * W * C = the data's ${data.cols} columns`);
  // The hidden activation goes to each convolution and dense layer, or to its batch norm when one follows it.
  const layers = hidden.map((l, i) => {
    const normed = hidden[i + 1]?.type === 'batchNorm';
    if (l.type === 'batchNorm' || ((l.type === 'conv2d' || l.type === 'dense') && !normed)) return { ...l, activation: options.activation };
    return l;
  });
  return Sequential.create(device, { input, layers: [...layers, { type: 'dense', units: outputs, activation: 'identity' }], seed: options.seed ?? 0 });
}

export { architectureOfModel as architectureName } from '../study/variants.js';
