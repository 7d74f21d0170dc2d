/**
 * Training throughput: LeNet-300-100 (784-300-100-10, relu, softmax cross-entropy) on MNIST at
 * batch 128 with plain SGD at 0.1 and the same initialization scheme (He normal for the relu
 * layers, Glorot uniform for the output layer), shrinkray against TF.js's WebGPU backend on the
 * same GPUDevice, and against TF.js's wasm backend (XNNPACK on the CPU) where it loads. Speed: after a warm-up (pipelines compile), each trains STEPS steps over the
 * same shuffled rows, timed in three interleaved rounds (the machine's two vCPUs are noisy).
 * Quality: fresh models train one full epoch each (untimed) and are scored on the 10,000 test
 * images. BENCH_QUICK=1: fewer steps, and 6,400 training images.
 */
import { loadMnist } from '../src/data/mnist.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { Random } from '../src/random.js';
import { GpuDataset } from '../src/data/gpu-dataset.js';
import { benchDevice, fmt, tfOnDevice, tfWasm, type Tf } from './common.js';
import type { Dataset } from '../src/data/dataset.js';
import type { Tensor as TfTensor, Scalar } from '@tensorflow/tfjs-core';

const BATCH = 128;
const LR = 0.1;

/** The same network in TF.js core ops: variables, matMul, relu, softmax cross-entropy, SGD. */
function tfTrainer(tf: Tf, seed: number) {
  const widths = [784, 300, 100, 10];
  const vars = widths.slice(1).map((units, i) => {
    const fanIn = widths[i]!;
    const last = i === widths.length - 2;
    const w = last
      ? tf.randomUniform([fanIn, units], -Math.sqrt(6 / (fanIn + units)), Math.sqrt(6 / (fanIn + units)), 'float32', seed + i)
      : tf.randomNormal([fanIn, units], 0, Math.sqrt(2 / fanIn), 'float32', seed + i);
    return { w: tf.variable(w), b: tf.variable(tf.zeros([units])) };
  });
  const forward = (x: TfTensor): TfTensor => {
    let h = x;
    vars.forEach(({ w, b }, i) => {
      const z = tf.add(tf.matMul(h, w), b);
      h = i === vars.length - 1 ? z : tf.relu(z);
    });
    return h;
  };
  const optimizer = tf.train.sgd(LR);
  return {
    /** One pass over the rows in `order`. */
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
          const x = tf.tensor2d(xb, [rows, 784]);
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), 10);
          optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as Scalar);
        });
      }
      await vars[0]!.b.data(); // wait for the GPU
    },
    async accuracy(data: Dataset): Promise<number> {
      let correct = 0;
      for (let start = 0; start < data.rows; start += 1000) {
        const rows = Math.min(1000, data.rows - start);
        const pred = tf.tidy(() => tf.argMax(forward(tf.tensor2d(data.features.subarray(start * 784, (start + rows) * 784), [rows, 784])), 1));
        const p = await pred.data();
        pred.dispose();
        for (let r = 0; r < rows; r++) if (p[r] === data.labels![start + r]) correct++;
      }
      return correct / data.rows;
    },
    dispose() {
      for (const { w, b } of vars) w.dispose(), b.dispose();
      optimizer.dispose();
    },
  };
}

export async function benchTrain(): Promise<void> {
  const device = await benchDevice();
  const tf = await tfOnDevice(device);
  const quick = process.env.BENCH_QUICK === '1';
  const train = loadMnist('train', quick ? { limit: 6400 } : {});
  const test = loadMnist('test');
  const order = new Random(1).shuffle(Uint32Array.from({ length: train.rows }, (_, i) => i));
  const steps = quick ? 20 : 200;
  const rows = order.slice(0, steps * BATCH);
  const warm = order.slice(0, 10 * BATCH);

  // Peers: TF.js's WebGPU backend on our device, and its wasm backend (XNNPACK on the CPU, the
  // fastest TF.js backend on a machine without a GPU). Each trains under its own backend.
  const wasm = await tfWasm(tf);
  const peers: { name: string; backend: string; trainer: ReturnType<typeof tfTrainer>; seconds: number[] }[] = [];
  for (const [name, backend] of [['TF.js WebGPU', 'webgpu'], ...(wasm ? [['TF.js wasm', 'wasm']] : [])] as [string, string][]) {
    await tf.setBackend(backend); // variables live on the backend active when they are made
    peers.push({ name, backend, trainer: tfTrainer(tf, 1), seconds: [] });
  }
  const ours = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
  // Uploaded once, as a user who calls fit repeatedly keeps it (TF.js's data stays on the CPU).
  const gpuTrain = new GpuDataset(device, train);
  const oursSteps = (r: Uint32Array) => fit(ours, gpuTrain, { epochs: 1, batchSize: BATCH, learningRate: LR, seed: 1, rows: r });
  await oursSteps(warm);
  for (const p of peers) await tf.setBackend(p.backend), await p.trainer.epoch(train, warm);
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
  const best = (v: number[]) => Math.min(...v);
  const sps = (v: number[]) => (steps * BATCH) / best(v);

  // Quality after one epoch: fresh models, the same epoch of data, untimed.
  const oursFresh = MLP.create(device, [784, 300, 100, 10], { seed: 1 });
  await fit(oursFresh, train, { epochs: 1, batchSize: BATCH, learningRate: LR, seed: 1 });
  const oursAcc = (await evaluate(oursFresh, test)).accuracy;
  oursFresh.dispose();
  const accuracies: number[] = [];
  for (const p of peers) {
    await tf.setBackend(p.backend);
    p.trainer.dispose();
    const fresh = tfTrainer(tf, 1);
    await fresh.epoch(train, order);
    accuracies.push(await fresh.accuracy(test));
    fresh.dispose();
  }

  console.log(`\nLeNet-300-100 training, batch ${BATCH}, SGD ${LR}: ${steps} steps (${steps * BATCH} images), best of 3 interleaved rounds`);
  console.log(['library'.padEnd(13), 'samples/s', 'rounds (s)', `test accuracy after 1 epoch of ${train.rows}`].join('  '));
  const rowsOut: [string, number[], number][] = [['shrinkray', oursSeconds, oursAcc], ...peers.map((p, i): [string, number[], number] => [p.name, p.seconds, accuracies[i]!])];
  for (const [name, v, acc] of rowsOut)
    console.log(
      [
        name.padEnd(13),
        fmt(sps(v), 0).padStart(9),
        v
          .map((x) => fmt(x, 1))
          .join(' / ')
          .padStart(10),
        `${fmt(acc * 100)} %`.padStart(12),
      ].join('  '),
    );
  for (const p of peers) console.log(`ratio: shrinkray / ${p.name} = ${fmt(sps(oursSeconds) / sps(p.seconds))}x samples per second`);
  if (wasm) tf.removeBackend('wasm');
  tf.removeBackend('webgpu');
  device.destroy();
}
