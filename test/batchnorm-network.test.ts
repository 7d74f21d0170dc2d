/**
 * Batch norm in networks: placement and the compact notation, folding into the layer before
 * (the same predictions), files, filter removal and ablation that follow the batch norm, training
 * (the running averages move; a batch of one row is refused before training), quantization only
 * of folded weights, ONNX export run in onnxruntime-node, and PyTorch import against an
 * onnxruntime oracle of PyTorch's own NCHW layout.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { filterImportance } from '../src/compress/filter-importance.js';
import { removeFilters } from '../src/compress/filters.js';
import { foldBatchNorm } from '../src/compress/fold.js';
import { prune } from '../src/compress/prune.js';
import { quantizeWeights } from '../src/compress/quantize.js';
import { compressedSize } from '../src/compress/size.js';
import { fileParts, modelToSafetensors, readModel } from '../src/io/model-file.js';
import { bytesOf, FLOAT, IR_VERSION, node, OPSET, tensor, valueInfo } from '../src/io/onnx-proto.js';
import { networkToOnnx } from '../src/io/onnx-network.js';
import { ProtoWriter } from '../src/io/protobuf.js';
import { networkFromPytorchSafetensors } from '../src/io/pytorch.js';
import { decodeSafetensors, encodeSafetensors, tensorArray } from '../src/io/safetensors.js';
import { parseLayers } from '../src/nn/architecture.js';
import { evaluate } from '../src/nn/evaluate.js';
import { fit } from '../src/nn/train.js';
import { type LayerSpec, placeStages, Sequential } from '../src/nn/sequential.js';
import { Random } from '../src/random.js';
import { randomArray, relativeError, transposeOf, useDevice } from './helpers.js';
import { type RefNorm, refSequential } from './reference-cnn.js';
import { refLoss } from './reference-mlp.js';
import { toyData } from './toy-data.js';

const LAYERS = parseLayers('conv4k3p1,bn,maxpool2,conv5k2,bn,6,bn,3');

/** A model whose batch norms have random parameters and running averages, with their float64 copies. */
async function randomized(model: Sequential, seed: number): Promise<{ params: { weight: Float64Array; bias: Float64Array }[]; norms: RefNorm[] }> {
  const norms = model.norms.map((n, i) => {
    const c = n.gamma.size;
    const v = { gamma: randomArray(c, seed + i, 0.5, 2), beta: randomArray(c, seed + 10 + i), mean: randomArray(c, seed + 20 + i), variance: randomArray(c, seed + 30 + i, 0.2, 2) };
    n.gamma.write(v.gamma);
    n.beta.write(v.beta);
    n.running.write(Float32Array.from([...v.mean, ...v.variance]));
    return { gamma: Float64Array.from(v.gamma), beta: Float64Array.from(v.beta), mean: Float64Array.from(v.mean), variance: Float64Array.from(v.variance) };
  });
  const params = await Promise.all(model.layers.map(async (l) => ({ weight: Float64Array.from(await l.weight.read()), bias: Float64Array.from(await l.bias.read()) })));
  return { params, norms };
}

