/**
 * Sequential models of convolution, pooling, flatten and dense layers: shapes placed with errors
 * that name the layer, the forward pass and backpropagation against a float64 reference and its
 * finite differences, and fit, pruning and quantization on a convolutional network (LeNet-5 on
 * MNIST rows).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prune, pruneReport } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { quantizationAware } from '../src/compress/qat.js';
import { compressedSize } from '../src/compress/size.js';
import { saveModel } from '../src/io/files.js';
import { modelFromSafetensors, modelToSafetensors, readModel } from '../src/io/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { loadMnist } from '../src/data/mnist.js';
import { newStats } from '../src/kernels/loss.js';
import { evaluate } from '../src/nn/evaluate.js';
import { MLP } from '../src/nn/mlp.js';
import { parseLayers } from '../src/nn/architecture.js';
import { type LayerSpec, placeStages, Sequential, type Stage } from '../src/nn/sequential.js';
import { fit } from '../src/nn/train.js';
import { Random } from '../src/random.js';
import { testMetrics } from '../src/validate/metrics.js';
import { poisoned, randomArray, relativeError, testBackends, useDevice } from './helpers.js';
import { toyData } from './toy-data.js';
import { convChecks } from './kernel-checks.js';
import { type RefNorm, refSequential } from './reference-cnn.js';
import { dropout, dropoutBackward, dropped } from '../src/kernels/dropout.js';
import { angleOf, augmentImages, shiftOf } from '../src/kernels/augment.js';
import { imageAugmentation } from '../src/nn/augmentation.js';
import type { TrainingHook } from '../src/nn/hooks.js';
import { mixSeeds } from '../src/kernels/hash.js';
import { refLoss } from './reference-mlp.js';

const LENET5: LayerSpec[] = [
  { type: 'conv2d', filters: 20, kernel: 5 },
  { type: 'maxPool2d', kernel: 2 },
  { type: 'conv2d', filters: 50, kernel: 5 },
  { type: 'maxPool2d', kernel: 2 },
  { type: 'dense', units: 500 },
  { type: 'dense', units: 10 },
];

describe('Sequential: layers placed', () => {
  it("LeNet-5 (Caffe's): shapes, an implicit flatten, relu then identity, 431,080 parameters", () => {
    const stages = placeStages([28, 28, 1], LENET5);
    expect(stages.map((s) => s.output)).toEqual([[24, 24, 20], [12, 12, 20], [8, 8, 50], [4, 4, 50], [800], [500], [10]]);
    expect(stages.map((s) => s.spec.type)).toEqual(['conv2d', 'maxPool2d', 'conv2d', 'maxPool2d', 'flatten', 'dense', 'dense']);
    expect(stages.filter((s) => s.param !== undefined).map((s) => s.activation)).toEqual(['relu', 'relu', 'relu', 'identity']);
    expect(20 * 25 + 20 + 50 * 500 + 50 + 800 * 500 + 500 + 500 * 10 + 10).toBe(431_080);
  });

  it('shape errors name the layer', () => {
    expect(() => placeStages([28, 28, 1], [...LENET5.slice(0, 4), { type: 'conv2d', filters: 10, kernel: 5 }, { type: 'dense', units: 10 }])).toThrow(
      /^layer 5 \(conv10k5\): a 5x5 window with padding 0,0 does not fit a 4x4 image\.$/,
    );
    expect(() =>
      placeStages(
        [784],
        [
          { type: 'conv2d', filters: 4, kernel: 3 },
          { type: 'dense', units: 10 },
        ],
      ),
    ).toThrow(/layer 1 \(conv4k3\): takes images \[h, w, c\], but its input is flat \[784\]/);
    expect(() => placeStages([8, 8, 1], [{ type: 'conv2d', filters: 4, kernel: 3 }])).toThrow(/The last layer must be a dense layer/);
    expect(() =>
      placeStages(
        [8, 8, 1],
        [
          { type: 'conv2d', filters: 0, kernel: 3 },
          { type: 'dense', units: 2 },
        ],
      ),
    ).toThrow(/layer 1 \(conv0k3\): filters must be a positive whole number/);
    expect(() =>
      placeStages(
        [8, 8, 1],
        [
          { type: 'maxPool2d', kernel: 2, stride: 0 },
          { type: 'dense', units: 2 },
        ],
      ),
    ).toThrow(/layer 1 \(maxpool2s0\): stride must be a whole number of at least 1/);
    expect(() => placeStages([0, 8, 1], LENET5)).toThrow(/input shape must be \[h, w, c\] or \[features\]/);
  });
});

/** The mean and biased variance per channel of a batch norm stage's inputs in a training pass (the stages before it in float64). */
function batchInputStats(model: Sequential, params: { weight: Float64Array; bias: Float64Array }[], norms: RefNorm[], x: Float32Array, rows: number, stage: Stage) {
  const at = model.stages.indexOf(stage);
  const h = refSequential(model.stages.slice(0, at), params, x, rows, undefined, undefined, { params: norms, training: true });
  const c = norms[stage.norm!]!.gamma.length;
  const count = h.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  h.forEach((v, j) => (mean[j % c]! += v / count));
  h.forEach((v, j) => (variance[j % c]! += (v - mean[j % c]!) ** 2 / count));
  return { mean, variance, count };
}

