/**
 * BENCH_ONLY=infer npm run bench: inference speed of each model variant, interleaved in one run.
 * The variants are the model files of a report (INFER_MODELS=DIR, default shrinkray-report:
 * run `npm start` first; report.json gives their names and order). For each: the forward pass
 * over the first 1,024 MNIST test rows (batch 1024, read back) and the latency of predict() on
 * one row, best of ROUNDS rounds (default 5) after a warm-up; and onnxruntime-node (CPU, as many
 * threads as cores) on the same model exported to ONNX as float weights. TF.js WebGPU (on our
 * device) and wasm run the dense model. Ratios are against our dense model in the same run: of the
 * best times, and the median of the rounds' own ratios (times taken milliseconds apart).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/data/mnist.js';
import { modelFromSafetensors } from '../src/io/model-file.js';
import { modelToOnnx } from '../src/io/onnx.js';
import type { MLP } from '../src/nn/mlp.js';
import { benchDevice, fmt, tfOnDevice, tfWasm, type Tf } from './common.js';
import { timeInference } from '../src/validate/speed.js';
import { best, paired, rotatedRounds, time } from './rounds.js';

const ROWS = 1024;

/** A report's model variants (report.json gives their names, files and order; else the files in DIR/models). */
export function reportVariants(dir: string): { name: string; file: string; accuracy?: number }[] {
  const reportFile = join(dir, 'report.json');
  return existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { variants: { name: string; file: string; accuracy: number }[] }).variants
    : readdirSync(join(dir, 'models')).map((f) => ({ name: f.replace(/\.safetensors$/, ''), file: join('models', f) }));
}

export async function benchInfer(): Promise<void> {
  const dir = process.env.INFER_MODELS ?? 'shrinkray-report';
  if (!existsSync(join(dir, 'models'))) {
    console.log(`no models in ${dir}/models: run \`npm start\` (or set INFER_MODELS to a report directory) first`);
    return;
  }
  const rounds = Number(process.env.ROUNDS ?? 5);
  const device = await benchDevice();
  const files = reportVariants(dir);
  const test = loadMnist('test');
  const xs = test.features.subarray(0, ROWS * 784);
  const one = test.features.subarray(0, 784);
  const x = device.tensor(xs, [ROWS, 784]);
  const threads = availableParallelism();
  const variants: { name: string; model: MLP; accuracy?: number; session: ort.InferenceSession; batch: number[]; single: number[]; ort: number[] }[] = [];
  for (const f of files) {
    const model = modelFromSafetensors(device, new Uint8Array(readFileSync(join(dir, f.file))));
    await model.prepareInference(); // each compressed layer's form, as predict and evaluate run them
    // No spinning: onnxruntime's idle threads would otherwise keep the cores busy after each run,
    // slowing whatever is timed next.
    const session = await ort.InferenceSession.create(await modelToOnnx(model, { quantized: 'float' }), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    variants.push({ name: f.name, model, accuracy: f.accuracy, session, batch: [], single: [], ort: [] });
  }
  const feeds = { input: new ort.Tensor('float32', xs, [ROWS, 784]) };
  const dense = variants[0]!;
  // TF.js on the dense model's weights: WebGPU on our device, then wasm.
  const weights = await dense.model.read();
  const tfForward = (tf: Tf) => () =>
    tf.tidy(() => {
      let h: ReturnType<Tf['tensor2d']> = tf.tensor2d(xs, [ROWS, 784]);
      weights.forEach((l, i) => {
        const z = tf.add(tf.matMul(h, tf.tensor2d(l.weight, [dense.model.layers[i]!.inputs, dense.model.layers[i]!.units])), tf.tensor1d(l.bias));
        h = (i === weights.length - 1 ? z : tf.relu(z)) as typeof h;
      });
      return h;
    });
  const tf = await tfOnDevice(device);
  const tfTimes: Record<string, number[]> = { 'TF.js WebGPU': [], 'TF.js wasm': [] };
  await rotatedRounds(variants, rounds, async (v, timed) => {
    const { forward, single } = await timeInference(v.model, x, xs, one);
    const o = await time(() => v.session.run(feeds));
    if (timed) v.batch.push(forward), v.single.push(single), v.ort.push(o);
  });
  // TF.js after the others: its WebGPU backend leaves the adapter busy for a while after a run.
  const timeTf = async (into: number[]) => {
    for (let r = 0; r <= rounds; r++) {
      const w = await time(async () => {
        const out = tfForward(tf)();
        await out.data();
        out.dispose();
      });
      if (r > 0) into.push(w); // round 0 warms up
    }
  };
  await tf.setBackend('webgpu');
  await timeTf(tfTimes['TF.js WebGPU']!);
  if (await tfWasm(tf)) await timeTf(tfTimes['TF.js wasm']!);
  const denseMs = best(dense.batch);
  const denseOrt = best(dense.ort);
  console.log(`\nforward over ${ROWS} MNIST test rows (read back), best of ${rounds}; predict() on one row; onnxruntime-node ${ort.env.versions.common} with ${threads} threads`);
  console.log(`(ratios: of the best times, then the median of the ${rounds} rounds' own ratios)`);
  console.log('| variant | layers run as | accuracy | batch 1024 (ms) | rows/s | vs our dense | batch 1 (ms) | onnxruntime (ms) | ours vs onnxruntime dense |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const v of variants) {
    const b = best(v.batch);
    console.log(
      `| ${v.name} | ${v.model.inferenceForms().join(', ')} | ${v.accuracy === undefined ? '' : `${fmt(v.accuracy * 100)} %`} | ${fmt(b)} | ${Math.round((ROWS / b) * 1000).toLocaleString('en-US')} | **${fmt(denseMs / b)}x / ${fmt(paired(dense.batch, v.batch))}x** | ${fmt(best(v.single), 3)} | ${fmt(best(v.ort))} | ${fmt(denseOrt / b)}x / ${fmt(paired(dense.ort, v.batch))}x |`,
    );
  }
  for (const [name, t] of Object.entries(tfTimes))
    if (t.length) console.log(`| dense on ${name} | | | ${fmt(best(t))} | ${Math.round((ROWS / best(t)) * 1000).toLocaleString('en-US')} | ${fmt(denseMs / best(t))}x | | | |`);
  for (const v of variants) v.model.dispose(), await v.session.release();
  x.dispose();
  device.destroy();
}
