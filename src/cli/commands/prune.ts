/** shrinkray prune: magnitude pruning of a saved model, gradual with fine-tuning or one-shot. */
import { pruneFilters } from '../../compress/filters.js';
import { prune as pruneModel, pruneReport } from '../../compress/prune.js';
import { Sequential } from '../../nn/sequential.js';
import { evaluate } from '../../nn/evaluate.js';
import { choiceOf, numberOf, requiredString, stringOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, outputOf, SAVE_OPTIONS, writeModel } from '../models.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { trainWithProgress } from '../../study/progress.js';
import { gradualPruning } from '../../compress/schedule.js';

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'prune a model: global, per layer, structured (neurons) or N:M; gradual with fine-tuning',
  usage: 'shrinkray prune --model FILE --sparsity 0.9 [--scope global|layer|structured|nm] [--block RxC] [--epochs N] --model-out FILE',
  description:
    "With --epochs > 0 (global or layer scope) the sparsity rises along Zhu & Gupta's cubic schedule while\nthe model fine-tunes; with --epochs 0 the model is pruned at once. Masks are kept in the file, so later\ntraining leaves pruned weights at zero.",
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...trainOptions({ epochs: '3; 0 prunes at once', lr: 0.005 }),
    model: { type: 'string', arg: 'FILE', help: 'the model to prune' },
    sparsity: { type: 'string', arg: 'FRACTION', default: '0.9', help: 'fraction of weights (structured: of hidden neurons) to remove' },
    scope: {
      type: 'string',
      arg: 'SCOPE',
      default: 'global',
      help: 'global, layer, structured (whole neurons, L2 norm), nm (with --nm 2:4), or filters (a network: the smallest-norm filters of each convolution removed physically)',
    },
    nm: { type: 'string', arg: 'N:M', default: '2:4', help: 'N:M pattern for --scope nm' },
    block: { type: 'string', arg: 'RxC', help: 'global or layer scope: prune whole blocks of R inputs by C units (as TF-MOT block_size), such as 4x4; the sparsity counts blocks' },
    'model-out': { type: 'string', arg: 'FILE', default: 'pruned.safetensors', help: 'where the pruned model goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const scope = choiceOf(values, 'scope', ['global', 'layer', 'structured', 'nm', 'filters'] as const);
    const sparsity = numberOf(values, 'sparsity', { min: 0, max: 1 });
    if (sparsity >= 1) throw new UsageError('--sparsity must be below 1');
    const nm = /^(\d+):(\d+)$/.exec(stringOf(values, 'nm') ?? '');
    if (scope === 'nm' && !nm) throw new UsageError(`--nm must be two whole numbers N:M, such as 2:4, not '${stringOf(values, 'nm')}'`);
    const blockText = stringOf(values, 'block');
    const blockMatch = /^(\d+)x(\d+)$/.exec(blockText ?? '');
    if (blockText !== undefined && (!blockMatch || (scope !== 'global' && scope !== 'layer')))
      throw new UsageError(`--block must be RxC, such as 4x4, with --scope global or layer, not '${blockText}' with --scope ${scope}`);
    const block = blockMatch ? ([Number(blockMatch[1]), Number(blockMatch[2])] as const) : undefined;
    const oneShot = values.epochs === '0' || scope === 'structured' || scope === 'nm' || scope === 'filters';
    const options = fitOptionsOf({ ...values, epochs: oneShot ? undefined : values.epochs }, { epochs: 3, lr: 0.005 });
    const target = outputOf(values, 'model-out'); // checked before the work, not after it
    const device = await ctx.device();
    const opened = openModel(device, file, out);
    let { model } = opened;
    if (scope === 'filters' && !(model instanceof Sequential)) throw new UsageError(`--scope filters removes convolution filters; ${file} is an MLP (use --scope structured)`);
    const { train, test } = loadDataFor(values, opened.standardizer, opened.classNames);
    const before = await evaluate(model, test);
    if (!oneShot && (scope === 'global' || scope === 'layer')) {
      const steps = Math.ceil(train.rows / options.batchSize) * options.epochs;
      await trainWithProgress(
        out,
        `pruning to ${(sparsity * 100).toFixed(0)} %`,
        model,
        train,
        {
          ...options,
          schedule: { type: 'constant' },
          hooks: [gradualPruning({ scope, block, finalSparsity: sparsity, endStep: Math.max(1, Math.floor(steps * 0.75)), frequency: Math.max(1, Math.floor(steps / 40)) })],
        },
        test,
      );
    } else if (scope === 'nm') {
      await pruneModel(model, { type: 'nm', n: Number(nm![1]), m: Number(nm![2]) });
    } else if (scope === 'filters') {
      const smaller = await pruneFilters(model as Sequential, { fraction: sparsity });
      out.log(
        `filters: ${(model as Sequential).describe()} -> ${smaller.describe()}, ${model.parameterCount().toLocaleString('en-US')} -> ${smaller.parameterCount().toLocaleString('en-US')} parameters`,
      );
      model.dispose();
      model = smaller;
    } else if (scope === 'structured') await pruneModel(model, { type: 'structured', fraction: sparsity });
    else await pruneModel(model, { type: scope, sparsity, block });
    const after = await evaluate(model, test);
    const report = await pruneReport(model);
    await writeModel(model, target, {
      float16: !!values.float16,
      note: `pruned (${scope}${block ? `, blocks ${block.join('x')}` : ''}, ${(report.sparsity * 100).toFixed(1)} %) from ${file}`,
      standardizer: opened.standardizer,
      classNames: opened.classNames,
      data: opened.metadata.data,
    });
    out.log(
      `pruned ${(report.sparsity * 100).toFixed(1)} % of weights (${report.layers.map((l) => `${(l.sparsity * 100).toFixed(1)} %`).join(' / ')}); test accuracy ${(before.accuracy * 100).toFixed(2)} % -> ${(after.accuracy * 100).toFixed(2)} %; saved ${target}`,
    );
    out.result({ model: target, scope, sparsity: report.sparsity, layers: report.layers, parameters: model.parameterCount(), before, after });
    model.dispose();
  },
};