/** Two small networks that between them use every layer kind: max and average pooling, padding, strides, flatten after a convolution. */
const NETS: { name: string; input: number[]; layers: LayerSpec[] }[] = [
  {
    name: 'conv(p1)-maxpool-conv-dense(tanh)-dense',
    input: [6, 5, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
      { type: 'maxPool2d', kernel: 2 },
      { type: 'conv2d', filters: 4, kernel: 2 },
      { type: 'dense', units: 5, activation: 'tanh' },
      { type: 'dense', units: 3 },
    ],
  },
  {
    name: 'conv-dropout-maxpool-flatten-dropout-dense(tanh)-dense: gradients through the masks of one step',
    input: [6, 6, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: 'dropout', rate: 0.3 },
      { type: 'maxPool2d', kernel: 2 },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 5, activation: 'tanh' },
      { type: 'dense', units: 3 },
    ],
  },
  {
    name: 'conv(s2, sigmoid)-avgpool(s1)-flatten-dense-dense',
    input: [7, 7, 1],
    layers: [
      { type: 'conv2d', filters: 2, kernel: 3, stride: 2, activation: 'sigmoid' },
      { type: 'avgPool2d', kernel: 2, stride: 1 },
      { type: 'flatten' },
      { type: 'dense', units: 4 },
      { type: 'dense', units: 3 },
    ],
  },
  {
    name: 'conv-bn-maxpool-conv(p1)-bn(tanh)-dense-bn-dense: batch norms after convolutions and a dense layer',
    input: [6, 5, 2],
    layers: [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: 'batchNorm' },
      { type: 'maxPool2d', kernel: 2 },
      { type: 'conv2d', filters: 5, kernel: 2, padding: 1 },
      { type: 'batchNorm', activation: 'tanh', eps: 1e-3 },
      { type: 'dense', units: 4 },
      { type: 'batchNorm' },
      { type: 'dense', units: 3 },
    ],
  },
  {
    name: 'conv-conv(relu)-dense: a gradient through two convolutions',
    input: [5, 5, 3],
    layers: [
      { type: 'conv2d', filters: 4, kernel: 2 },
      { type: 'conv2d', filters: 2, kernel: [2, 3], stride: [1, 2] },
      { type: 'dense', units: 3 },
    ],
  },
];

