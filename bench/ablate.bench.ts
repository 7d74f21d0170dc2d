/**
 * Ablation importance of all 400 hidden units of LeNet-300-100 on the 10,000 MNIST test images:
 * the batched GPU path (unitImportance) against the naive loop, one full forward pass over the
 * data per ablated unit (its outgoing weights zeroed, evaluate, restored), in the same run.
 * The naive loop is timed on every NAIVE_EVERY-th unit (default 10; 1 times all 400) and scaled
 * to 400; its scores are checked against the batched ones.
 * Then what the criteria buy: the half of each hidden layer's units that each criterion ranks
 * lowest is removed (no fine-tuning) and the test accuracy compared.
 */
import { loadMnist } from '../src/data/mnist.js';
import { MLP } from '../src/nn/mlp.js';
import { evaluate, fit } from '../src/nn/train.js';
import { IMPORTANCE_CRITERIA, unitImportance } from '../src/compress/importance.js';
import { removeUnits } from '../src/compress/simplify.js';
import { benchDevice, fmt } from './common.js';

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
  let num = 0, den = 0;
  for (const n of naive) {
    num += (n.score - batched.layers[n.layer]!.scores[n.unit]!) ** 2;
    den += n.score ** 2;
  }
  console.log(`\nAblation importance, LeNet-300-100, 400 hidden units x ${test.rows} samples`);
  console.log(`batched GPU path: ${fmt(batchedSeconds)} s; naive loop: ${fmt(naiveSeconds)} s (${naive.length} units timed, scaled to 400)`);
  console.log(`speed-up: ${fmt(naiveSeconds / batchedSeconds, 1)}x (target >= 20x); naive vs batched scores: relative difference ${Math.sqrt(num / den).toExponential(2)}`);

  console.log('\nRemoving the lower-ranked half of each hidden layer (150 + 50 units), no fine-tuning:');
  console.log(`dense model: test accuracy ${fmt((await evaluate(model, test)).accuracy * 100)} %`);
  for (const criterion of IMPORTANCE_CRITERIA) {
    const scores = await unitImportance(model, train, { criterion, samples: 5000, seed: 3 });
    let smaller = model;
    for (const { layer, scores: s } of [...scores.layers].reverse()) {
      const order = Array.from(s.keys()).sort((a, b) => s[a]! - s[b]!);
      const next = await removeUnits(smaller, layer, order.slice(0, Math.floor(s.length / 2)));
      if (smaller !== model) smaller.dispose();
      smaller = next;
    }
    console.log(`  ${criterion.padEnd(9)} test accuracy ${fmt((await evaluate(smaller, test)).accuracy * 100)} % (${smaller.parameterCount()} parameters)`);
    smaller.dispose();
  }
  model.dispose();
  device.destroy();
}