describe('batch norm placed', () => {
  it("'bn' after a convolution or dense layer: that layer has no activation, the batch norm has relu; errors name the layer", () => {
    expect(LAYERS.map((l) => l.type)).toEqual(['conv2d', 'batchNorm', 'maxPool2d', 'conv2d', 'batchNorm', 'dense', 'batchNorm', 'dense']);
    const stages = placeStages([8, 7, 2], LAYERS);
    // conv, bn, maxpool, conv, bn, flatten (passes relu on), dense, bn, dense
    expect(stages.map((s) => s.activation)).toEqual(['identity', 'relu', 'identity', 'identity', 'relu', 'relu', 'identity', 'relu', 'identity']);
    expect(stages.filter((s) => s.spec.type === 'batchNorm').map((s) => s.spec)).toEqual(new Array(3).fill({ type: 'batchNorm', eps: 1e-5, momentum: 0.1, activation: 'relu' }));
    expect(() => placeStages([8, 7, 2], parseLayers('bn,conv4k3,3'))).toThrow(/^layer 1 \(bn\): a batch norm must follow a convolution or dense layer directly .*not the input\.$/);
    expect(() => placeStages([8, 7, 2], parseLayers('conv4k3,maxpool2,bn,3'))).toThrow(/layer 3 \(bn\): a batch norm must follow a convolution or dense layer directly .*not maxpool2/);
    const relu: LayerSpec[] = [{ type: 'conv2d', filters: 4, kernel: 3, activation: 'relu' }, { type: 'batchNorm' }, { type: 'dense', units: 3 }];
    expect(() => placeStages([8, 7, 2], relu)).toThrow(/layer 1 \(conv4k3\): a batch norm follows it, so its activation comes after the batch norm: give relu to the batch norm/);
    expect(() => placeStages([8, 7, 2], parseLayers('conv4k3,bn'))).toThrow(/The last layer must be a dense layer/);
    expect(() =>
      placeStages(
        [4],
        [
          { type: 'dense', units: 3 },
          { type: 'batchNorm', momentum: 2 },
          { type: 'dense', units: 2 },
        ],
      ),
    ).toThrow(/layer 2 \(bn\): momentum must be in \[0, 1\]/);
  });
});