describe.each(testBackends())('Sequential on %s', (backend) => {
  const ctx = useDevice(backend);

  it('quantization-aware training of a network: 4-bit filters and dense weights, still learning', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [6, 5, 2], layers: NETS[0]!.layers, seed: 6 });
    const rows = 120;
    const features = randomArray(rows * model.inputs, 31);
    const labels = Int32Array.from({ length: rows }, (_, i) => (features[i * model.inputs]! > 0 ? 1 : 0) + (features[i * model.inputs + 7]! > 0.3 ? 1 : 0));
    const history = await fit(
      model,
      { features, rows, cols: model.inputs, labels, classes: 3 },
      { epochs: 30, batchSize: 20, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 2, hooks: [quantizationAware({ bits: 4 })] },
    );
    expect(history.loss[29]!).toBeLessThan(history.loss[0]! * 0.8);
    expect(model.layers.every((l) => l.quant?.spec.bits === 4)).toBe(true);
    // Each filter holds at most 15 levels (4 bits, symmetric), as quantizeWeights leaves it.
    const l = model.layers[0]!;
    const w = await l.weight.read();
    for (let f = 0; f < l.units; f++) expect(new Set(Array.from({ length: l.inputs }, (_, k) => w[k * l.units + f])).size).toBeLessThanOrEqual(15);
    model.dispose();
  });

  it('dropout: the seeded mask as the host computes it, the rate kept on average, identity at inference; it trains', async () => {
    const { device } = ctx;
    const shape = [7, 13, 3];
    const n = 7 * 13 * 3;
    const values = randomArray(n, 31);
    const x = device.tensor(values, shape);
    const [y, keep] = [poisoned(device, shape), poisoned(device, shape)];
    dropout(x, 0.3, 77, { y, keep });
    const want = Array.from({ length: n }, (_, i) => (dropped(i, 77, 0.3) ? 0 : 1 / 0.7));
    expect(Array.from(await keep.read())).toEqual(want.map(Math.fround));
    expect(Array.from(await y.read())).toEqual(Array.from(values, (v, i) => Math.fround(v * Math.fround(want[i]!))));
    const dx = poisoned(device, shape);
    dropoutBackward(x, keep, dx);
    expect(Array.from(await dx.read())).toEqual(Array.from(values, (v, i) => Math.fround(v * Math.fround(want[i]!))));
    // Over 100,003 elements the dropped fraction is the rate within 4 standard errors; another seed drops others; rate 0 none.
    const many = 100_003;
    const share = (seed: number, rate: number) => Array.from({ length: many }, (_, i) => dropped(i, seed, rate)).filter(Boolean).length / many;
    expect(Math.abs(share(1, 0.3) - 0.3)).toBeLessThan(4 * Math.sqrt((0.3 * 0.7) / many));
    expect(share(2, 0)).toBe(0);
    expect(Array.from({ length: 64 }, (_, i) => dropped(i, 1, 0.5))).not.toEqual(Array.from({ length: 64 }, (_, i) => dropped(i, 2, 0.5)));
    for (const t of [x, y, keep, dx]) t.dispose();
    // At inference a network with dropout computes what it computes without (the same weights: dropout has none).
    const layers: LayerSpec[] = [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 8 },
      { type: 'dropout', rate: 0.2 },
      { type: 'dense', units: 3 },
    ];
    const withDropout = Sequential.create(device, { input: [6, 6, 1], layers, seed: 2 });
    const without = Sequential.create(device, { input: [6, 6, 1], layers: layers.filter((l) => l.type !== 'dropout'), seed: 2 });
    expect(withDropout.describe()).toBe('6x6x1-conv3k3-dropout0.5-flatten-8-dropout0.2-3');
    const rows = randomArray(4 * 36, 3);
    expect(Array.from(await withDropout.predict(rows))).toEqual(Array.from(await without.predict(rows)));
    const data = toyData(200, 36, 3, 4);
    const history = await fit(withDropout, data, { epochs: 6, batchSize: 20, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 });
    expect(history.loss[5]!).toBeLessThan(history.loss[0]!);
    expect(() =>
      placeStages(
        [4],
        [
          { type: 'dropout', rate: 1 },
          { type: 'dense', units: 2 },
        ],
      ),
    ).toThrow(/layer 1 \(dropout1\): the dropout rate must be in \[0, 1\)/);
    // Written compactly and in files: the stage comes back, and so do the predictions.
    expect(parseLayers('conv4k3,dropout0.25,maxpool2,dropout.5,10').filter((l) => l.type === 'dropout')).toEqual([
      { type: 'dropout', rate: 0.25 },
      { type: 'dropout', rate: 0.5 },
    ]);
    expect(() => parseLayers('dropout1')).toThrow(/'dropout1' is not a layer/);
    const loaded = readModel(device, await modelToSafetensors(withDropout)) as Sequential;
    expect(loaded.describe()).toBe(withDropout.describe());
    expect(Array.from(await loaded.predict(rows))).toEqual(Array.from(await withDropout.predict(rows)));
    for (const m of [withDropout, without, loaded]) m.dispose();
  });

  it('image augmentation: each image shifted (exactly) and rotated (bilinear, float64 reference) by its seeded draws; shift 0 trains exactly as without it', async () => {
    const { device } = ctx;
    const [n, h, w, c] = [3, 5, 4, 2];
    const values = randomArray(n * h * w * c, 41);
    const x = device.tensor(values, [n, h * w * c]);
    const out = poisoned(device, [n, h * w * c]);
    augmentImages(x, [h, w, c], { shift: 2 }, 99, out);
    const want = new Float32Array(values.length);
    for (let i = 0; i < n; i++) {
      const [dy, dx] = shiftOf(i, 99, 2);
      expect(Math.max(Math.abs(dy), Math.abs(dx))).toBeLessThanOrEqual(2);
      for (let r = 0; r < h; r++)
        for (let q = 0; q < w; q++)
          for (let ch = 0; ch < c; ch++) {
            const [sr, sq] = [r - dy, q - dx];
            want[((i * h + r) * w + q) * c + ch] = sr >= 0 && sr < h && sq >= 0 && sq < w ? values[((i * h + sr) * w + sq) * c + ch]! : 0;
          }
    }
    expect(Array.from(await out.read())).toEqual(Array.from(want));
    // Over many images every shift in [-2, 2] on both axes turns up.
    expect(new Set(Array.from({ length: 400 }, (_, i) => shiftOf(i, 7, 2).join())).size).toBe(25);
    // Rotations of up to 0.3 rad with the shifts: the inverse map and bilinear sampling in float64.
    const rotated = poisoned(device, [n, h * w * c]);
    augmentImages(x, [h, w, c], { shift: 1, rotate: 0.3 }, 5, rotated);
    const ref = new Float64Array(values.length);
    const px = (i: number, r: number, q: number, ch: number) => (r >= 0 && r < h && q >= 0 && q < w ? values[((i * h + r) * w + q) * c + ch]! : 0);
    for (let i = 0; i < n; i++) {
      const [dy, dx] = shiftOf(i, 5, 1);
      const a = angleOf(i, 5, 0.3);
      expect(Math.abs(a)).toBeLessThanOrEqual(0.3);
      const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
      for (let r = 0; r < h; r++)
        for (let q = 0; q < w; q++) {
          const [u, v] = [r - dy - cy, q - dx - cx];
          const [sr, sq] = [Math.cos(a) * u + Math.sin(a) * v + cy, -Math.sin(a) * u + Math.cos(a) * v + cx];
          const [r0, q0] = [Math.floor(sr), Math.floor(sq)];
          const [fr, fq] = [sr - r0, sq - q0];
          for (let ch = 0; ch < c; ch++)
            ref[((i * h + r) * w + q) * c + ch] =
              (1 - fr) * (1 - fq) * px(i, r0, q0, ch) + (1 - fr) * fq * px(i, r0, q0 + 1, ch) + fr * (1 - fq) * px(i, r0 + 1, q0, ch) + fr * fq * px(i, r0 + 1, q0 + 1, ch);
        }
    }
    // WGSL allows sin and cos an absolute error of 2^-11 (SwiftShader uses it; llvmpipe is within 1e-5): sources move by up to ~1e-3 pixels.
    expect(relativeError(await rotated.read(), ref)).toBeLessThan(2e-3);
    expect(new Set(Array.from({ length: 50 }, (_, i) => angleOf(i, 5, 0.3))).size).toBe(50);
    for (const t of [x, out, rotated]) t.dispose();
    const layers: LayerSpec[] = [
      { type: 'conv2d', filters: 3, kernel: 3 },
      { type: 'dense', units: 3 },
    ];
    const data = toyData(120, 36, 3, 6);
    const train = async (hooks: TrainingHook[]) => {
      const m = Sequential.create(device, { input: [6, 6, 1], layers, seed: 4 });
      await fit(m, data, { epochs: 2, batchSize: 25, learningRate: 0.05, seed: 1, hooks });
      const weights = await m.layers[0]!.weight.read();
      m.dispose();
      return Array.from(weights);
    };
    const plain = await train([]);
    expect(await train([imageAugmentation({ shift: 0 })])).toEqual(plain);
    expect(await train([imageAugmentation({ shift: 2, seed: 3 })])).not.toEqual(plain);
    expect(await train([imageAugmentation({ shift: 2, seed: 3 })])).toEqual(await train([imageAugmentation({ shift: 2, seed: 3 })]));
    expect(await train([imageAugmentation({ shift: 1, rotate: 10, seed: 3 })])).not.toEqual(plain);
    expect(() => imageAugmentation({ shift: 1, rotate: 200 })).toThrow(/rotate must be in \[0, 180\] degrees/);
    const mlp = MLP.create(device, [36, 4, 3], { seed: 1 });
    await expect(fit(mlp, data, { epochs: 1, batchSize: 25, learningRate: 0.05, hooks: [imageAugmentation({ shift: 1 })] })).rejects.toThrow(/must take \[h, w, c\] images/);
    mlp.dispose();
  });

  it('predict takes more host rows than one pass holds: passes of 1,024 rows, the same outputs as one forward pass', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [6, 5, 2], layers: parseLayers('conv3k3,bn,maxpool2,4'), seed: 9 });
    const x = randomArray(2500 * model.inputs, 12);
    const whole = await model.forward(device.tensor(x, [2500, model.inputs])).read();
    const probabilities = Float64Array.from(whole, (_, i) => {
      const row = whole.subarray(i - (i % 4), i - (i % 4) + 4);
      const top = Math.max(...row);
      return Math.exp(whole[i]! - top) / row.reduce((s, v) => s + Math.exp(v - top), 0);
    });
    const passes = await model.predict(x, { probabilities: true });
    expect(passes.length).toBe(2500 * 4);
    expect(relativeError(passes, probabilities)).toBeLessThan(1e-6);
    model.dispose();
  });

  it('inference frees what it allocates: repeated forward passes and evaluations leave the live GPU memory where it was', async () => {
    const { device } = ctx;
    // Filters of 6 (not a multiple of 4) and of 4, batch norm, pooling and dense layers.
    const model = Sequential.create(device, { input: [9, 9, 1], layers: parseLayers('conv6k3,bn,maxpool2,conv4k2,10,3'), seed: 3 });
    const data = { rows: 300, cols: model.inputs, features: randomArray(300 * model.inputs, 4), labels: Int32Array.from({ length: 300 }, (_, i) => i % 3), classes: 3 };
    const x = device.tensor(data.features.subarray(0, 50 * model.inputs), [50, model.inputs]);
    const once = async () => {
      const z = model.forward(x);
      await z.read();
      z.dispose();
      await evaluate(model, data, { batchSize: 128 });
    };
    await once(); // pipelines, pooled buffers and the folded batch norm made once
    const live = device.memory().liveBytes;
    for (let i = 0; i < 3; i++) await once();
    expect(device.memory().liveBytes).toBe(live);
    x.dispose();
    model.dispose();
  });

  it('the shared convolution checks (also run in the browser and on a lent GPU)', async () => {
    const checks = await convChecks(ctx.device);
    expect(checks.length).toBe(9); // forward, 3 weight gradients, filter ablation of 2 convolutions x 2 chunkings, dropout
    for (const c of checks) expect(c.error, c.name).toBeLessThan(c.tolerance);
  });

  it.each(NETS)('$name: forward pass and gradients against float64 and finite differences', async ({ input, layers }) => {
    const { device } = ctx;
    const model = Sequential.create(device, { input, layers, seed: 3 });
    const rows = 5;
    const x = randomArray(rows * model.inputs, 11);
    const r = new Random(12);
    const labels = Int32Array.from({ length: rows }, () => r.int(3));
    const params = await Promise.all(model.layers.map(async (l) => ({ weight: Float64Array.from(await l.weight.read()), bias: Float64Array.from(await l.bias.read()) })));
    // Batch norms get random parameters and running averages (PyTorch starts them at 1, 0, 0, 1).
    const norms = model.norms.map((n, i) => {
      const c = n.gamma.size;
      const values = { gamma: randomArray(c, 40 + i, 0.5, 2), beta: randomArray(c, 50 + i), mean: randomArray(c, 60 + i), variance: randomArray(c, 70 + i, 0.5, 2) };
      n.gamma.write(values.gamma);
      n.beta.write(values.beta);
      n.running.write(Float32Array.from([...values.mean, ...values.variance]));
      return { gamma: Float64Array.from(values.gamma), beta: Float64Array.from(values.beta), mean: Float64Array.from(values.mean), variance: Float64Array.from(values.variance) };
    });
    const logits = model.forward(device.tensor(x, [rows, model.inputs]));
    expect(relativeError(await logits.read(), refSequential(model.stages, params, x, rows, undefined, undefined, { params: norms, training: false }))).toBeLessThan(1e-5);
    const bp = model.backprop(rows, 'softmaxCrossEntropy');
    bp.x.write(x);
    bp.gradients(device.tensor(labels, [rows]), newStats(device), { seed: 5, step: 2 });
    // Dropout stages drop what the host's copy of the shader's test says for this seed and step.
    const rate = (stage: number) => (model.stages[stage]!.spec as { rate: number }).rate;
    const masks = (stage: number, j: number) => (dropped(j, mixSeeds(5, 2, stage), rate(stage)) ? 0 : 1 / (1 - rate(stage)));
    const loss = () => refLoss('softmaxCrossEntropy', refSequential(model.stages, params, x, rows, undefined, masks, { params: norms, training: true }), rows, 3, labels);
    const fd = (a: Float64Array) =>
      Float64Array.from(a, (_, i) => {
        const keep = a[i]!;
        a[i] = keep + 1e-5;
        const up = loss();
        a[i] = keep - 1e-5;
        const down = loss();
        a[i] = keep;
        return (up - down) / 2e-5;
      });
    for (const [i, p] of params.entries()) {
      expect(relativeError(await bp.weightGrads[i]!.read(), fd(p.weight)), `layer ${i} weights`).toBeLessThan(1e-3);
      // A batch norm subtracts the batch mean, so the bias before it has no effect: its gradient is 0 but for rounding.
      const normed = model.stages[model.stages.findIndex((s) => s.param === i) + 1]?.spec.type === 'batchNorm';
      if (normed) expect(Math.max(...(await bp.biasGrads[i]!.read()).map(Math.abs)), `layer ${i} biases`).toBeLessThan(1e-6);
      else expect(relativeError(await bp.biasGrads[i]!.read(), fd(p.bias)), `layer ${i} biases`).toBeLessThan(1e-3);
    }
    for (const [i, n] of norms.entries()) {
      expect(relativeError(await bp.normGrads[i]!.gamma.read(), fd(n.gamma)), `batch norm ${i} gamma`).toBeLessThan(1e-3);
      expect(relativeError(await bp.normGrads[i]!.beta.read(), fd(n.beta)), `batch norm ${i} beta`).toBeLessThan(1e-3);
    }
    // The step moved the running averages by PyTorch's rule (momentum 0.1, the variance unbiased).
    for (const [i, n] of model.norms.entries()) {
      const before = norms[i]!;
      const stage = model.stages.find((s) => s.norm === i)!;
      const c = before.gamma.length;
      const { mean, variance, count } = batchInputStats(model, params, norms, x, rows, stage);
      const expected = [...Array.from(mean, (m, j) => 0.9 * before.mean[j]! + 0.1 * m), ...Array.from(variance, (v, j) => 0.9 * before.variance[j]! + (0.1 * v * count) / (count - 1))];
      expect(relativeError(await n.running.read(), expected), `batch norm ${i} running averages`).toBeLessThan(1e-5);
      expect(c).toBe(n.gamma.size);
    }
    bp.dispose();
    model.dispose();
  });
});

