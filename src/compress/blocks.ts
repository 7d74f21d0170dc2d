/**
 * Block sparsity, as TF Model Optimization's `block_size`: a weight [inputs, units] is cut into
 * blocks of `rows` consecutive inputs by `cols` consecutive units (the last ones shorter where
 * the shape is not a multiple), each block is scored by the mean |w| of its cells (TF-MOT's
 * default AVG pooling), and whole blocks are kept or pruned. Kept blocks are what the block-sparse
 * inference kernel runs (kernels/block-sparse.ts): 4 x 4 blocks let it reuse each loaded input for
 * four units, where single weights reuse nothing (bench/RESULTS.md).
 */
import { InvalidArgumentError } from '../errors.js';

/** [inputs, units] of one block. */
export type BlockShape = readonly [number, number];

export function checkBlock(block: BlockShape): void {
  if (block.length !== 2 || !block.every((b) => Number.isInteger(b) && b >= 1 && b <= 64))
    throw new InvalidArgumentError(`A block is two whole numbers [inputs, units], each 1 to 64, got [${block.join(', ')}].`);
}

const isOne = (block: BlockShape | readonly BlockShape[]): block is BlockShape => typeof block[0] === 'number';

/** Checks one block shape, or one per layer. */
export function checkBlocks(block: BlockShape | readonly BlockShape[]): void {
  for (const b of isOne(block) ? [block] : block) checkBlock(b);
}

/** One block shape per layer, from one for all or one each ([1, 1] is single weights). */
export function layerBlocks(block: BlockShape | readonly BlockShape[], layers: number): BlockShape[] {
  checkBlocks(block);
  const blocks = isOne(block) ? Array.from({ length: layers }, () => block) : [...block];
  if (blocks.length !== layers) throw new InvalidArgumentError(`${blocks.length} block shapes for ${layers} layers: give one for all or one per layer.`);
  return blocks;
}

/** Blocks along the inputs and along the units of a weight [inputs, units]. */
export function blockGrid(inputs: number, units: number, [br, bc]: BlockShape): [number, number] {
  return [Math.ceil(inputs / br), Math.ceil(units / bc)];
}

/** Mean |w| of each block, row-major over the block grid. */
export function blockScores(weight: Float32Array, inputs: number, units: number, block: BlockShape): Float32Array {
  const [br, bc] = block;
  const [gr, gc] = blockGrid(inputs, units, block);
  const sums = new Float64Array(gr * gc);
  for (let k = 0; k < inputs; k++) {
    const row = Math.floor(k / br) * gc;
    for (let n = 0; n < units; n++) sums[row + Math.floor(n / bc)]! += Math.abs(weight[k * units + n]!);
  }
  const scores = new Float32Array(gr * gc);
  for (let i = 0; i < gr; i++)
    for (let j = 0; j < gc; j++) {
      const cells = (Math.min(br, inputs - i * br) * Math.min(bc, units - j * bc)) | 0;
      scores[i * gc + j] = sums[i * gc + j]! / cells;
    }
  return scores;
}

/**
 * Keeps the `keep` best-scored blocks over all the given score arrays together (one per layer, or
 * one alone): higher mean |w| first, ties by layer and then by block index, so the count is exact.
 * Returns a 0/1 flag per block.
 */
export function keepBest(scores: readonly Float32Array[], keep: number): Uint8Array[] {
  const all: [number, number, number][] = [];
  scores.forEach((s, layer) => s.forEach((v, i) => all.push([v, layer, i])));
  all.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const flags = scores.map((s) => new Uint8Array(s.length));
  for (const [, layer, i] of all.slice(0, keep)) flags[layer]![i] = 1;
  return flags;
}

/** The 0/1 mask [inputs, units] of the kept blocks. */
export function blockMask(kept: Uint8Array, inputs: number, units: number, block: BlockShape): Float32Array {
  const [br, bc] = block;
  const gc = blockGrid(inputs, units, block)[1];
  const mask = new Float32Array(inputs * units);
  for (let k = 0; k < inputs; k++) {
    const row = Math.floor(k / br) * gc;
    for (let n = 0; n < units; n++) mask[k * units + n] = kept[row + Math.floor(n / bc)]!;
  }
  return mask;
}
