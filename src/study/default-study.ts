/**
 * The default study (what `shrinkray` runs): train a dense model, prune it gradually with
 * fine-tuning, quantize it (int8, and a lower bit width after pruning), share the pruned model's
 * weights by k-means and fine-tune them (Deep Compression), distil a small student, score the
 * units by ablation and remove the least important physically, score every variant on the test
 * set against the dense model, study a student/dense cascade, and write the report and every
 * model under `dir`.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { MLP } from '../nn/mlp.js';
import type { Model } from '../nn/model.js';
import { parseLayers } from '../nn/architecture.js';
import { Sequential } from '../nn/sequential.js';
import { pruneFilters } from '../compress/filters.js';
import { prune } from '../compress/prune.js';
import type { FitOptions } from '../nn/train.js';
import { saveModel } from '../io/files.js';
import { metadataOf, type Standardization } from '../io/model-metadata.js';
import { quantizeWeights } from '../compress/quantize.js';
import { gradualPruning } from '../compress/schedule.js';
import { layerImportance, unitImportance } from '../compress/importance.js';
import { figures, simplify } from '../compress/simplify.js';
import { testMetrics, type ClassificationMetrics } from '../validate/metrics.js';
import { studyCascade } from '../validate/cascade.js';
import { SILENT, trainWithProgress, type StudyLog } from './progress.js';
import { writeReport, type Report, type TrainingRun } from './report.js';
import { measureVariant, type VariantReport } from './variants.js';
import { inferenceSpeeds } from '../validate/speed.js';

/** A model saved under models/, with its file's byte length. */
interface Saved {
  name: string;
  description: string;
  model: Model;
  file: string;
  bytes: number;
}

export interface StudyData {
  /** For the report and the model files' metadata. */
  name: string;
  train: Dataset;
  test: Dataset;
  /** CSV: the standardization fitted on the training rows, stored with every model. */
  standardizer?: Standardization | undefined;
}

export interface StudySettings {
  /** Recorded in the report (a short run). */
  quick?: boolean;
  /** Hidden widths of the dense model. */
  hidden: number[];
  /** The dense model's training: epochs, batch size, learning rate, optimizer, schedule, seed. */
  fit: FitOptions;
  /** Fine-tuning epochs while pruning. */
  pruneEpochs: number;
  /** Fraction of weights pruned (global magnitude, gradual), in (0, 1). */
  sparsity: number;
  /** The lower bit width of the pruned model (2-7; int8 is always made). */
  bits: number;
  /** Bits of the k-means shared values of the pruned model (1-8). */
  shareBits: number;
  studentHidden: number[];
  studentEpochs: number;
  /** Distillation: weight of the teacher's soft targets, and the temperature. */
  alpha: number;
  temperature: number;
  /** Simplification: the fraction of parameters the smaller model keeps, in (0, 1). */
  keep: number;
  /** Store float weights and biases in half precision. */
  float16?: boolean;
  /** Epochs of the LeNet-5 section when the rows are images (0 or absent: no such section). */
  cnnEpochs?: number;
}

