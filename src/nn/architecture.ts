/**
 * A compact way to write a network: comma-separated layers, as the CLI's --layers takes them and
 * layerName writes them back.
 *   conv20k5        20 filters of 5x5 (k3x5 for 3 rows by 5 columns), s2 stride, p1 padding
 *   maxpool2        2x2 max pooling (stride = size unless s is given), avgpool2 likewise
 *   flatten         explicit (a dense layer after images flattens by itself)
 *   dropout0.5      dropout at rate 0.5 in training (identity otherwise)
 *   bn              batch norm (PyTorch's defaults: eps 1e-5, momentum 0.1) of the convolution or
 *                   dense layer before it, which then has no activation: relu comes after the bn
 *   500             a dense layer of 500 units
 * Presets: lenet5 = conv20k5,maxpool2,conv50k5,maxpool2,500 (Caffe's LeNet-5, Han et al.'s); the
 * output layer comes from the data (its classes).
 */
import { InvalidArgumentError } from '../errors.js';
import type { LayerSpec } from './sequential.js';

export const PRESETS: Record<string, string> = {
  lenet5: 'conv20k5,maxpool2,conv50k5,maxpool2,500',
};

const SIZE = '(\\d+)(?:x(\\d+))?';
const CONV = new RegExp(`^conv(\\d+)k${SIZE}(?:s${SIZE})?(?:p${SIZE})?$`);
const POOL = new RegExp(`^(max|avg)pool${SIZE}(?:s${SIZE})?(?:p${SIZE})?$`);

const pair = (a: string, b: string | undefined): number | [number, number] => (b === undefined ? Number(a) : [Number(a), Number(b)]);

/** The layers a compact description names, a preset standing for its layers (lenet5,10); throws InvalidArgumentError naming the token it cannot read. */
export function parseLayers(text: string): LayerSpec[] {
  return text.split(',').flatMap((raw) => {
    const preset = PRESETS[raw.trim()];
    return preset ? parseLayers(preset) : [parseLayer(raw.trim())];
  });
}

function parseLayer(token: string): LayerSpec {
  let m = CONV.exec(token);
  if (m)
    return {
      type: 'conv2d',
      filters: Number(m[1]),
      kernel: pair(m[2]!, m[3]),
      ...(m[4] ? { stride: pair(m[4], m[5]) } : {}),
      ...(m[6] ? { padding: pair(m[6], m[7]) } : {}),
    };
  m = POOL.exec(token);
  if (m) return { type: m[1] === 'max' ? 'maxPool2d' : 'avgPool2d', kernel: pair(m[2]!, m[3]), ...(m[4] ? { stride: pair(m[4], m[5]) } : {}), ...(m[6] ? { padding: pair(m[6], m[7]) } : {}) };
  if (token === 'flatten') return { type: 'flatten' };
  if (token === 'bn') return { type: 'batchNorm' };
  const drop = /^dropout(\d*\.?\d+)$/.exec(token);
  if (drop && Number(drop[1]) < 1) return { type: 'dropout', rate: Number(drop[1]) };
  if (/^\d+$/.test(token)) return { type: 'dense', units: Number(token) };
  throw new InvalidArgumentError(
    `'${token}' is not a layer: use conv<filters>k<size>[s<stride>][p<padding>], maxpool<size>[s<stride>], avgpool<size>[s<stride>], flatten, dropout<rate below 1>, bn, a width, or a preset (${Object.keys(PRESETS).join(', ')}).`,
  );
}

/** Whether a description has layers an MLP cannot hold (convolutions, pooling, flatten, dropout, batch norm). */
export function isNetwork(layers: LayerSpec[]): boolean {
  return layers.some((l) => l.type !== 'dense');
}
