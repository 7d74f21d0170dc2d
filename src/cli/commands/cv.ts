/** shrinkray cv: cross-validation of an architecture (k-fold, stratified, leave-one-out). */
import { queueCvRunner } from '../../queue/coordinator.js';
import { type FoldResult, summarizeFolds } from '../../validate/cross-validate.js';
import { type CvPlan, cvContext, inProcessCvRunner, planSplitter } from '../../validate/cv-plan.js';
import { isNetwork } from '../../nn/architecture.js';
import { choiceOf, numberOf, stringOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadCvRows } from '../data.js';
import { layersOf, NETWORK_OPTIONS } from '../network.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { QUEUE_OPTION, queueOf } from '../queue.js';

export const cv: Command = {
  name: 'cv',
  summary: 'cross-validate an architecture, optionally compressed in each fold',
  usage: 'shrinkray cv [--data ...] [--method stratified|kfold|loo] [--folds 5] [--layers 300,100 | --arch lenet5] [--sparsity F] [--bits N]',
  description:
    "Every row of a CSV file is split (a holdout only with --holdout or --test); for MNIST and IDX data, the training\nrows (the test data is not used). CSV features are standardized inside each fold on its training rows only, so no\ntest row leaks into the scaling. Each fold trains a fresh model; --sparsity and --bits prune (global magnitude) and\nquantize it before it is scored, so a compressed model's spread can be compared.",
  options: {
    ...DATA_OPTIONS,
    ...QUEUE_OPTION,
    ...trainOptions({ epochs: '5', lr: 0.05 }),
    method: { type: 'string', arg: 'NAME', default: 'stratified', help: 'stratified, kfold or loo (leave-one-out)' },
    folds: { type: 'string', arg: 'K', default: '5', help: 'number of folds' },
    'no-shuffle': { type: 'boolean', help: "split in row order, as scikit-learn's KFold(shuffle=False) (default: shuffled with --seed)" },
    ...NETWORK_OPTIONS,
    sparsity: { type: 'string', arg: 'FRACTION', help: "prune each fold's model to this sparsity before scoring" },
    bits: { type: 'string', arg: 'N', help: "quantize each fold's model to this bit width before scoring" },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const method = choiceOf(values, 'method', ['stratified', 'kfold', 'loo'] as const);
    const k = numberOf(values, 'folds', { integer: true, min: 2 });
    const fitOptions = fitOptionsOf(values, { epochs: 5, lr: 0.05 });
    const sparsity = values.sparsity === undefined ? undefined : numberOf(values, 'sparsity', { min: 0, max: 0.999 });
    const bits = values.bits === undefined ? undefined : numberOf(values, 'bits', { integer: true, min: 2, max: 8 });
    const queue = queueOf(values);
    const data = loadCvRows(values);
    const all = data.rows;
    const hidden = layersOf(values);
    let network: CvPlan['network'];
    if (isNetwork(hidden)) {
      const given = stringOf(values, 'input');
      const input = given === undefined ? all.imageShape : given.split('x').map(Number);
      if (input?.length !== 3 || input.reduce((a, b) => a * b, 1) !== all.cols)
        throw new UsageError(`a network needs images: use --data mnist or idx, or give each row's shape with --input HxWxC (H * W * C = ${all.cols})`);
      network = { input, layers: hidden };
    }
    const plan: CvPlan = {
      hidden: network ? [] : hidden.map((l) => (l as { units: number }).units),
      ...(network ? { network } : {}),
      outputs: all.labels ? all.classes! : all.targetCols!,
      fit: fitOptions,
      method,
      folds: k,
      shuffle: !values['no-shuffle'],
      seed: fitOptions.seed ?? 0,
      ...(sparsity !== undefined ? { sparsity } : {}),
      ...(bits !== undefined ? { bits } : {}),
      standardize: data.csv,
    };
    const splitter = planSplitter(plan);
    const folds = splitter.split(all.rows, all.labels).length;
    const bar = out.progress(`cv ${splitter.name}`, folds, 'folds');
    let done = 0;
    const onFold = (f: FoldResult) => {
      bar.update(
        ++done,
        Object.fromEntries(
          Object.entries(f.scores)
            .slice(0, 1)
            .map(([k2, v]) => [k2, v.toFixed(4)]),
        ),
      );
      if (method !== 'loo' && !out.interactive)
        out.log(
          `fold ${f.fold + 1}: ${Object.entries(f.scores)
            .map(([k2, v]) => `${k2} ${v.toFixed(4)}`)
            .join(', ')} (${f.fitSeconds.toFixed(1)} s)`,
        );
    };
    const trials = Array.from({ length: folds }, (_, id) => ({ id }));
    let results: FoldResult[];
    if (queue) results = await queueCvRunner(queue, all, plan).run(trials, onFold);
    else {
      const context = cvContext(await ctx.device(), all, plan);
      try {
        results = await inProcessCvRunner(context).run(trials, onFold);
      } finally {
        context.shared?.dispose();
      }
    }
    const result = summarizeFolds(splitter.name, results);
    bar.done();
    out.log(
      `${splitter.name} on ${data.name} (${all.rows} rows): ${Object.keys(result.mean)
        .map((m) => `${m} ${result.mean[m]!.toFixed(4)} ± ${result.std[m]!.toFixed(4)}`)
        .join(', ')}`,
    );
    out.result({ data: data.name, rows: all.rows, ...result });
  },
};
