import { describe, expect, it } from 'vitest';
import { kmeans1d, nearest } from '../src/compress/kmeans.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { clusterSums, shareWeights } from '../src/kernels/sharing.js';
import { Backprop } from '../src/nn/backprop.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { Random } from '../src/random.js';
import { expectClose, poisoned, randomArray, testBackends, useDevice } from './helpers.js';
import { quantizationAware } from '../src/compress/qat.js';

describe('k-means in one dimension', () => {
  it('starts linearly over [min, max] and converges to the means of its clusters (Lloyd fixed point)', () => {
    const r = new Random(4);
    const values = Float64Array.from({ length: 997 }, () => (r.next() < 0.5 ? r.normal() * 0.1 - 1 : r.normal() * 0.3 + 2)).sort();
    const { centroids, iterations } = kmeans1d(values, 4);
    expect(iterations).toBeGreaterThan(0);
    // Fixed point: each centroid is the mean of the values nearest to it.
    const sums = new Float64Array(4),
      counts = new Float64Array(4);
    for (const v of values) {
      const c = nearest(centroids, v);
      // nearest agrees with a plain scan (ties to the lower index)
      let best = 0;
      for (let j = 1; j < 4; j++) if (Math.abs(v - centroids[j]!) < Math.abs(v - centroids[best]!)) best = j;
      expect(c).toBe(best);
      sums[c]! += v;
      counts[c]!++;
    }
    for (let j = 0; j < 4; j++) if (counts[j]) expect(centroids[j]).toBeCloseTo(sums[j]! / counts[j]!, 12);
    expect(Array.from(centroids)).toEqual(Array.from(centroids).sort((a, b) => a - b));
  });

  it('keeps linear initialization: two clusters of distinct values are found exactly, an empty cluster keeps its place', () => {
    const { centroids } = kmeans1d(Float64Array.from([0, 0, 0, 10, 10]), 3);
    expect(Array.from(centroids)).toEqual([0, 5, 10]); // the middle cluster is empty and stays at its initial value
    expect(Array.from(kmeans1d(new Float64Array(0), 2).centroids)).toEqual([0, 0]);
  });
});

describe.each(testBackends())('weight sharing kernels on %s', (backend) => {
  const ctx = useDevice(backend);

  it("clusterSums adds each cluster's values (segments of odd lengths, an empty cluster) against float64", async () => {
    const { device } = ctx;
    const n = 1237,
      k = 9;
    const values = randomArray(n, 3);
    const r = new Random(5);
    const assignment = Uint32Array.from({ length: n }, () => (r.next() < 0.1 ? k : Math.min(k - 1, Math.floor(r.next() * (k - 1))))); // cluster k-1 stays empty
    const offsets = new Uint32Array(k + 1);
    for (const a of assignment) if (a < k) offsets[a + 1]!++;
    for (let c = 0; c < k; c++) offsets[c + 1]! += offsets[c]!;
    const at = offsets.slice(0, k);
    const order = new Uint32Array(offsets[k]!);
    assignment.forEach((a, i) => a < k && (order[at[a]!++] = i));
    const expected = new Float64Array(k);
    assignment.forEach((a, i) => a < k && (expected[a]! += values[i]!));
    const out = poisoned(device, [k]);
    const clusters = { order: device.tensor(order), offsets: device.tensor(offsets), count: k };
    clusterSums(device.tensor(values), clusters, out);
    await expectClose(out, expected, 1e-6);
  });

  it('shareWeights sets each weight to its shared value and pruned ones (index K) to 0', async () => {
    const { device } = ctx;
    const codebook = Float32Array.from([-0.5, 0.25, 2]);
    const assignment = Uint32Array.from({ length: 301 }, (_, i) => i % 4); // 3 = K: pruned
    const w = poisoned(device, [7, 43]);
    shareWeights(device.tensor(codebook), device.tensor(assignment), w);
    expect(Array.from(await w.read())).toEqual(Array.from(assignment, (a) => (a < 3 ? codebook[a]! : 0)));
  });
});