/** Runs the study, writes report.json, report.md, the charts and models/ under `dir`, and returns the report. */
export async function runStudy(device: Device, data: StudyData, settings: StudySettings, dir: string, options: { log?: StudyLog; command?: string } = {}): Promise<Report> {
  const started = performance.now();
  const log = options.log ?? SILENT;
  const { train, test } = data;
  if (!train.labels || !test.labels) throw new InvalidArgumentError('The study needs classification data (labels of classes).');
  const { hidden, pruneEpochs, sparsity, bits, shareBits, studentHidden, studentEpochs, alpha, temperature, keep } = settings;
  const quick = !!settings.quick;
  const base = settings.fit;
  const epochs = base.epochs;
  const classes = Math.max(train.classes!, test.classes!);
  log.log(`device: ${device.describe().backend} (${device.describe().adapter}) · data: ${data.name}, ${train.rows} training and ${test.rows} test rows, ${train.cols} features, ${classes} classes`);
  const seed = base.seed ?? 1;
  // On the GPU once for every training run, every evaluation and every variant's scoring.
  const gpuTrain = new GpuDataset(device, train);
  const gpuTest = new GpuDataset(device, test);
  mkdirSync(join(dir, 'models'), { recursive: true });
  const training: TrainingRun[] = [];
  const models: Saved[] = [];
  const save = async (name: string, description: string, model: Model, list: Saved[] = models) => {
    const file = `models/${name
      .replace(/[^a-z0-9]+/gi, '-')
      .replace(/-$/, '')
      .toLowerCase()}.safetensors`;
    await saveModel(model, join(dir, file), metadataOf({ data: data.name, note: description, standardizer: data.standardizer, classNames: train.classNames }), { float16: settings.float16 });
    // Every size in the report is the byte length of the file written.
    list.push({ name, description, model, file, bytes: statSync(join(dir, file)).size });
  };

  // 1. The dense reference.
  const widths = [train.cols, ...hidden, classes];
  const dense = MLP.create(device, widths, { seed });
  training.push(await trainWithProgress(log, 'dense', dense, gpuTrain, base, gpuTest));
  await save('dense', `trained ${epochs} epochs (${base.optimizer?.type}, lr ${base.learningRate}, batch ${base.batchSize}, cosine schedule)`, dense);

  // 2. Post-training int8 quantization of the dense model (per output channel, symmetric).
  const int8 = dense.clone();
  await quantizeWeights(int8, { bits: 8, restrictRange: true });
  await save('int8', 'dense, int8 post-training quantization of the weights (per channel, symmetric)', int8);
  log.log("int8: quantized the dense model's weights");

  // 3. Gradual global magnitude pruning with fine-tuning (Zhu & Gupta's schedule), from the
  // training rate on a cosine decay (on LeNet-300-100 at 90 %: 98.33 % against 98.22 % at a tenth
  // of the rate held constant, bench/RESULTS.md); then lower bit widths. The same pruning in 4 x 4
  // blocks runs as blocks (nn/layer-forms.ts): faster, at some accuracy.
  const steps = Math.ceil(train.rows / base.batchSize) * pruneEpochs;
  const pruneCopy = async (label: string, block?: readonly [number, number]) => {
    const model = dense.clone();
    const schedule = { scope: 'global', finalSparsity: sparsity, beginStep: 0, endStep: Math.max(1, Math.floor(steps * 0.75)), frequency: Math.max(1, Math.floor(steps / 40)) } as const;
    const options = { ...base, epochs: pruneEpochs, schedule: { type: 'cosine', total: pruneEpochs } as const, seed: seed + 1, hooks: [gradualPruning({ ...schedule, ...(block ? { block } : {}) })] };
    training.push(await trainWithProgress(log, label, model, gpuTrain, options, gpuTest));
    return model;
  };
  const percent = Math.round(sparsity * 100);
  const pruned = await pruneCopy(`pruning to ${percent} %`);
  await save(`pruned ${percent} %`, `gradual global magnitude pruning with ${pruneEpochs} fine-tuning epochs from the training rate on a cosine decay`, pruned);
  const blocked = await pruneCopy(`pruning to ${percent} % in 4 x 4 blocks`, [4, 4]);
  await save(`pruned ${percent} % in blocks`, `the same pruning of whole 4 x 4 blocks (4 inputs x 4 units, weakest mean |w| first), which inference runs as blocks`, blocked);
  const prunedInt8 = pruned.clone();
  await quantizeWeights(prunedInt8, { bits: 8, restrictRange: true });
  await save(`pruned + int8`, 'the pruned model, int8 weights (per channel)', prunedInt8);
  const prunedLow = pruned.clone();
  await quantizeWeights(prunedLow, { bits });
  await save(`pruned + int${bits}`, `the pruned model, ${bits}-bit weights (per channel)`, prunedLow);
  const blockedLow = blocked.clone();
  await quantizeWeights(blockedLow, { bits });
  await save(`pruned ${percent} % in blocks + int${bits}`, `the model pruned in blocks, ${bits}-bit weights (per channel), which inference runs as packed integer blocks`, blockedLow);
  log.log(`quantized the pruned model to int8 and int${bits}, and the one pruned in blocks to int${bits}`);

  // Deep Compression (Han et al. 2016): the pruned model's weights shared by k-means, the shared
  // values fine-tuned with the gradients summed per cluster, and the file Huffman coded.
  const shared = pruned.clone();
  await quantizeWeights(shared, { method: 'kmeans', bits: shareBits });
  training.push(
    await trainWithProgress(
      log,
      `fine-tuning ${2 ** shareBits} shared values`,
      shared,
      gpuTrain,
      {
        ...base,
        epochs: 1,
        learningRate: 0.0005,
        optimizer: { type: 'adam' },
        schedule: { type: 'constant' },
        seed: seed + 5,
      },
      gpuTest,
    ),
  );
  await save(
    'deep compression',
    `the pruned model with k-means weight sharing (${2 ** shareBits} shared values per layer, ${shareBits}-bit indices) fine-tuned for an epoch, Huffman coded (Han et al. 2016)`,
    shared,
  );

  // 4. A small student, alone and distilled from the dense model, from the same initialization.
  const studentWidths = [train.cols, ...studentHidden, classes];
  const studentName = studentWidths.join('-');
  const studentOptions = { ...base, epochs: studentEpochs, schedule: { type: 'cosine', total: studentEpochs } as const, seed: seed + 2 };
  const alone = MLP.create(device, studentWidths, { seed: seed + 3 });
  training.push(await trainWithProgress(log, `student ${studentName}`, alone, gpuTrain, studentOptions, gpuTest));
  await save('student alone', `${studentName} trained alone, ${studentEpochs} epochs`, alone);
  const distilled = MLP.create(device, studentWidths, { seed: seed + 3 });
  training.push(await trainWithProgress(log, `distilled ${studentName}`, distilled, gpuTrain, { ...studentOptions, distillation: { teacher: dense, alpha, temperature } }, gpuTest));
  await save('student distilled', `${studentName} distilled from the dense model (alpha ${alpha}, T ${temperature}), same initialization and epochs`, distilled);

  // 5. Ablation importance of the dense model's hidden units and layers, and a physically smaller
  // model: the least important units removed, 30 a round (re-scored each round: ablation
  // scores are effects of one unit alone), fine-tuned in between, down to --keep.
  const t0 = performance.now();
  const scored = await unitImportance(dense, train, { samples: Math.min(5000, train.rows), seed });
  const layerRemovals = await layerImportance(dense, train, { samples: Math.min(5000, train.rows), seed });
  log.log(
    `importance: ablation scores of ${scored.layers.reduce((n, l) => n + l.scores.length, 0)} hidden units on ${scored.samples} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s; removing a hidden layer costs ${layerRemovals.map((l) => `+${l.importance.toFixed(3)}`).join(', ')} loss`,
  );
  const target = Math.floor(dense.parameterCount() * keep);
  const fineTuneRows = Uint32Array.from({ length: Math.min(10_000, train.rows) }, (_, i) => i);
  const simplifyBar = log.progress(`simplifying to ${Math.round(keep * 100)} %`, dense.parameterCount() - target, 'parameters');
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
  training.push(
    await trainWithProgress(
      log,
      'simplified fine-tune',
      simplified.model,
      gpuTrain,
      { ...base, epochs: 2, learningRate: base.learningRate / 5, schedule: { type: 'constant' }, seed: seed + 4 },
      gpuTest,
    ),
  );
  const simplifiedFinal = await figures(simplified.model, gpuTest);
  await save(
    'simplified',
    `hidden units removed physically by ablation importance, 30 a round with 1 epoch of fine-tuning on 10,000 rows, to ${Math.round(keep * 100)} % of the parameters (${simplified.after.widths.join('-')}), then 2 epochs on all rows`,
    simplified.model,
  );

  // 6. A convolutional network when the rows are images: LeNet-5, pruned 90 % and fine-tuned for
  // an epoch, that model int8 per filter, and half of LeNet-5's filters removed physically
  // (smallest L1 norm) and fine-tuned for an epoch.
  const networks: Saved[] = [];
  if (settings.cnnEpochs && train.imageShape) {
    const lenet = Sequential.create(device, { input: train.imageShape, layers: parseLayers(`lenet5,${classes}`), seed });
    const cnnFit = { ...base, epochs: settings.cnnEpochs, batchSize: 64, learningRate: 0.05, schedule: { type: 'cosine', total: settings.cnnEpochs } } as const;
    training.push(await trainWithProgress(log, 'LeNet-5', lenet, gpuTrain, cnnFit, gpuTest));
    await save('lenet-5', `Caffe's LeNet-5 (${lenet.describe()}), ${settings.cnnEpochs} epochs at lr 0.05, batch 64`, lenet, networks);
    // Fine-tuning on (at most) the first 20,000 rows keeps the section to a few minutes on a CPU adapter.
    const tuneRows = Uint32Array.from({ length: Math.min(20_000, train.rows) }, (_, i) => i);
    const tune = { ...base, epochs: 1, batchSize: 64, learningRate: 0.005, schedule: { type: 'constant' }, seed: seed + 6, rows: tuneRows } as const;
    const lenetPruned = lenet.clone();
    await prune(lenetPruned, { type: 'global', sparsity: 0.9 });
    training.push(await trainWithProgress(log, 'LeNet-5 pruned 90 %', lenetPruned, gpuTrain, tune, gpuTest));
    await save(
      'lenet-5 pruned 90 %',
      `LeNet-5 pruned to 10 % of its weights (global magnitude), fine-tuned one epoch on ${tuneRows.length.toLocaleString('en-US')} rows at lr 0.005`,
      lenetPruned,
      networks,
    );
    const lenetInt8 = lenetPruned.clone();
    await quantizeWeights(lenetInt8, { bits: 8, restrictRange: true });
    await save('lenet-5 pruned + int8', 'the pruned LeNet-5, int8 weights (one scale per filter)', lenetInt8, networks);
    const slim = await pruneFilters(lenet, { fraction: 0.5 });
    training.push(await trainWithProgress(log, 'LeNet-5 half its filters', slim, gpuTrain, tune, gpuTest));
    await save(
      'lenet-5 half the filters',
      `half of each convolution's filters removed physically (smallest L1 norm) with the rows that read them (${slim.describe()}), fine-tuned one epoch on ${tuneRows.length.toLocaleString('en-US')} rows`,
      slim,
      networks,
    );
  }

  // 7. Every variant against its dense model on the test set.
  const score = async (list: Saved[], reference: Saved, task: string): Promise<VariantReport[]> => {
    const bar = log.progress(task, list.length, 'variants');
    const refPredictions = ((await testMetrics(reference.model, gpuTest)) as ClassificationMetrics).predictions;
    // Timed together, so that their speed ratios do not carry the machine's drift between them.
    const speeds = await inferenceSpeeds(
      list.map((m) => m.model),
      gpuTest.data,
    );
    const out: VariantReport[] = [];
    for (const [i, m] of list.entries()) {
      out.push({
        ...(await measureVariant(m.model, { model: reference.model, predictions: refPredictions, bytes: reference.bytes }, gpuTest, {
          name: m.name,
          description: m.description,
          seed,
          fileBytes: m.bytes,
          speed: speeds[i]!,
        })),
        file: m.file,
      });
      bar.update(i + 1);
    }
    bar.done();
    return out;
  };
  const variants = await score(models, models.find((m) => m.model === dense)!, 'scoring variants');
  const cnnVariants = networks.length ? await score(networks, networks[0]!, 'scoring networks') : [];

  // 8. A cascade: the distilled student answers, rows it is unsure of go to the dense model. The
  // threshold is chosen on the last training rows (within 0.1 points of the dense model there).
  const held = Math.min(5000, Math.max(1, Math.floor(train.rows / 10)));
  const cascade = await studyCascade(
    distilled,
    dense,
    subset(
      train,
      Uint32Array.from({ length: held }, (_, i) => train.rows - held + i),
    ),
    test,
    { maxDrop: 0.001 },
  );
  log.log(
    `cascade: the distilled student answers, ${(cascade.test.cascade.deferred * 100).toFixed(1)} % of test rows go to the dense model (threshold ${cascade.threshold}): ${(cascade.test.cascade.accuracy * 100).toFixed(2)} % at ${Math.round(cascade.test.cascade.rowsPerSecond).toLocaleString('en-US')} rows/s`,
  );
  const report: Report = {
    tool: 'shrinkray 0.1.0',
    created: new Date().toISOString(),
    command: options.command ?? '',
    device: device.describe(),
    data: { name: data.name, trainRows: train.rows, testRows: test.rows, features: train.cols, classes },
    settings: {
      quick,
      widths,
      epochs,
      pruneEpochs,
      sparsity,
      bits,
      shareBits,
      studentWidths,
      studentEpochs,
      alpha,
      temperature,
      batchSize: base.batchSize,
      learningRate: base.learningRate,
      optimizer: base.optimizer,
      seed,
    },
    seconds: (performance.now() - started) / 1000,
    reference: 'dense',
    variants,
    training,
    importance: scored.layers.flatMap(({ layer, scores }) => Array.from(scores, (importance, unit) => ({ layer: `layer ${layer + 1}`, unit, importance }))),
    layerRemovals,
    cascade: { small: 'student distilled', large: 'dense', ...cascade },
    simplification: {
      before: simplified.before,
      afterRounds: simplified.after,
      after: simplifiedFinal,
      rounds: simplified.rounds.map((r) => ({ round: r.round, widths: r.widths, parameters: r.parameters, accuracy: r.accuracy })),
    },
    ...(cnnVariants.length ? { cnn: { reference: 'lenet-5', variants: cnnVariants } } : {}),
    notes: [
      `Ablation importance (loss increase without the unit) of the dense model on ${scored.samples} training rows: baseline loss ${scored.baselineLoss.toFixed(4)}; ${scored.layers.map((l) => `layer ${l.layer + 1}: ${Array.from(l.scores).filter((v) => v <= 0).length} of ${l.scores.length} units do not help`).join(', ')}.`,
      `Removing a whole hidden layer: ${layerRemovals.map((l) => `layer ${l.layer + 1} (${l.method}) +${l.importance.toFixed(4)} loss, ${l.parametersAfter.toLocaleString('en-US')} parameters left`).join('; ')}.`,
    ],
  };
  await writeReport(dir, report);
  for (const m of [...models, ...networks]) m.model.dispose();
  gpuTrain.dispose();
  gpuTest.dispose();
  return report;
}
