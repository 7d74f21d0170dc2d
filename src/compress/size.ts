/**
 * Honest size accounting for pruned and quantized models (Deep Compression style): bytes of the
 * kept values at `bits` each, their positions (relative indices, as Han et al. 2016, or a
 * bitmap: the smaller is chosen and both are reported), the quantization scales and zero points,
 * and the biases at 32 bits. The dense float32 model is the baseline.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MLP } from '../nn/mlp.js';

export interface SizeReport {
  denseBytes: number;
  valueBytes: number;
  /** Relative-index encoding: a gap per kept value in indexBits bits; gaps too long for them insert filler zeros. */
  relativeIndexBytes: number;
  fillers: number;
  bitmapBytes: number;
  index: 'relative' | 'bitmap' | 'dense';
  scaleBytes: number;
  biasBytes: number;
  totalBytes: number;
  /** denseBytes / totalBytes */
  ratio: number;
}

export async function compressedSize(model: MLP, options: { bits: number; indexBits?: number } = { bits: 32 }): Promise<SizeReport> {
  const bits = options.bits;
  const indexBits = options.indexBits ?? 5;
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new InvalidArgumentError(`bits must be from 1 to 32, got ${bits}.`);
  if (!Number.isInteger(indexBits) || indexBits < 1 || indexBits > 16) throw new InvalidArgumentError(`indexBits must be from 1 to 16, got ${indexBits}.`);
  let weights = 0, biases = 0, kept = 0, fillers = 0, channels = 0, anyMask = false;
  const maxGap = 2 ** indexBits - 1;
  for (const l of model.layers) {
    weights += l.inputs * l.units;
    biases += l.units;
    channels += l.quant ? (l.quant.spec.perChannel === false ? 1 : l.units) : 0;
    const w = await l.weight.read();
    anyMask ||= !!l.mask;
    // Positions of kept (nonzero) weights in row-major order; gaps longer than maxGap need fillers.
    let last = -1;
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) continue;
      kept++;
      const gap = i - last;
      fillers += Math.floor((gap - 1) / maxGap);
      last = i;
    }
  }
  const zeroPointBytes = model.layers.some((l) => l.quant && l.quant.spec.symmetric === false) ? 1 : 0;
  const valueBytes = Math.ceil((kept * bits) / 8);
  const relativeIndexBytes = Math.ceil((kept * indexBits + fillers * (indexBits + bits)) / 8);
  const bitmapBytes = Math.ceil(weights / 8);
  const scaleBytes = channels * (4 + zeroPointBytes);
  const biasBytes = 4 * biases;
  const denseBytes = 4 * (weights + biases);
  // An unpruned model stores every value in order and needs no positions at all.
  const index = !anyMask && kept === weights ? 'dense' : relativeIndexBytes <= bitmapBytes ? 'relative' : 'bitmap';
  const indexBytes = index === 'dense' ? 0 : Math.min(relativeIndexBytes, bitmapBytes);
  const totalBytes = (index === 'dense' ? Math.ceil((weights * bits) / 8) : valueBytes) + indexBytes + scaleBytes + biasBytes;
  return { denseBytes, valueBytes, relativeIndexBytes, fillers, bitmapBytes, index, scaleBytes, biasBytes, totalBytes, ratio: denseBytes / totalBytes };
}