describe('k-means weight sharing of a model (Deep Compression)', () => {
  const ctx = useDevice('llvmpipe');

  it('quantizeWeights(kmeans) keeps 2^bits shared values per layer, pruned weights at 0, and indices that match', async () => {
    const { device } = ctx;
    const model = MLP.create(device, [23, 17, 5], { seed: 2 });
    await prune(model, { type: 'global', sparsity: 0.6 });
    const masks = await Promise.all(model.layers.map((l) => l.mask!.read()));
    await quantizeWeights(model, { method: 'kmeans', bits: 3 });
    for (const [i, l] of model.layers.entries()) {
      const w = await l.weight.read();
      const codebook = await l.quant!.codebook!.read();
      const assignment = await l.quant!.assignment!.read();
      expect(codebook.length).toBe(8);
      w.forEach((v, j) => {
        if (masks[i]![j] === 0) expect([v, assignment[j]]).toEqual([0, 8]);
        else expect(v).toBe(codebook[assignment[j]!]);
      });
    }
    model.dispose();
  });

  it("the gradient of a shared value is the sum of its weights' gradients (finite differences), and fit trains only the shared values", async () => {
    const { device } = ctx;
    const model = MLP.create(device, [6, 5, 3], { seed: 7, activation: 'tanh' });
    await prune(model, { type: 'layer', sparsity: 0.3 });
    await quantizeWeights(model, { method: 'kmeans', bits: 2 });
    const rows = 8;
    const features = randomArray(rows * 6, 9);
    const labels = Int32Array.from({ length: rows }, (_, i) => i % 3);
    // Analytic: dL/dW from the backward pass, summed per cluster in float64.
    const bp = new Backprop(model, rows, 'softmaxCrossEntropy');
    bp.x.write(features);
    const y = device.tensor(labels);
    const stats = device.tensor(new Float32Array([0, 0, -1, 0]));
    bp.gradients(y, stats);
    const grad = await bp.weightGrads[0]!.read();
    const assignment = await model.layers[0]!.quant!.assignment!.read();
    const analytic = new Float64Array(4);
    assignment.forEach((a, i) => a < 4 && (analytic[a]! += grad[i]!));
    bp.dispose();
    // Numeric: move one shared value and every weight that shares it.
    const loss = async () => (await evaluate(model, { features, rows, cols: 6, labels, classes: 3 })).loss; // the mean, as backprop's gradients
    const codebook = await model.layers[0]!.quant!.codebook!.read();
    for (let c = 0; c < 4; c++) {
      if (!assignment.includes(c)) continue;
      const f = async (h: number) => {
        const moved = codebook.slice();
        moved[c]! += h;
        model.layers[0]!.quant!.codebook!.write(moved);
        shareWeights(model.layers[0]!.quant!.codebook!, model.layers[0]!.quant!.assignment!, model.layers[0]!.weight);
        return loss();
      };
      const h = 1e-2;
      const numeric = ((await f(h)) - (await f(-h))) / (2 * h);
      expect(Math.abs(numeric - analytic[c]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(analytic[c]!)));
    }
    model.layers[0]!.quant!.codebook!.write(codebook); // put the shared values back
    shareWeights(model.layers[0]!.quant!.codebook!, model.layers[0]!.quant!.assignment!, model.layers[0]!.weight);
    // Training: the loss falls, the weights stay shared, pruned weights stay 0.
    const before = await loss();
    await fit(model, { features, rows, cols: 6, labels, classes: 3 }, { epochs: 30, batchSize: rows, learningRate: 0.05 });
    expect(await loss()).toBeLessThan(before);
    for (const l of model.layers) {
      const w = await l.weight.read(),
        cb = await l.quant!.codebook!.read(),
        a = await l.quant!.assignment!.read();
      w.forEach((v, j) => expect(v).toBe(a[j]! < cb.length ? cb[a[j]!] : 0));
    }
    expect(Array.from(await model.layers[0]!.quant!.codebook!.read())).not.toEqual(Array.from(codebook));
    await expect(fit(model, { features, rows, cols: 6, labels, classes: 3 }, { epochs: 1, batchSize: rows, learningRate: 0.05, hooks: [quantizationAware({ bits: 4 })] })).rejects.toThrow(
      /shared \(k-means\) weights/,
    );
    // Pruned after sharing: the pruned weights leave their clusters and stay 0 through training.
    await prune(model, { type: 'global', sparsity: 0.6 });
    await fit(model, { features, rows, cols: 6, labels, classes: 3 }, { epochs: 3, batchSize: rows, learningRate: 0.05 });
    for (const l of model.layers) {
      const w = await l.weight.read(),
        mask = await l.mask!.read();
      mask.forEach((m, j) => m === 0 && expect(w[j]).toBe(0));
    }
    model.dispose();
  });
});