// Training runs on llvmpipe, the adapter shrinkray picks on CPU machines (SwiftShader runs the same kernels, checked above, at a fraction of the speed).
describe('Sequential training (llvmpipe)', () => {
  const ctx = useDevice('llvmpipe');

  it('LeNet-5 trains on 3,000 MNIST rows with fit; pruning and quantization work on its convolutions; it teaches an MLP student', async () => {
    const { device } = ctx;
    const train = loadMnist('train', { limit: 3000 });
    const test = loadMnist('test', { limit: 1000 });
    const model = Sequential.create(device, { input: [28, 28, 1], layers: LENET5, seed: 1 });
    expect(model.parameterCount()).toBe(431_080);
    expect(model.describe()).toBe('28x28x1-conv20k5-maxpool2-conv50k5-maxpool2-flatten-500-10');
    // A convolution's weights work at each of its output positions: 24 x 24 and 8 x 8 here.
    expect((await pruneReport(model)).flopsDense).toBe(2 * (24 * 24 * 25 * 20 + 8 * 8 * 500 * 50 + 800 * 500 + 500 * 10));
    const history = await fit(model, train, { epochs: 2, batchSize: 64, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9, nesterov: true }, seed: 1 });
    expect(history.loss[1]!).toBeLessThan(history.loss[0]!);
    const dense = await evaluate(model, test);
    expect(dense.accuracy).toBeGreaterThan(0.93);
    const metrics = await testMetrics(model, test);
    expect(metrics.kind === 'classification' && metrics.accuracy).toBeCloseTo(dense.accuracy, 6);
    // Global magnitude pruning reaches its exact count on conv and dense weights alike; the masks hold through fine-tuning.
    const pruned = model.clone();
    await prune(pruned, { type: 'global', sparsity: 0.8 });
    await fit(pruned, train, { epochs: 1, batchSize: 64, learningRate: 0.01, seed: 2 });
    const report = await pruneReport(pruned);
    expect(report.nonzero).toBe(Math.round(0.2 * report.weights));
    expect((await evaluate(pruned, test)).accuracy).toBeGreaterThan(dense.accuracy - 0.03);
    // Per-filter int8: one scale per output channel of each convolution.
    const int8 = model.clone();
    const quant = await quantizeWeights(int8, { bits: 8 });
    expect(quant.map((q) => q.weight.scale.size)).toEqual([20, 50, 500, 10]);
    expect(Math.abs((await evaluate(int8, test)).accuracy - dense.accuracy)).toBeLessThan(0.01);
    // Distillation from the network into an MLP student (fit's distillation takes any model as teacher).
    const student = MLP.create(device, [784, 30, 10], { seed: 2 });
    await fit(student, train, { epochs: 5, batchSize: 64, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 3, distillation: { teacher: model, alpha: 0.5, temperature: 3 } });
    expect((await evaluate(student, test)).accuracy).toBeGreaterThan(0.85);
    for (const m of [model, pruned, int8, student]) m.dispose();
  }, 240_000);
});

