/**
 * The default run: train a dense model (LeNet-300-100 on MNIST unless told otherwise), prune it
 * gradually with fine-tuning, quantize it (int8, and a lower bit width after pruning), share the
 * pruned model's weights by k-means and fine-tune them (Deep Compression), distil a
 * small student, score the units by ablation and remove the least important physically, score
 * every variant on the test set against the dense model, study a student/dense cascade, and
 * write the report. The defaults fit
 * 15 minutes on a 2-core machine with a CPU WebGPU adapter (about 7); --quick is a short run on a
 * subset. Every option is checked before any work starts.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MLP } from '../../nn/mlp.js';
import { quantizeWeights } from '../../compress/quantize.js';
import { layerImportance, unitImportance } from '../../compress/importance.js';
import { figures, simplify } from '../../compress/simplify.js';
import { testMetrics, type ClassificationMetrics } from '../../validate/metrics.js';
import { GpuDataset } from '../../data/gpu-dataset.js';
import { subset } from '../../data/dataset.js';
import { studyCascade } from '../../validate/cascade.js';
import { numberOf, stringOf, UsageError, widthsOf, type Options } from '../args.js';
import type { Command, Context } from '../command.js';
import { DATA_OPTIONS, loadData } from '../data.js';
import { SAVE_OPTIONS, writeModel } from '../models.js';
import { writeReport, type Report, type TrainingRun } from '../report.js';
import { fitOptionsOf, trainWithProgress } from '../training.js';
import { measureVariant, type VariantReport } from '../variants.js';
import { gradualPruning } from '../../compress/schedule.js';

const options: Options = {
  ...DATA_OPTIONS,
  ...SAVE_OPTIONS,
  quick: { type: 'boolean', help: 'a short run (about a minute on 2 cores): 10,000 training images, few epochs' },
  layers: { type: 'string', arg: 'WIDTHS', default: '300,100', help: 'hidden widths of the dense model' },
  epochs: { type: 'string', arg: 'N', help: 'epochs of the dense model (default 10; --quick 2)' },
  'prune-epochs': { type: 'string', arg: 'N', help: 'fine-tuning epochs while pruning (default 6; --quick 1)' },
  sparsity: { type: 'string', arg: 'FRACTION', default: '0.9', help: 'fraction of weights pruned (global magnitude, gradual)' },
  bits: { type: 'string', arg: 'N', default: '4', help: 'the lower bit width for the pruned model (2-7; int8 is always made)' },
  'share-bits': { type: 'string', arg: 'N', default: '4', help: 'Deep Compression: bits of the k-means shared values of the pruned model (1-8)' },
  student: { type: 'string', arg: 'WIDTHS', default: '30', help: 'hidden widths of the distilled student' },
  keep: { type: 'string', arg: 'FRACTION', default: '0.3', help: 'simplification: the fraction of parameters the smaller model keeps' },
  'student-epochs': { type: 'string', arg: 'N', help: 'epochs of the student, alone and distilled (default 8; --quick 2)' },
  alpha: { type: 'string', arg: 'A', default: '0.5', help: 'distillation: weight of the teacher\'s soft targets' },
  temperature: { type: 'string', arg: 'T', default: '2.5', help: 'distillation temperature' },
  'batch-size': { type: 'string', arg: 'N', default: '128', help: 'mini-batch size' },
  lr: { type: 'string', arg: 'RATE', default: '0.1', help: 'learning rate of the dense model and the students' },
  optimizer: { type: 'string', arg: 'NAME', default: 'sgd', help: 'sgd (Nesterov momentum 0.9), adam or adamw' },
  'weight-decay': { type: 'string', arg: 'L2', default: '0.00005', help: 'weight decay' },
  out: { type: 'string', arg: 'DIR', default: 'shrinkray-report', help: 'where the report and the models go' },
};

export async function runPipeline(ctx: Context): Promise<number> {
  const { values, out } = ctx;
  const started = performance.now();
  const quick = !!values.quick;
  const int = (name: string, fallback: number, quickValue: number, max = 10_000) =>
    values[name] === undefined ? (quick ? quickValue : fallback) : numberOf(values, name, { integer: true, min: 1, max });
  const epochs = int('epochs', 10, 2);
  const pruneEpochs = int('prune-epochs', 6, 1);
  const studentEpochs = int('student-epochs', 8, 2);
  const sparsity = numberOf(values, 'sparsity', { min: 0, max: 1, exclusiveMin: true });
  if (sparsity >= 1) throw new UsageError('--sparsity must be below 1');
  const bits = numberOf(values, 'bits', { integer: true, min: 2, max: 7 });
  const shareBits = numberOf(values, 'share-bits', { integer: true, min: 1, max: 8 });
  const alpha = numberOf(values, 'alpha', { min: 0, max: 1 });
  const temperature = numberOf(values, 'temperature', { min: 0, exclusiveMin: true, max: 100 });
  const hidden = widthsOf(values, 'layers');
  const studentHidden = widthsOf(values, 'student');
  const keep = numberOf(values, 'keep', { min: 0, max: 1, exclusiveMin: true });
  if (keep >= 1) throw new UsageError('--keep must be below 1');
  const dir = stringOf(values, 'out')!;
  if (quick && values.limit === undefined) values.limit = '10000';

  const data = loadData(values);
  const { train, test } = data;
  if (!train.labels || !test.labels) throw new UsageError('the pipeline needs classification data (a label column of classes)');
  const classes = Math.max(train.classes!, test.classes!);
  const device = await ctx.device();
  out.log(`device: ${device.describe().backend} (${device.describe().adapter}) · data: ${data.name}, ${train.rows} training and ${test.rows} test rows, ${train.cols} features, ${classes} classes`);
  const base = fitOptionsOf(values, { epochs, lr: numberOf(values, 'lr', { min: 0, exclusiveMin: true }) });
  const seed = base.seed ?? 1;
  // On the GPU once for every training run, every evaluation and every variant's scoring.
  const gpuTrain = new GpuDataset(device, train);
  const gpuTest = new GpuDataset(device, test);
  mkdirSync(join(dir, 'models'), { recursive: true });
  const training: TrainingRun[] = [];
  const models: { name: string; description: string; model: MLP; file: string; bytes: number }[] = [];
  const save = async (name: string, description: string, model: MLP) => {
    const file = `models/${name.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '').toLowerCase()}.safetensors`;
    await writeModel(model, join(dir, file), { data: data.name, note: description, standardizer: data.standardizer, classNames: data.train.classNames, float16: !!values.float16 });
    // Every size in the report is the byte length of the file written.
    models.push({ name, description, model, file, bytes: statSync(join(dir, file)).size });
  };

  // 1. The dense reference.
  const widths = [train.cols, ...hidden, classes];
  const dense = MLP.create(device, widths, { seed });
  training.push(await trainWithProgress(out, 'dense', dense, gpuTrain, base, gpuTest));
  await save('dense', `trained ${epochs} epochs (${base.optimizer?.type}, lr ${base.learningRate}, batch ${base.batchSize}, cosine schedule)`, dense);

  // 2. Post-training int8 quantization of the dense model (per output channel, symmetric).
  const int8 = dense.clone();
  await quantizeWeights(int8, { bits: 8, restrictRange: true });
  await save('int8', 'dense, int8 post-training quantization of the weights (per channel, symmetric)', int8);
  out.log('int8: quantized the dense model\'s weights');

  // 3. Gradual global magnitude pruning with fine-tuning (Zhu & Gupta's schedule), then lower bit widths.
  const pruned = dense.clone();
  const steps = Math.ceil(train.rows / base.batchSize) * pruneEpochs;
  training.push(
    await trainWithProgress(out, `pruning to ${Math.round(sparsity * 100)} %`, pruned, gpuTrain, {
      ...base,
      epochs: pruneEpochs,
      learningRate: base.learningRate / 10,
      schedule: { type: 'constant' },
      seed: seed + 1,
      hooks: [gradualPruning({ scope: 'global', finalSparsity: sparsity, beginStep: 0, endStep: Math.max(1, Math.floor(steps * 0.75)), frequency: Math.max(1, Math.floor(steps / 40)) })],
    }, gpuTest),
  );
  await save(`pruned ${Math.round(sparsity * 100)} %`, `gradual global magnitude pruning with ${pruneEpochs} fine-tuning epochs at a tenth of the learning rate`, pruned);
  const prunedInt8 = pruned.clone();
  await quantizeWeights(prunedInt8, { bits: 8, restrictRange: true });
  await save(`pruned + int8`, 'the pruned model, int8 weights (per channel)', prunedInt8);
  const prunedLow = pruned.clone();
  await quantizeWeights(prunedLow, { bits });
  await save(`pruned + int${bits}`, `the pruned model, ${bits}-bit weights (per channel)`, prunedLow);
  out.log(`quantized the pruned model to int8 and int${bits}`);

  // Deep Compression (Han et al. 2016): the pruned model's weights shared by k-means, the shared
  // values fine-tuned with the gradients summed per cluster, and the file Huffman coded.
  const shared = pruned.clone();
  await quantizeWeights(shared, { method: 'kmeans', bits: shareBits });
  training.push(
    await trainWithProgress(out, `fine-tuning ${2 ** shareBits} shared values`, shared, gpuTrain, {
      ...base,
      epochs: 1,
      learningRate: 0.0005,
      optimizer: { type: 'adam' },
      schedule: { type: 'constant' },
      seed: seed + 5,
    }, gpuTest),
  );
  await save('deep compression', `the pruned model with k-means weight sharing (${2 ** shareBits} shared values per layer, ${shareBits}-bit indices) fine-tuned for an epoch, Huffman coded (Han et al. 2016)`, shared);

  // 4. A small student, alone and distilled from the dense model, from the same initialization.
  const studentWidths = [train.cols, ...studentHidden, classes];
  const studentName = studentWidths.join('-');
  const studentOptions = { ...base, epochs: studentEpochs, schedule: { type: 'cosine', total: studentEpochs } as const, seed: seed + 2 };
  const alone = MLP.create(device, studentWidths, { seed: seed + 3 });
  training.push(await trainWithProgress(out, `student ${studentName}`, alone, gpuTrain, studentOptions, gpuTest));
  await save('student alone', `${studentName} trained alone, ${studentEpochs} epochs`, alone);
  const distilled = MLP.create(device, studentWidths, { seed: seed + 3 });
  training.push(await trainWithProgress(out, `distilled ${studentName}`, distilled, gpuTrain, { ...studentOptions, distillation: { teacher: dense, alpha, temperature } }, gpuTest));
  await save('student distilled', `${studentName} distilled from the dense model (alpha ${alpha}, T ${temperature}), same initialization and epochs`, distilled);

  // 5. Ablation importance of the dense model's hidden units and layers, and a physically smaller
  // model: the least important units removed, 30 a round (re-scored each round: ablation
  // scores are effects of one unit alone), fine-tuned in between, down to --keep.
  const t0 = performance.now();
  const scored = await unitImportance(dense, train, { samples: Math.min(5000, train.rows), seed });
  const layerRemovals = await layerImportance(dense, train, { samples: Math.min(5000, train.rows), seed });
  out.log(`importance: ablation scores of ${scored.layers.reduce((n, l) => n + l.scores.length, 0)} hidden units on ${scored.samples} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s; removing a hidden layer costs ${layerRemovals.map((l) => `+${l.importance.toFixed(3)}`).join(', ')} loss`);
  const target = Math.floor(dense.parameterCount() * keep);
  const fineTuneRows = Uint32Array.from({ length: Math.min(10_000, train.rows) }, (_, i) => i);
  const simplifyBar = out.progress(`simplifying to ${Math.round(keep * 100)} %`, dense.parameterCount() - target, 'parameters');
  // The rounds stop at the parameter target, not on accuracy, so the test set only reports.
  const simplified = await simplify(dense, gpuTrain, gpuTest, {
    unitsPerRound: 30,
    targetParameters: target,
    scoreSamples: 2000,
    seed,
    fineTune: { ...base, epochs: 1, learningRate: base.learningRate / 5, schedule: { type: 'constant' }, rows: fineTuneRows },
    onRound: (r) => simplifyBar.update(dense.parameterCount() - r.parameters, { widths: r.widths.join('-') }),
  });
  simplifyBar.done(`${simplified.after.widths.join('-')} after ${simplified.rounds.length} rounds`);
  // The rounds fine-tune briefly on a subset; the final model gets two epochs on all rows.
  training.push(await trainWithProgress(out, 'simplified fine-tune', simplified.model, gpuTrain, { ...base, epochs: 2, learningRate: base.learningRate / 5, schedule: { type: 'constant' }, seed: seed + 4 }, gpuTest));
  const simplifiedFinal = await figures(simplified.model, gpuTest);
  await save('simplified', `hidden units removed physically by ablation importance, 30 a round with 1 epoch of fine-tuning on 10,000 rows, to ${Math.round(keep * 100)} % of the parameters (${simplified.after.widths.join('-')}), then 2 epochs on all rows`, simplified.model);

  // 6. Every variant against the dense model on the test set.
  const bar = out.progress('scoring variants', models.length, 'variants');
  const refPredictions = ((await testMetrics(dense, gpuTest)) as ClassificationMetrics).predictions;
  const refBytes = models.find((m) => m.model === dense)!.bytes;
  const variants: VariantReport[] = [];
  for (const [i, m] of models.entries()) {
    variants.push({ ...(await measureVariant(m.name, m.description, m.model, { model: dense, predictions: refPredictions, bytes: refBytes }, gpuTest, seed, m.bytes)), file: m.file });
    bar.update(i + 1);
  }
  bar.done();

  // 7. A cascade: the distilled student answers, rows it is unsure of go to the dense model. The
  // threshold is chosen on the last training rows (within 0.1 points of the dense model there).
  const held = Math.min(5000, Math.max(1, Math.floor(train.rows / 10)));
  const cascade = await studyCascade(distilled, dense, subset(train, Uint32Array.from({ length: held }, (_, i) => train.rows - held + i)), test, 0.001);
  out.log(`cascade: the distilled student answers, ${(cascade.test.cascade.deferred * 100).toFixed(1)} % of test rows go to the dense model (threshold ${cascade.threshold}): ${(cascade.test.cascade.accuracy * 100).toFixed(2)} % at ${Math.round(cascade.test.cascade.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  const report: Report = {
    tool: 'shrinkray 0.1.0',
    created: new Date().toISOString(),
    command: ctx.commandLine,
    device: device.describe(),
    data: { name: data.name, trainRows: train.rows, testRows: test.rows, features: train.cols, classes },
    settings: { quick, widths, epochs, pruneEpochs, sparsity, bits, shareBits, studentWidths, studentEpochs, alpha, temperature, batchSize: base.batchSize, learningRate: base.learningRate, optimizer: base.optimizer, seed },
    seconds: (performance.now() - started) / 1000,
    reference: 'dense',
    variants,
    training,
    importance: scored.layers.flatMap(({ layer, scores }) => Array.from(scores, (importance, unit) => ({ layer: `layer ${layer + 1}`, unit, importance }))),
    layerRemovals,
    cascade: { small: 'student distilled', large: 'dense', ...cascade },
    simplification: { before: simplified.before, afterRounds: simplified.after, after: simplifiedFinal, rounds: simplified.rounds.map((r) => ({ round: r.round, widths: r.widths, parameters: r.parameters, accuracy: r.accuracy })) },
    notes: [
      `Ablation importance (loss increase without the unit) of the dense model on ${scored.samples} training rows: baseline loss ${scored.baselineLoss.toFixed(4)}; ${scored.layers.map((l) => `layer ${l.layer + 1}: ${Array.from(l.scores).filter((v) => v <= 0).length} of ${l.scores.length} units do not help`).join(', ')}.`,
      `Removing a whole hidden layer: ${layerRemovals.map((l) => `layer ${l.layer + 1} (${l.method}) +${l.importance.toFixed(4)} loss, ${l.parametersAfter.toLocaleString('en-US')} parameters left`).join('; ')}.`,
    ],
  };
  const files = await writeReport(dir, report);
  for (const m of models) m.model.dispose();
  gpuTrain.dispose();
  gpuTest.dispose();
  out.log('');
  out.log(['variant'.padEnd(20), 'file bytes'.padStart(10), 'x smaller'.padStart(9), 'accuracy'.padStart(9), 'diff (pts)'.padStart(10), 'p-value'.padStart(8), 'rows/s'.padStart(9), 'latency'.padStart(9)].join('  '));
  for (const v of variants)
    out.log(
      [v.name.padEnd(20), v.bytes.toLocaleString('en-US').padStart(10), v.ratio.toFixed(1).padStart(9), `${(v.accuracy * 100).toFixed(2)} %`.padStart(9), (v.name === 'dense' ? '' : `${v.difference >= 0 ? '+' : ''}${(v.difference * 100).toFixed(2)}`).padStart(10), (v.name === 'dense' ? '' : v.pValue < 0.001 ? '<0.001' : v.pValue.toFixed(3)).padStart(8), Math.round(v.rowsPerSecond).toLocaleString('en-US').padStart(9), `${v.latencyMs.toFixed(2)} ms`.padStart(9)].join('  '),
    );
  out.log(`\nreport: ${join(dir, 'report.md')} (${files.join(', ')}), models in ${join(dir, 'models')}; ${report.seconds.toFixed(0)} s in all`);
  out.result(report);
  return 0;
}

export const pipeline: Command = {
  name: 'run',
  summary: 'the whole job (the default): train, prune, quantize, distil, compare, report',
  usage: 'shrinkray [run] [--quick] [--data mnist|FILE.csv|idx] [--out DIR] [options]',
  description:
    'Trains a dense model, prunes it gradually (global magnitude) with fine-tuning, quantizes it (int8, and the pruned model\nto int8 and --bits), distils a small student, scores its hidden units by ablation and removes the least important\nphysically (--keep), scores every variant on the test set against the dense model\n(accuracy difference, bootstrap interval, McNemar p-value, size, inference time) and writes report.json,\nreport.md, SVG charts and every model (safetensors) to --out.',
  options,
  run: runPipeline,
};
