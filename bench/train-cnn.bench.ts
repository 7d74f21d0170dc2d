/**
 * LeNet-5 training throughput (#19): Caffe's LeNet-5 (conv 20@5x5, max-pool 2, conv 50@5x5,
 * max-pool 2, dense 500, dense 10) on MNIST at batch 64 with plain SGD, shrinkray against
 * TF.js's WebGPU backend on the same GPUDevice and TF.js's wasm backend (XNNPACK on the CPU), the
 * same network in TF.js core ops (conv2d NHWC 'valid', maxPool, matMul, relu, softmax
 * cross-entropy). wasm 4.22 has no Conv2DBackpropFilter kernel, so there a convolution's gradient
 * is made of its own fastest kernels: conv2d forward (XNNPACK), Conv2DBackpropInput for the input,
 * and Conv3DBackpropFilterV2 on depth-1 views for the filters (conv3d as a whole ran the forward
 * pass 57x slower than conv2d: 478 against 8.4 ms for LeNet-5's second convolution). After a warm-up, each trains STEPS steps over the same rows, timed in three
 * interleaved rounds; the best round counts. BENCH_QUICK=1: fewer steps.
 */
import type { Scalar, Tensor as TfTensor } from '@tensorflow/tfjs-core';
import type { Dataset } from '../src/data/dataset.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { Sequential } from '../src/nn/sequential.js';
import { fit } from '../src/nn/train.js';
import { Random } from '../src/random.js';
import { benchDevice, fmt, type Tf, tfOnDevice, tfWasm } from './common.js';
import { parseLayers } from '../src/nn/architecture.js';

const BATCH = 64;
const LR = 0.05;

function tfLenet(tf: Tf, seed: number, backend: string) {
  const he = (shape: number[], fanIn: number, s: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', s));
  const v = {
    c1: he([5, 5, 1, 20], 25, seed),
    b1: tf.variable(tf.zeros([20])),
    c2: he([5, 5, 20, 50], 500, seed + 1),
    b2: tf.variable(tf.zeros([50])),
    f1: he([800, 500], 800, seed + 2),
    b3: tf.variable(tf.zeros([500])),
    f2: tf.variable(tf.randomUniform([500, 10], -Math.sqrt(6 / 510), Math.sqrt(6 / 510), 'float32', seed + 3)),
    b4: tf.variable(tf.zeros([10])),
  };
  // [n, h, w, c] * [kh, kw, c, f]; where the backend lacks conv2d's filter gradient, a custom gradient takes it from the 3D kernel on depth-1 views.
  const depth1 = !tf.getKernel('Conv2DBackpropFilter', backend);
  const conv2dWithFilterGrad = tf.customGrad(((x: TfTensor, w: TfTensor, save: (t: TfTensor[]) => void) => {
    save([x, w]);
    return {
      value: tf.conv2d(x as never, w as never, 1, 'valid'),
      gradFunc: (dy: TfTensor, [xs, ws]: TfTensor[]) => {
        const dx = tf.conv2dTranspose(dy as never, ws as never, xs!.shape as [number, number, number, number], 1, 'valid');
        const attrs = { strides: [1, 1, 1, 1, 1], pad: 'valid', filterShape: [1, ...ws!.shape] };
        const dw = tf.engine().runKernel('Conv3DBackpropFilterV2', { x: tf.expandDims(xs!, 1), dy: tf.expandDims(dy, 1) }, attrs as never) as TfTensor;
        return [dx, tf.reshape(dw, ws!.shape)];
      },
    };
  }) as never) as unknown as (x: TfTensor, w: TfTensor) => TfTensor;
  const conv = (x: TfTensor, w: TfTensor): TfTensor => (depth1 ? conv2dWithFilterGrad(x, w) : tf.conv2d(x as never, w as never, 1, 'valid'));
  const forward = (x: TfTensor): TfTensor => {
    let h = tf.relu(tf.add(conv(x, v.c1), v.b1));
    h = tf.maxPool(h as never, 2, 2, 'valid');
    h = tf.relu(tf.add(conv(h, v.c2), v.b2));
    h = tf.maxPool(h as never, 2, 2, 'valid');
    h = tf.relu(tf.add(tf.matMul(tf.reshape(h, [-1, 800]), v.f1), v.b3));
    return tf.add(tf.matMul(h, v.f2), v.b4);
  };
  const optimizer = tf.train.sgd(LR);
  return {
    depth1,
    async epoch(data: Dataset, order: Uint32Array) {
      for (let start = 0; start < order.length; start += BATCH) {
        const rows = Math.min(BATCH, order.length - start);
        const xb = new Float32Array(rows * 784);
        const yb = new Int32Array(rows);
        for (let r = 0; r < rows; r++) {
          const i = order[start + r]!;
          xb.set(data.features.subarray(i * 784, (i + 1) * 784), r * 784);
          yb[r] = data.labels![i]!;
        }
        tf.tidy(() => {
          const x = tf.tensor4d(xb, [rows, 28, 28, 1]);
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), 10);
          optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as Scalar);
        });
      }
      await v.b4.data(); // wait for the backend
    },
    dispose() {
      for (const t of Object.values(v)) t.dispose();
      optimizer.dispose();
    },
  };
}