describe('Sequential model files', () => {
  const ctx = useDevice('llvmpipe');

  it('save and load: pruned, quantized and shared layers, the same predictions, the size is the file length', async () => {
    const { device } = ctx;
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-seq-'));
    try {
      const model = Sequential.create(device, { input: [9, 8, 2], layers: NETS[0]!.layers.map((l) => ({ ...l })), seed: 5 });
      await prune(model, { type: 'global', sparsity: 0.5 });
      const quantized = model.clone();
      await quantizeWeights(quantized, { bits: 4 });
      const shared = model.clone();
      await quantizeWeights(shared, { method: 'kmeans', bits: 3 });
      const x = randomArray(6 * model.inputs, 9);
      for (const m of [model, quantized, shared]) {
        const path = join(dir, 'm.safetensors');
        const bytes = await saveModel(m, path, { note: 'test' });
        expect(statSync(path).size).toBe(bytes);
        expect((await compressedSize(m, { metadata: { note: 'test' } })).totalBytes).toBe(bytes);
        const file = new Uint8Array(readFileSync(path));
        const loaded = readModel(device, file);
        expect(loaded).toBeInstanceOf(Sequential);
        expect((loaded as Sequential).describe()).toBe(m.describe());
        expect(Array.from(await loaded.predict(x))).toEqual(Array.from(await m.predict(x)));
        expect((await pruneReport(loaded)).nonzero).toBe((await pruneReport(m)).nonzero);
        expect(() => modelFromSafetensors(device, file)).toThrow(/holds a network with convolution or pooling layers, not an MLP: read it with readModel/);
        loaded.dispose();
      }
      for (const m of [model, quantized, shared]) m.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a network that does not match the weight matrices, or cannot be placed, is a DataFormatError', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [6, 5, 2], layers: NETS[0]!.layers, seed: 1 });
    const good = await modelToSafetensors(model);
    const file = decodeSafetensors(good);
    const tensors = Object.fromEntries([...file.tensors].map(([n, t]) => [n, { dtype: t.dtype as 'F32', shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) }]));
    const { checksum: _, ...meta } = file.metadata;
    const network = JSON.parse(meta.network!);
    const withNetwork = (n: unknown) => encodeSafetensors(tensors, { ...meta, network: JSON.stringify(n) }, { checksum: true });
    expect(() => readModel(device, withNetwork({ ...network, input: [8, 5, 2] }))).toThrow(/architecture is inconsistent: the network needs weights/);
    expect(() => readModel(device, withNetwork({ ...network, layers: network.layers.slice(0, 2) }))).toThrow(/network is invalid: The last layer must be a dense layer/);
    expect(() => readModel(device, withNetwork({ input: 'x' }))).toThrow(/malformed network/);
    model.dispose();
  });
});
