import { describe, expect, it } from 'vitest';
import { prune } from '../src/compress/prune.js';
import { resize } from '../src/kernels/transpose.js';
import { cscOf, rowsPadded, sparseForwardT, type SparseWeight } from '../src/kernels/sparse.js';
import { blockSparseForward, bsrOf, disposeBsr, uploadBsr } from '../src/kernels/block-sparse.js';
import { MLP } from '../src/nn/mlp.js';
import { LimitError } from '../src/errors.js';
import { fit } from '../src/nn/train.js';
import { expectClose, expectTanhLayer, keepRandomBlocks, poisoned, randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { refForward, toRef } from './reference-mlp.js';
import { inferenceChecks } from './kernel-checks.js';

describe.each(testBackends())('inference at any width on %s', (backend) => {
  const ctx = useDevice(backend);

  it('resize cuts and zero-pads 2D tensors', async () => {
    const { device } = ctx;
    const x = device.tensor(randomArray(5 * 7, 1), [5, 7]);
    const data = await x.read();
    const padded = resize(x, 6, 9, poisoned(device, [6, 9]));
    expect(Array.from(await padded.read())).toEqual(Array.from({ length: 54 }, (_, i) => (Math.floor(i / 9) < 5 && i % 9 < 7 ? data[Math.floor(i / 9) * 7 + (i % 9)]! : 0)));
    const cut = resize(x, 3, 2);
    expect(Array.from(await cut.read())).toEqual([data[0], data[1], data[7], data[8], data[14], data[15]]);
  });

  it.each([
    [[37, 94, 51, 10], 'relu'],
    [[13, 30, 3], 'sigmoid'], // sigmoid(0) = 0.5 in the padding units must not leak
    [[4, 6, 5, 2], 'tanh'],
  ] as const)('%o (%s): odd widths give what float64 gives, the last layer narrow (33 rows) or padded and cut (300)', async (widths, activation) => {
    const model = MLP.create(ctx.device, [...widths], { seed: 4, activation });
    for (const rows of [33, 300]) {
      const x = randomArray(rows * widths[0], 5);
      const out = model.forward(ctx.device.tensor(x, [rows, widths[0]]));
      expect(out.shape).toEqual([rows, widths[widths.length - 1]]);
      await expectClose(out, refForward(await toRef(model), x, rows), 1e-5);
    }
    model.dispose();
  });

  it('padded weights follow every change of the weights: write, training, pruning', async () => {
    const model = MLP.create(ctx.device, [9, 30, 7, 3], { seed: 2 });
    const check = async () => {
      for (const rows of [17, 260]) {
        // the last layer's narrow and padded copies are kept apart
        const x = randomArray(rows * 9, 6);
        await expectClose(model.forward(ctx.device.tensor(x, [rows, 9])), refForward(await toRef(model), x, rows), 1e-5);
      }
    };
    await check(); // pads and keeps the padded weights
    model.layers[1]!.weight.write(randomArray(30 * 7, 7));
    await check();
    const features = randomArray(40 * 9, 8);
    await fit(model, { features, rows: 40, cols: 9, labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 }, { epochs: 2, batchSize: 8, learningRate: 0.1 });
    await check();
    await prune(model, { type: 'global', sparsity: 0.5 });
    await check();
    model.dispose();
  });
});

describe('write stamps', () => {
  const ctx = useDevice('llvmpipe');

  it('change when a tensor is written (write, a dispatch writing it, a copy into it), not when it is read', async () => {
    const { device } = ctx;
    const a = device.tensor(randomArray(8, 1), [2, 4]);
    let stamp = device.writeStamp(a);
    const b = resize(a, 2, 4); // reads a
    expect(device.writeStamp(a)).toBe(stamp);
    a.write(randomArray(8, 2));
    expect(device.writeStamp(a)).not.toBe(stamp);
    stamp = device.writeStamp(a);
    resize(b, 2, 4, a); // writes a
    expect(device.writeStamp(a)).not.toBe(stamp);
    const copy = device.duplicate(a);
    expect(device.writeStamp(copy)).not.toBe(device.writeStamp(b));
    await device.sync();
  });
});

describe.each(testBackends())('sparse inference on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [37, 29, 70, 0.1],
    [5, 3, 1, 0.5],
    [64, 16, 130, 0.02],
    [37, 29, 600, 0.1], // three chunks of 256 rows, the last partial
  ] as const)('K %i, N %i, %i rows at density %f: the sparse kernel against float64, with a fully pruned unit and an empty input row', async (K, N, rows, density) => {
    const { device } = ctx;
    const w = randomArray(K * N, 3);
    const keep = randomArray(K * N, 4, 0, 1);
    const mask = Float32Array.from(keep, (v, i) => (v < density && i % N !== 1 && Math.floor(i / N) !== 0 ? 1 : 0)); // unit 1 and input 0 fully pruned
    for (let i = 0; i < w.length; i++) w[i] = mask[i] ? w[i]! : 0;
    const bias = randomArray(N, 5);
    const x = randomArray(rows * K, 6);
    const csc = cscOf(w, K, N, mask);
    const sparse: SparseWeight = { inputs: K, units: N, colptr: device.tensor(csc.colptr), entries: device.tensor(csc.entries, [csc.entries.length / 4, 4]), kept: csc.kept };
    const rp = rowsPadded(rows);
    const xt = new Float32Array(K * rp);
    for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) xt[k * rp + r] = x[r * K + k]!;
    const out = poisoned(device, [N, rp]);
    sparseForwardT(device.tensor(xt, [K, rp]), sparse, rows, { bias: device.tensor(bias), activation: 'tanh', out });
    const got = await out.read();
    const expected: number[] = [],
      actual: number[] = [];
    for (let n = 0; n < N; n++)
      for (let r = 0; r < rows; r++) {
        let s = bias[n]!;
        for (let k = 0; k < K; k++) s += x[r * K + k]! * w[k * N + n]!;
        expected.push(Math.tanh(s));
        actual.push(got[n * rp + r]!);
      }
    expect(relativeError(actual, expected)).toBeLessThan(1e-5);
  });

  it('a dense layer after column lists reads their transposed output as it is (rows padded to whole vec4s, cut at the end)', async () => {
    const model = MLP.create(ctx.device, [50, 40, 13, 3], { seed: 8, activation: 'tanh' });
    await prune(model, { type: 'layer', sparsity: [0.95, 0.3, 0.3] });
    await model.prepareInference();
    expect(model.inferenceForms()).toEqual(['sparse', 'dense', 'dense']);
    const ref = await toRef(model);
    for (const rows of [65, 130]) {
      const x = randomArray(rows * 50, rows + 3);
      const out = model.forward(ctx.device.tensor(x, [rows, 50]));
      expect(out.shape).toEqual([rows, 3]);
      await expectClose(out, refForward(ref, x, rows), 1e-5);
    }
    model.dispose();
  });

  it('the shared inference checks (also run in the browser) pass', async () => {
    for (const c of await inferenceChecks(ctx.device)) expect(c.error, c.name).toBeLessThan(c.tolerance);
  });

  it('a pruned model gives the same outputs through its sparse layers as through dense ones, at any batch', async () => {
    const model = MLP.create(ctx.device, [50, 40, 13, 3], { seed: 9, activation: 'sigmoid' });
    await prune(model, { type: 'layer', sparsity: 0.9 });
    await model.prepareInference();
    expect(model.inferenceForms().slice(0, 2)).toEqual(['sparse', 'sparse']); // scattered weights: column lists
    for (const rows of [1, 65, 130]) {
      const x = randomArray(rows * 50, rows);
      const dense = await toRef(model);
      await model.prepareInference();
      await expectClose(model.forward(ctx.device.tensor(x, [rows, 50])), refForward(dense, x, rows), 1e-5);
    }
    // Changed weights: the sparse form is stale and forward falls back to dense until prepared again.
    model.layers[0]!.weight.write(new Float32Array(50 * 40));
    const x = randomArray(70 * 50, 1);
    await expectClose(model.forward(ctx.device.tensor(x, [70, 50])), refForward(await toRef(model), x, 70), 1e-5);
    model.dispose();
  });
});