export async function benchTrainCnn(): Promise<void> {
  const device = await benchDevice();
  const tf = await tfOnDevice(device);
  const quick = process.env.BENCH_QUICK === '1';
  const train = loadMnist('train', { limit: 12_800 });
  const order = new Random(1).shuffle(Uint32Array.from({ length: train.rows }, (_, i) => i));
  const steps = quick ? 10 : 20;
  const rows = order.slice(0, steps * BATCH);
  const warm = order.slice(0, 4 * BATCH);
  const wasm = await tfWasm(tf);
  const peers: { name: string; backend: string; trainer: ReturnType<typeof tfLenet>; seconds: number[] }[] = [];
  for (const [name, backend] of [['TF.js WebGPU', 'webgpu'], ...(wasm ? [['TF.js wasm', 'wasm']] : [])] as [string, string][]) {
    await tf.setBackend(backend);
    peers.push({ name, backend, trainer: tfLenet(tf, 1, backend), seconds: [] });
  }
  const ours = Sequential.create(device, {
    input: [28, 28, 1],
    layers: parseLayers('lenet5,10'),
    seed: 1,
  });
  const gpuTrain = new GpuDataset(device, train);
  const oursSteps = (r: Uint32Array) => fit(ours, gpuTrain, { epochs: 1, batchSize: BATCH, learningRate: LR, seed: 1, rows: r });
  await oursSteps(warm);
  // A backend that lacks a kernel LeNet-5's training needs is reported, not timed.
  const unable: string[] = [];
  for (const p of [...peers]) {
    await tf.setBackend(p.backend);
    try {
      await p.trainer.epoch(train, warm);
    } catch (e) {
      unable.push(`${p.name} cannot train it: ${(e as Error).message}`);
      peers.splice(peers.indexOf(p), 1);
    }
  }
  const oursSeconds: number[] = [];
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    await oursSteps(rows);
    oursSeconds.push((performance.now() - t0) / 1000);
    for (const p of peers) {
      await tf.setBackend(p.backend);
      t0 = performance.now();
      await p.trainer.epoch(train, rows);
      p.seconds.push((performance.now() - t0) / 1000);
    }
  }
  ours.dispose();
  gpuTrain.dispose();
  const sps = (v: number[]) => (steps * BATCH) / Math.min(...v);
  console.log(`\nLeNet-5 training, batch ${BATCH}, SGD ${LR}: ${steps} steps (${steps * BATCH} images), best of 3 interleaved rounds`);
  console.log(['library'.padEnd(13), 'samples/s', 'rounds (s)'].join('  '));
  for (const [name, v] of [['shrinkray', oursSeconds], ...peers.map((p) => [p.name, p.seconds] as const)] as [string, number[]][])
    console.log([name.padEnd(13), fmt(sps(v), 0).padStart(9), v.map((x) => fmt(x, 1)).join(' / ')].join('  '));
  for (const line of unable) console.log(line);
  for (const p of peers) if (p.trainer.depth1) console.log(`${p.name}: filter gradients by Conv3DBackpropFilterV2 on depth-1 views (the backend has no Conv2DBackpropFilter kernel)`);
  for (const p of peers) {
    console.log(`ratio: shrinkray / ${p.name} = ${fmt(sps(oursSeconds) / sps(p.seconds))}x samples per second`);
    p.trainer.dispose();
  }
  if (wasm) tf.removeBackend('wasm');
  tf.removeBackend('webgpu');
  device.destroy();
}
