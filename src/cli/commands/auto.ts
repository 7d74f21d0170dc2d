/** shrinkray auto: the smallest (or fastest) compressed model within an accuracy budget, chosen on validation rows. */
import { join } from 'node:path';
import { autoCompress, holdOut } from '../../auto/auto-compress.js';
import { type Dimension, STAGES, STEPS } from '../../auto/candidate.js';
import { GpuDataset } from '../../data/gpu-dataset.js';
import type { Model } from '../../nn/model.js';
import { Sequential } from '../../nn/sequential.js';
import { autoReport, writeAutoReport } from '../../study/auto-report.js';
import { handSetOf } from '../hand-set.js';
import { trainWithProgress } from '../../study/progress.js';
import { choiceOf, numberOf, stringOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadData, loadDataFor } from '../data.js';
import { openModel, outputOf, SAVE_OPTIONS } from '../models.js';
import { buildModel, NETWORK_OPTIONS } from '../network.js';
import { writeFileAtomic } from '../../io/files.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { metadataOf } from '../../io/model-metadata.js';
import { queueAutoRunner } from '../../queue/coordinator.js';
import { QUEUE_OPTION, queueOf } from '../queue.js';

export const autoCommand: Command = {
  name: 'auto',
  summary: 'search per-layer pruning and weight sharing for the smallest (or fastest) model within an accuracy budget',
  usage: 'shrinkray auto [--model FILE | --layers 300,100 | --arch lenet5] [--max-drop 0.003] [--objective size|latency] [--validation 0.1 | --folds K] [--budget-minutes 15] --model-out FILE',
  description:
    'Holds out --validation of the training rows (stratified, --seed), measures how each layer alone bears\npruning and fewer bits (or fewer units), then searches per-layer settings, fine-tuning each candidate, for\nthe smallest file (or the fastest forward pass) whose validation accuracy stays within --max-drop of the\ndense model. The test set is scored once, at the end. Without --model it first trains a dense model\n(--layers or --arch, --epochs) on the rows it does not hold out, so the validation rows stay unseen; a\n--model should likewise not have been trained on them. Convolutional networks: --objective size.',
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...QUEUE_OPTION,
    ...trainOptions({ epochs: '10 for the dense model', lr: 0.1 }),
    'batch-size': { type: 'string', arg: 'N', default: '128', help: 'mini-batch size' },
    model: { type: 'string', arg: 'FILE', help: 'the dense model (default: train one)' },
    ...NETWORK_OPTIONS,
    'max-drop': { type: 'string', arg: 'FRACTION', default: '0.003', help: 'largest accuracy drop allowed, a fraction (0.003 = 0.3 points)' },
    objective: { type: 'string', arg: 'NAME', default: 'size', help: "'size' (file bytes) or 'latency' (forward pass over 1,024 rows)" },
    validation: { type: 'string', arg: 'FRACTION', default: '0.1', help: 'fraction of the training rows held out to decide' },
    folds: {
      type: 'string',
      arg: 'K',
      help: 'decide by K-fold cross-validation instead of --validation: a dense model per fold (trained as --epochs, --lr... say), every trial on every fold, the chosen settings made again on all rows',
    },
    margin: { type: 'string', arg: 'SE', default: '1', help: "standard errors of a candidate's paired difference from dense that must fit in the budget too (0: the drop alone)" },
    'budget-minutes': { type: 'string', arg: 'M', default: '15', help: 'minutes for the whole search: folds, curves, trials and the refit' },
    'prune-epochs': { type: 'string', arg: 'N', default: '4', help: 'fine-tuning epochs of each candidate while pruning' },
    compare: { type: 'string', arg: 'REPORT', help: "a default run's report.json: its variants are listed beside the chosen model" },
    'model-out': { type: 'string', arg: 'FILE', default: 'auto.safetensors', help: 'where the chosen model goes' },
    out: { type: 'string', arg: 'DIR', default: 'shrinkray-auto', help: 'where the report goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const maxDrop = numberOf(values, 'max-drop', { min: 0, max: 1, exclusiveMax: true });
    const objective = choiceOf(values, 'objective', ['size', 'latency'] as const);
    const fraction = numberOf(values, 'validation', { min: 0, max: 0.5, exclusiveMin: true });
    const folds = values.folds === undefined ? undefined : numberOf(values, 'folds', { integer: true, min: 2, max: 20 });
    const margin = numberOf(values, 'margin', { min: 0, max: 10 });
    const budgetMinutes = numberOf(values, 'budget-minutes', { min: 0, exclusiveMin: true, max: 10_000 });
    const pruneEpochs = numberOf(values, 'prune-epochs', { integer: true, min: 1, max: 1000 });
    const fit = fitOptionsOf(values, { epochs: 10, lr: 0.1 });
    const seed = fit.seed ?? 1;
    const target = outputOf(values, 'model-out');
    const dir = stringOf(values, 'out')!;
    const handSet = values.compare === undefined ? undefined : handSetOf(stringOf(values, 'compare')!);
    const modelPath = stringOf(values, 'model');
    const queue = queueOf(values);
    const device = await ctx.device();
    const opened = modelPath ? openModel(device, modelPath, out) : undefined;
    const data = opened ? loadDataFor(values, opened.standardizer, opened.classNames) : loadData(values);
    if (!data.train.labels || !data.test.labels) throw new UsageError('auto needs classification data: its budget is on accuracy');
    const classNames = data.train.classNames;
    const gpu = new GpuDataset(device, data.train);
    const dense: Model = opened ? opened.model : buildModel(device, values, data.train, Math.max(data.train.classes!, data.test.classes!), { activation: 'relu', seed });
    if (objective === 'latency' && dense instanceof Sequential)
      throw new UsageError(`--objective latency removes hidden units of MLPs; for a convolutional network (${dense.describe()}) use --objective size`);
    let denseSeconds: number | undefined;
    if (!opened) {
      // Trained on the rows autoCompress will not hold out, so its validation rows stay unseen (with folds, each fold has a dense model of its own).
      const { fitRows } = folds ? { fitRows: undefined } : holdOut(data.train, fraction, seed);
      const t0 = performance.now();
      await trainWithProgress(out, 'dense', dense, gpu, { ...fit, ...(fitRows ? { rows: fitRows } : {}) }, data.test);
      denseSeconds = (performance.now() - t0) / 1000;
    }
    const metadata = metadataOf({ data: data.name, standardizer: data.standardizer, classNames, note: `shrinkray auto, max drop ${maxDrop}, objective ${objective}` });
    // The first stage's curves are measured before any trial (later stages' during the search).
    const layersOf = (dim: Dimension) => (dim === 'units' ? dense.layers.length - 1 : dense.layers.length);
    const firstPoints = STAGES[objective][0]!.dimensions.reduce((n, dim) => n + (STEPS[dim].length - 1) * layersOf(dim), 0);
    let sensitivityPoints = 0;
    const autoStarted = performance.now(); // the budget counts from here
    const bar = out.progress('sensitivity', firstPoints, 'points');
    let searchBar: ReturnType<typeof out.progress> | undefined;
    const result = await autoCompress(dense, gpu, {
      maxAccuracyDrop: maxDrop,
      margin,
      objective,
      validation: folds ? { folds, training: fit } : fraction,
      fineTune: { ...fit, epochs: 1 },
      pruneEpochs,
      budgetMinutes,
      float16: !!values.float16,
      metadata,
      test: data.test,
      ...(queue ? { runner: queueAutoRunner(queue) } : {}),
      onSensitivity: () => {
        if (searchBar) return;
        bar.update(++sensitivityPoints);
      },
      onTrial: (t, ok) => {
        if (!searchBar) bar.done(`${sensitivityPoints} points`), (searchBar = out.progress('search', Math.round(budgetMinutes * 60), 's'));
        const line = `trial ${t.id}: ${objective === 'size' ? `${t.bytes.toLocaleString('en-US')} B` : `${t.batchMs!.toFixed(2)} ms`}, validation ${(t.validationAccuracy * 100).toFixed(2)} %${ok ? '' : ' (over the budget)'}`;
        if (out.interactive) searchBar.update(Math.min(Math.round(budgetMinutes * 60), Math.round((performance.now() - autoStarted) / 1000)), { last: line });
        else out.log(line);
      },
    });
    searchBar?.done(`${result.trials.length} trials${result.stopped === 'time' ? ', stopped by the time budget' : ''}`);
    writeFileAtomic(target, result.file); // the very bytes the search measured
    const report = autoReport(result, {
      tool: 'shrinkray',
      created: new Date().toISOString(),
      command: ctx.commandLine,
      device: device.describe(),
      data: { name: data.name, trainRows: data.train.rows - (folds ? 0 : result.validationRows), validationRows: result.validationRows, testRows: data.test.rows, ...(folds ? { folds } : {}) },
      settings: { maxDrop, margin, objective, budgetMinutes, pruneEpochs, shareEpochs: 1, float16: !!values.float16, seed },
      chosenFile: target,
      ...(modelPath ? { denseFile: modelPath } : {}),
      ...(denseSeconds === undefined ? {} : { denseSeconds }),
      ...(handSet ? { handSet } : {}),
      notes: [
        ...(modelPath && !folds ? [`The dense model came from ${modelPath}: if it was trained on the validation rows, every validation accuracy here is optimistic.`] : []),
        ...(folds ? [`With ${folds} folds a trial's size is its first fold's model file; the chosen model was made again on all training rows and its size is that file's.`] : []),
      ],
    });
    await writeAutoReport(dir, report);
    const t = result.test!;
    out.log(
      `chosen: ${result.chosen.description}\n  ${result.chosen.bytes.toLocaleString('en-US')} B (${(result.dense.bytes / result.chosen.bytes).toFixed(1)}x smaller than ${result.dense.bytes.toLocaleString('en-US')} B), test accuracy ${(t.chosenAccuracy * 100).toFixed(2)} % against ${(t.denseAccuracy * 100).toFixed(2)} % (${t.withinBudget ? 'within' : 'OUTSIDE'} the budget); saved ${target}, report ${join(dir, 'report.md')}`,
    );
    out.result(report);
    result.model.dispose();
    dense.dispose();
    gpu.dispose();
  },
};
