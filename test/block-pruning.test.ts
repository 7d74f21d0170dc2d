import { describe, expect, it } from 'vitest';
import { prune } from '../src/compress/prune.js';
import { gradualPruning } from '../src/compress/schedule.js';
import { InvalidArgumentError } from '../src/errors.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { Random } from '../src/random.js';
import { randomArray, testBackends, useDevice } from './helpers.js';

type Block = readonly [number, number];

/** Mean |w| of each block of a weight [inputs, units], the last blocks shorter: a float64 reference. */
function scoresOf(w: Float32Array, inputs: number, units: number, [br, bc]: Block): { layer: number; block: number; score: number; cells: number[] }[] {
  const out = [];
  for (let i = 0; i < inputs; i += br)
    for (let j = 0; j < units; j += bc) {
      const cells: number[] = [];
      for (let k = i; k < Math.min(inputs, i + br); k++) for (let n = j; n < Math.min(units, j + bc); n++) cells.push(k * units + n);
      out.push({ layer: 0, block: out.length, score: cells.reduce((s, c) => s + Math.abs(w[c]!), 0) / cells.length, cells });
    }
  return out;
}

/** The cells of the `keep` best blocks over the given layers: higher mean |w| first, ties by layer and block. */
function keptCells(layers: { w: Float32Array; inputs: number; units: number; block: Block }[], keep: number): Set<number>[] {
  const all = layers.flatMap((l, layer) => scoresOf(l.w, l.inputs, l.units, l.block).map((s) => ({ ...s, layer })));
  all.sort((a, b) => b.score - a.score || a.layer - b.layer || a.block - b.block);
  const kept = layers.map(() => new Set<number>());
  for (const s of all.slice(0, keep)) for (const c of s.cells) kept[s.layer]!.add(c);
  return kept;
}

/** Weights with ties between blocks: a few distinct magnitudes. */
function tied(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => (r.int(6) - 3) * 0.25);
}

describe.each(testBackends())('block pruning on %s', (backend) => {
  const ctx = useDevice(backend);

  it("'layer' keeps exactly the best-scored whole blocks of each layer, shapes not multiples of the block", async () => {
    const model = MLP.create(ctx.device, [30, 10, 7], { seed: 1 });
    model.layers.forEach((l, i) => l.weight.write(tied(l.weight.size, 10 + i)));
    const before = (await model.read()).map((l) => l.weight);
    const report = await prune(model, { type: 'layer', sparsity: 0.6, block: [4, 4] });
    const after = (await model.read()).map((l) => l.weight);
    model.layers.forEach((l, i) => {
      const blocks = Math.ceil(l.inputs / 4) * Math.ceil(l.units / 4); // 8 x 3 and 3 x 2
      const kept = keptCells([{ w: before[i]!, inputs: l.inputs, units: l.units, block: [4, 4] }], Math.round(0.4 * blocks))[0]!;
      after[i]!.forEach((v, c) => expect(v, `layer ${i} weight ${c}`).toBe(kept.has(c) ? before[i]![c] : 0));
      expect(report.layers[i]!.nonzero).toBe(kept.size); // the mask keeps whole blocks, zeros in them too
    });
    model.dispose();
  });

  it("'global' ranks the blocks of every layer together, one shape per layer allowed, and never revives", async () => {
    const model = MLP.create(ctx.device, [18, 9, 5], { seed: 2 });
    const before = (await model.read()).map((l) => l.weight);
    const shapes: Block[] = [
      [2, 3],
      [1, 1],
    ];
    await prune(model, { type: 'global', sparsity: 0.7, block: shapes });
    const total = 9 * 3 + 45;
    const kept = keptCells(
      model.layers.map((l, i) => ({ w: before[i]!, inputs: l.inputs, units: l.units, block: shapes[i]! })),
      Math.round(0.3 * total),
    );
    const after = (await model.read()).map((l) => l.weight);
    after.forEach((w, i) => w.forEach((v, c) => expect(v).toBe(kept[i]!.has(c) ? before[i]![c] : 0)));
    // A gentler sparsity afterwards keeps what was pruned pruned.
    await prune(model, { type: 'global', sparsity: 0.2, block: shapes });
    const again = (await model.read()).map((l) => l.weight);
    again.forEach((w, i) => w.forEach((v, c) => kept[i]!.has(c) || expect(v).toBe(0)));
    model.dispose();
  });

  it('gradual pruning in blocks while training ends with whole blocks pruned at the final sparsity', async () => {
    const r = new Random(3);
    const data = { features: randomArray(240 * 12, 4), rows: 240, cols: 12, labels: Int32Array.from({ length: 240 }, () => r.int(3)), classes: 3 };
    const model = MLP.create(ctx.device, [12, 16, 3], { seed: 3 });
    await fit(model, data, { epochs: 4, batchSize: 20, learningRate: 0.05, hooks: [gradualPruning({ scope: 'layer', finalSparsity: 0.5, endStep: 30, frequency: 5, block: [4, 4] })] });
    const w = (await model.read())[0]!.weight;
    let pruned = 0;
    for (let i = 0; i < 12; i += 4)
      for (let j = 0; j < 16; j += 4) {
        const cells = Array.from({ length: 16 }, (_, q) => w[(i + (q >> 2)) * 16 + j + (q & 3)]!);
        const zeros = cells.filter((v) => v === 0).length;
        expect(zeros === 0 || zeros === 16, `block ${i},${j}: ${zeros} zeros`).toBe(true);
        if (zeros === 16) pruned++;
      }
    expect(pruned).toBe(6); // half of 12 blocks
    model.dispose();
  });

  it('bad block shapes raise typed errors', async () => {
    const model = MLP.create(ctx.device, [6, 4, 2], { seed: 4 });
    await expect(prune(model, { type: 'layer', sparsity: 0.5, block: [0, 4] })).rejects.toThrow(InvalidArgumentError);
    await expect(prune(model, { type: 'layer', sparsity: 0.5, block: [2.5, 4] })).rejects.toThrow(/two whole numbers \[inputs, units\], each 1 to 64, got \[2.5, 4\]/);
    await expect(prune(model, { type: 'global', sparsity: 0.5, block: [[4, 4]] })).rejects.toThrow(/1 block shapes for 2 layers/);
    expect(() => gradualPruning({ finalSparsity: 0.5, endStep: 10, block: [4, 100] })).toThrow(InvalidArgumentError);
    model.dispose();
  });
});