describe.each(testBackends())('block-sparse inference on %s', (backend) => {
  const ctx = useDevice(backend);

  it.each([
    [37, 29, 70, 0.3],
    [5, 3, 1, 1],
    [64, 16, 33, 0.1],
    [8, 8, 40, 0],
    [37, 29, 300, 0.3], // two chunks of 256 rows, the last partial
    [37, 29, 10, 0.5], // under 32 rows: 3 of the 8 row quads
    [20, 12, 27, 0.5], // 7 of 8
  ] as const)('K %i, N %i, %i rows, blocks kept %f: the block kernel against float64, padded edges, a group without blocks', async (K, N, rows, fill) => {
    const { device } = ctx;
    const w = randomArray(K * N, 3);
    keepRandomBlocks(w, K, N, fill, 4);
    const bias = randomArray(N, 5);
    const x = randomArray(rows * K, 6);
    const host = bsrOf(w, K, N);
    const weight = uploadBsr(device, host);
    await expectTanhLayer(device, { x, rows, K, N, kp: host.inputs, np: host.units, bias, weight: (k, n) => w[k * N + n]! }, (x, bias, out) =>
      blockSparseForward(x, weight, { bias, activation: 'tanh', out }),
    );
    disposeBsr(weight);
  });

  it('a model pruned in blocks runs its layers as blocks and gives what float64 gives, at any batch; stale forms fall back to dense', async () => {
    const model = MLP.create(ctx.device, [50, 40, 13, 3], { seed: 9, activation: 'relu' });
    await prune(model, { type: 'layer', sparsity: 0.8, block: [4, 4] });
    const ref = await toRef(model);
    expect(model.inferenceForms()).toEqual(['dense', 'dense', 'dense']);
    await model.prepareInference();
    expect(model.inferenceForms().slice(0, 2)).toEqual(['block', 'block']); // the 13 x 3 layer may be cheaper as column lists
    // Each layer's block form holds exactly its blocks with a kept weight.
    for (const l of model.layers) {
      const w = await l.weight.read();
      const kept = bsrOf(w, l.inputs, l.units, await l.mask!.read());
      expect(kept.gptr.at(-1), 'blocks').toBeLessThanOrEqual(Math.ceil(0.2 * Math.ceil(l.inputs / 4) * Math.ceil(l.units / 4)));
    }
    for (const rows of [1, 33, 70]) {
      const x = randomArray(rows * 50, rows);
      await expectClose(model.forward(ctx.device.tensor(x, [rows, 50])), refForward(ref, x, rows), 1e-5);
    }
    model.layers[1]!.bias.write(randomArray(13, 2)); // a written bias makes that layer's form stale
    expect(model.inferenceForms().slice(0, 2)).toEqual(['block', 'dense']);
    const x = randomArray(20 * 50, 3);
    await expectClose(model.forward(ctx.device.tensor(x, [20, 50])), refForward(await toRef(model), x, 20), 1e-5);
    model.dispose();
  });
});

describe('sizes checked before allocation', () => {
  const ctx = useDevice('llvmpipe');

  it('a layer beyond the device limits is a LimitError before its weights are drawn', () => {
    const started = Date.now();
    expect(() => MLP.create(ctx.device, [10_000, 100_000, 10])).toThrow(LimitError);
    expect(() => MLP.create(ctx.device, [100_000, 100_000])).toThrow(/Layer 0 \(100000 x 100000\) needs 40000000000 bytes/);
    expect(Date.now() - started).toBeLessThan(1000); // nothing of gigabytes was filled
  });
});
