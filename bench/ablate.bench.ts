/**
 * Ablation importance of all 400 hidden units of LeNet-300-100 on the 10,000 MNIST test images:
 * the batched GPU path (unitImportance) against the naive loop, one full forward pass over the
 * data per ablated unit (its outgoing weights zeroed, evaluate, restored), in the same run.
 * The naive loop is timed on every NAIVE_EVERY-th unit (default 10; 1 times all 400) and scaled
 * to 400; its scores are checked against the batched ones.
 * Then what the criteria buy: the 10, 25 and 50 % of each hidden layer's units that each
 * criterion ranks lowest are removed at once (no fine-tuning) and the test accuracy compared;
 * last, ablation used greedily: 2.5 % of each layer at a time, the rest scored again.
 */
import { loadMnist } from '../src/data/mnist.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { IMPORTANCE_CRITERIA, unitImportance } from '../src/compress/importance.js';
import { removeUnits } from '../src/compress/simplify.js';
import { benchDevice, fmt } from './common.js';

const FRACTIONS = [0.1, 0.25, 0.5];

export async function benchAblate(): Promise<void> {
  const device = await benchDevice();
  const quick = process.env.BENCH_QUICK === '1';
  const every = Number(process.env.NAIVE_EVERY ?? (quick ? 50 : 10));
  const train = loadMnist('train', { limit: quick ? 6000 : 20000 });
  const test = loadMnist('test');
  const model = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
  await fit(model, train, { epochs: 2, batchSize: 64, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9, nesterov: true }, seed: 1 });

  // Warm-up: compile every pipeline both paths use.
  await unitImportance(model, loadMnist('test', { limit: 300 }));
  await evaluate(model, test);

  let t0 = performance.now();
  const batched = await unitImportance(model, test);
  const batchedSeconds = (performance.now() - t0) / 1000;

  const naive: { layer: number; unit: number; score: number }[] = [];
  t0 = performance.now();
  for (const layer of [0, 1]) {
    const next = model.layers[layer + 1]!;
    const w = await next.weight.read();
    for (let unit = 0; unit < model.layers[layer]!.units; unit += every) {
      const zeroed = w.slice();
      zeroed.fill(0, unit * next.units, (unit + 1) * next.units);
      next.weight.write(zeroed);
      naive.push({ layer, unit, score: (await evaluate(model, test)).loss - batched.baselineLoss });
    }
    next.weight.write(w);
  }
  const naiveSeconds = ((performance.now() - t0) / 1000) * (400 / naive.length);
  let num = 0,
    den = 0;
  for (const n of naive) {
    num += (n.score - batched.layers[n.layer]!.scores[n.unit]!) ** 2;
    den += n.score ** 2;
  }
  console.log(`\nAblation importance, LeNet-300-100, 400 hidden units x ${test.rows} samples`);
  console.log(`batched GPU path: ${fmt(batchedSeconds)} s; naive loop: ${fmt(naiveSeconds)} s (${naive.length} units timed, scaled to 400)`);
  console.log(`speed-up: ${fmt(naiveSeconds / batchedSeconds, 1)}x (target >= 20x); naive vs batched scores: relative difference ${Math.sqrt(num / den).toExponential(2)}`);

  console.log(`\nRemoving the lowest-ranked units of each hidden layer, no fine-tuning (dense: ${fmt((await evaluate(model, test)).accuracy * 100)} % test accuracy):`);
  console.log(['criterion'.padEnd(10), ...FRACTIONS.map((f) => `${Math.round(f * 100)} % removed`.padStart(14))].join(''));
  for (const criterion of IMPORTANCE_CRITERIA) {
    const scores = await unitImportance(model, train, { criterion, samples: 5000, seed: 3 });
    const cells: string[] = [];
    for (const fraction of FRACTIONS) {
      let smaller = model;
      for (const { layer, scores: s } of [...scores.layers].reverse()) {
        const order = Array.from(s.keys()).sort((a, b) => s[a]! - s[b]!);
        const next = await removeUnits(smaller, layer, order.slice(0, Math.round(s.length * fraction)));
        if (smaller !== model) smaller.dispose();
        smaller = next;
      }
      cells.push(`${fmt((await evaluate(smaller, test)).accuracy * 100)} %`.padStart(14));
      smaller.dispose();
    }
    console.log([criterion.padEnd(10), ...cells].join(''));
  }
  // Ablation scores are each unit's effect alone; used as intended, a few units go at a time and
  // the rest are scored again (greedy), so interactions between removed units are seen.
  const cells: string[] = [];
  for (const fraction of FRACTIONS) {
    let smaller = model;
    const goal = model.layers.slice(0, -1).map((l) => Math.round(l.units * fraction));
    const removed = goal.map(() => 0);
    while (removed.some((r, l) => r < goal[l]!)) {
      const scores = await unitImportance(smaller, train, { samples: 2000, seed: 3 });
      for (const { layer, scores: s } of [...scores.layers].reverse()) {
        const take = Math.min(goal[layer]! - removed[layer]!, Math.ceil(model.layers[layer]!.units * 0.025));
        if (take <= 0) continue;
        const order = Array.from(s.keys()).sort((a, b) => s[a]! - s[b]!);
        const next = await removeUnits(smaller, layer, order.slice(0, take));
        if (smaller !== model) smaller.dispose();
        smaller = next;
        removed[layer]! += take;
      }
    }
    cells.push(`${fmt((await evaluate(smaller, test)).accuracy * 100)} %`.padStart(14));
    smaller.dispose();
  }
  console.log(['ablation, re-scored every 2.5 % (greedy)'.padEnd(10), ...cells].join(''));
  model.dispose();
  device.destroy();
}