describe('batch norm in networks', () => {
  const ctx = useDevice();

  it('folds into the layer before: the same predictions, no batch norm left, masks kept; the given model unchanged', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: LAYERS, seed: 3 });
    const { params, norms } = await randomized(model, 40);
    await prune(model, { type: 'global', sparsity: 0.5 });
    const pruned = await Promise.all(model.layers.map(async (l) => Float64Array.from(await l.weight.read())));
    const x = randomArray(6 * model.inputs, 7);
    const expected = refSequential(
      model.stages,
      pruned.map((w, i) => ({ weight: w, bias: params[i]!.bias })),
      x,
      6,
      undefined,
      undefined,
      { params: norms, training: false },
    );
    const folded = await foldBatchNorm(model);
    expect(folded.describe()).toBe('8x7x2-conv4k3p1-maxpool2-conv5k2-flatten-6-3');
    expect(folded.norms).toEqual([]);
    expect(folded.stages.filter((s) => s.param !== undefined).map((s) => s.activation)).toEqual(['relu', 'relu', 'relu', 'identity']);
    expect(relativeError(await folded.predict(x), expected)).toBeLessThan(1e-5);
    // Inference folds by itself (predict prepares it); forward alone runs the batch norms: the same outputs.
    const input = device.tensor(x, [6, model.inputs]);
    expect(relativeError(await model.forward(input).read(), expected)).toBeLessThan(1e-5);
    expect(relativeError(await model.predict(x), expected)).toBeLessThan(1e-5);
    // A batch norm written after that: inference notices (the folded weights are made again).
    norms[2]!.beta = norms[2]!.beta.map((b) => b + 1);
    model.norms[2]!.beta.write(Float32Array.from(norms[2]!.beta));
    const moved = refSequential(
      model.stages,
      pruned.map((w, i) => ({ weight: w, bias: params[i]!.bias })),
      x,
      6,
      undefined,
      undefined,
      { params: norms, training: false },
    );
    expect(relativeError(await model.forward(input).read(), moved)).toBeLessThan(1e-5);
    expect(relativeError(await model.predict(x), moved)).toBeLessThan(1e-5);
    norms[2]!.beta = norms[2]!.beta.map((b) => b - 1);
    model.norms[2]!.beta.write(Float32Array.from(norms[2]!.beta));
    expect(model.describe()).toBe('8x7x2-conv4k3p1-bn-maxpool2-conv5k2-bn-flatten-6-bn-3');
    for (const [i, l] of folded.layers.entries()) {
      const w = await l.weight.read();
      const mask = await l.mask!.read();
      expect(Array.from(w, (v) => v === 0)).toEqual(Array.from(pruned[i]!, (v) => v === 0));
      expect(Array.from(mask, (m) => m === 0)).toEqual(Array.from(pruned[i]!, (v) => v === 0));
    }
    expect(model.parameterCount() - folded.parameterCount()).toBe(2 * (4 + 5 + 6));
    // Quantization needs folded weights: it refuses the model with batch norms and takes the folded one.
    await expect(quantizeWeights(model, { bits: 8 })).rejects.toThrow(/Weight quantization works on folded weights: fold the batch norms/);
    await expect(quantizeWeights(model, { method: 'kmeans', bits: 4 })).rejects.toThrow(/k-means weight sharing works on folded weights/);
    await quantizeWeights(folded, { bits: 8 });
    expect(relativeError(await folded.predict(x), expected)).toBeLessThan(0.02);
    for (const m of [model, folded]) m.dispose();
  });

  it('files keep the batch norms: the same predictions, their bytes counted as norms, the size the file length', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: LAYERS, seed: 4 });
    await randomized(model, 50);
    const bytes = await modelToSafetensors(model);
    const loaded = readModel(device, bytes) as Sequential;
    expect(loaded.describe()).toBe(model.describe());
    const x = randomArray(3 * model.inputs, 8);
    expect(Array.from(await loaded.predict(x))).toEqual(Array.from(await model.predict(x)));
    expect(Array.from(await loaded.norms[1]!.running.read())).toEqual(Array.from(await model.norms[1]!.running.read()));
    expect(fileParts(bytes).norms).toBe(4 * 4 * (4 + 5 + 6)); // four F32 tensors per batch norm
    expect((await compressedSize(model)).totalBytes).toBe(bytes.length);
    // A file whose batch norm lost a tensor, or holds a negative variance (checksum made again): refused, named.
    const file = decodeSafetensors(bytes);
    const tensors = (change: (name: string, values: Float32Array) => Float32Array | undefined) =>
      Object.fromEntries(
        [...file.tensors].flatMap(([name, t]) => {
          const values = change(name, tensorArray(file, name, t.dtype as 'F32', t.shape) as Float32Array);
          return values ? [[name, { dtype: t.dtype as 'F32', shape: t.shape, data: values }]] : [];
        }),
      );
    const { checksum: _, ...metadata } = file.metadata;
    const without = encodeSafetensors(
      tensors((name, v) => (name === 'norms.0.weight' ? undefined : v)),
      metadata,
      { checksum: true },
    );
    expect(() => readModel(device, without)).toThrow(/norms\.0\.weight' is missing/);
    const negative = encodeSafetensors(
      tensors((name, v) => (name === 'norms.1.running_var' ? v.map((x, i) => (i === 2 ? -1 : x)) : v)),
      metadata,
      { checksum: true },
    );
    expect(() => readModel(device, negative)).toThrow(/Batch norm 1 \(stage 5\) in the file holds NaN, infinite values or a negative variance/);
    for (const m of [model, loaded]) m.dispose();
  });

  it("filter removal takes the batch norm's channel too, and ablation zeroes the channel after the batch norm", async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: LAYERS, seed: 5 });
    const { params, norms } = await randomized(model, 60);
    const rows = 4;
    const x = randomArray(rows * model.inputs, 9);
    const ref = (zero?: { stage: number; channel: number }) => refSequential(model.stages, params, x, rows, zero, undefined, { params: norms, training: false });
    for (const [conv, filter] of [
      [0, 2],
      [3, 4],
    ] as const) {
      const small = await removeFilters(model, conv, [filter]);
      expect(small.norms[conv === 0 ? 0 : 1]!.gamma.size).toBe(conv === 0 ? 3 : 4);
      expect(relativeError(await small.predict(x), ref({ stage: conv + 1, channel: filter }))).toBeLessThan(1e-5);
      small.dispose();
    }
    const labels = Int32Array.from([0, 2, 1, 2]);
    const importance = await filterImportance(model, { rows, cols: model.inputs, features: x, labels, classes: 3 }, { chunkRows: 3 });
    const base = refLoss('softmaxCrossEntropy', ref(), rows, 3, labels);
    expect(importance.stages.map((s) => s.stage)).toEqual([0, 3]);
    for (const { stage, scores } of importance.stages) {
      const expected = Array.from(scores, (_, channel) => refLoss('softmaxCrossEntropy', ref({ stage: stage + 1, channel }), rows, 3, labels) - base);
      expect(relativeError(scores, expected), `stage ${stage}`).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it('trains: the loss falls, the running averages move; a dense batch norm refuses a batch of one row before training', async () => {
    const { device } = ctx;
    const data = toyData(300, 36, 3, 4);
    const model = Sequential.create(device, { input: [6, 6, 1], layers: parseLayers('conv6k3,bn,maxpool2,12,bn,3'), seed: 2 });
    const history = await fit(model, data, { epochs: 15, batchSize: 32, learningRate: 0.05, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 });
    expect(history.loss[14]!).toBeLessThan(0.6 * history.loss[0]!);
    expect(history.accuracy[14]!).toBeGreaterThan(0.7);
    // Inference normalizes with the running averages: they must describe the data the model learned on.
    expect((await evaluate(model, data)).accuracy).toBeGreaterThan(0.7);
    const running = await model.norms[1]!.running.read();
    expect(running.slice(0, 12).some((m) => m !== 0)).toBe(true);
    expect(running.slice(12).some((v) => v !== 1)).toBe(true);
    await expect(fit(model, data, { epochs: 1, batchSize: 299, learningRate: 0.05 })).rejects.toThrow(/needs batches of two rows or more, but batchSize 299 on 300 rows leaves a batch of one row/);
    model.dispose();
  });

  it('exports BatchNormalization to ONNX: onnxruntime-node computes the same logits, fused or as written', async () => {
    const { device } = ctx;
    const model = Sequential.create(device, { input: [8, 7, 2], layers: LAYERS, seed: 6 });
    await randomized(model, 70);
    const x = randomArray(5 * model.inputs, 10);
    const ours = await model.predict(x);
    for (const optimize of [true, false]) {
      const session = await ort.InferenceSession.create(await networkToOnnx(model), { graphOptimizationLevel: optimize ? 'all' : 'disabled' });
      const theirs = (await session.run({ input: new ort.Tensor('float32', x, [5, model.inputs]) })).output!.data as Float32Array;
      await session.release();
      expect(relativeError(theirs, ours)).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it("imports PyTorch's Conv2d, BatchNorm2d, Linear, BatchNorm1d state dict: the logits of onnxruntime running PyTorch's NCHW layout", async () => {
    const r = new Random(9);
    const t = (shape: number[], lo = -0.5, hi = 0.5) => ({ dtype: 'F32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(lo, hi)) });
    // nn.Sequential(Conv2d(2, 4, 3), BatchNorm2d(4), ReLU(), MaxPool2d(2), Flatten(), Linear(36, 5), BatchNorm1d(5), ReLU(), Linear(5, 3))
    const dict = {
      '0.weight': t([4, 2, 3, 3]),
      '0.bias': t([4]),
      '1.weight': t([4], 0.5, 2),
      '1.bias': t([4]),
      '1.running_mean': t([4]),
      '1.running_var': t([4], 0.2, 2),
      '1.num_batches_tracked': { dtype: 'I32' as const, shape: [2], data: Int32Array.from([100, 0]) }, // made an I64 scalar below, as PyTorch saves it
      '5.weight': t([5, 36]),
      '5.bias': t([5]),
      '6.weight': t([5], 0.5, 2),
      '6.bias': t([5]),
      '6.running_mean': t([5]),
      '6.running_var': t([5], 0.2, 2),
      '8.weight': t([3, 5]),
      '8.bias': t([3]),
    };
    const layers = parseLayers('conv4k3,bn,maxpool2,flatten,5,bn,3');
    const model = networkFromPytorchSafetensors(ctx.device, asInt64Scalar(encodeSafetensors(dict, {}), '1.num_batches_tracked'), { input: [8, 8, 2], layers });
    // The oracle: PyTorch's layout run by onnxruntime on NCHW images.
    const x = randomArray(3 * 128, 11);
    const nchw = new Float32Array(x.length);
    for (let n = 0; n < 3; n++) for (let y = 0; y < 8; y++) for (let xx = 0; xx < 8; xx++) for (let c = 0; c < 2; c++) nchw[((n * 2 + c) * 8 + y) * 8 + xx] = x[((n * 8 + y) * 8 + xx) * 2 + c]!;
    const graph = new ProtoWriter();
    for (const [k, v] of Object.entries(dict)) {
      if (k.endsWith('num_batches_tracked')) continue;
      const linear = /^[58]\.weight$/.test(k);
      graph.message(5, tensor(k, FLOAT, linear ? [v.shape[1]!, v.shape[0]!] : v.shape, bytesOf(linear ? transposeOf(v.data as Float32Array, v.shape[0]!, v.shape[1]!) : (v.data as Float32Array))));
    }
    const bn = (i: number) => [`${i}.weight`, `${i}.bias`, `${i}.running_mean`, `${i}.running_var`];
    for (const n of [
      node('Conv', ['input', '0.weight', '0.bias'], ['c'], 'c', { kernel_shape: [3, 3] }),
      node('BatchNormalization', ['c', ...bn(1)], ['b'], 'b', { epsilon: { float: 1e-5 } }),
      node('Relu', ['b'], ['r'], 'r'),
      node('MaxPool', ['r'], ['p'], 'p', { kernel_shape: [2, 2], strides: [2, 2] }),
      node('Flatten', ['p'], ['f'], 'f', { axis: 1 }),
      node('Gemm', ['f', '5.weight', '5.bias'], ['d'], 'd'),
      node('BatchNormalization', ['d', ...bn(6)], ['e'], 'e', { epsilon: { float: 1e-5 } }),
      node('Relu', ['e'], ['s'], 's'),
      node('Gemm', ['s', '8.weight', '8.bias'], ['output'], 'o'),
    ])
      graph.message(1, n);
    const dims = [['batch'], 2, 8, 8].map((d) => (typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d[0]!)));
    const shape = dims.reduce((w, d) => w.message(1, d), new ProtoWriter());
    graph
      .string(2, 'oracle')
      .message(11, new ProtoWriter().string(1, 'input').message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, FLOAT).message(2, shape))))
      .message(12, valueInfo('output', 3));
    const onnx = new ProtoWriter().int(1, IR_VERSION).message(7, graph).message(8, new ProtoWriter().string(1, '').int(2, OPSET)).finish();
    const session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'disabled' });
    const theirs = (await session.run({ input: new ort.Tensor('float32', nchw, [3, 2, 8, 8]) })).output!.data as Float32Array;
    await session.release();
    expect(relativeError(await model.predict(x), theirs)).toBeLessThan(1e-5);
    // Modules out of the layers' order, or missing, are named.
    expect(() => networkFromPytorchSafetensors(ctx.device, encodeSafetensors(dict, {}), { input: [8, 8, 2], layers: parseLayers('conv4k3,maxpool2,flatten,5,bn,3') })).toThrow(
      /the file holds 3 weight tensors and 2 batch norms, the layers need 3 and 1/,
    );
    model.dispose();
  });
});

/** The file with an 8-byte tensor retyped as an I64 scalar (shrinkray writes no I64; PyTorch's num_batches_tracked is one). */
function asInt64Scalar(bytes: Uint8Array, name: string): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  header[name] = { ...header[name], dtype: 'I64', shape: [] };
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const out = new Uint8Array(8 + text.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(new TextEncoder().encode(text), 8);
  out.set(bytes.subarray(8 + n), 8 + text.length);
  return out;
}
