/** shrinkray importance: ablation (or cheaper) importance of every hidden unit and layer of a model. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { FILTER_CRITERIA, filterImportance } from '../../compress/filter-importance.js';
import { IMPORTANCE_CRITERIA, layerImportance, unitImportance } from '../../compress/importance.js';
import { layerName, Sequential } from '../../nn/sequential.js';
import { writeFileAtomic } from '../../io/files.js';
import { choiceOf, numberOf, requiredString, stringOf, UsageError } from '../args.js';
import { importanceHistogramSpec, renderSvg } from '../../study/charts.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, requireMlp } from '../models.js';

export const importance: Command = {
  name: 'importance',
  summary: 'importance of every hidden unit or convolution filter (ablation: loss increase without it; or l1, l2, taylor, random) and layer',
  usage: 'shrinkray importance --model FILE [--criterion ablation] [--samples N] [--out DIR]',
  description:
    'Scored on the test rows of --data (or --samples of them, seeded). Ablation runs batched on the GPU.\nAn MLP: every hidden unit, and each hidden layer removed. A convolutional network: every filter of\nevery convolution (its output channel at zero; taylor is for dense units only).\nWrites importance.json and importance.svg (a histogram) to --out.',
  options: {
    ...DATA_OPTIONS,
    model: { type: 'string', arg: 'FILE', help: 'the model' },
    criterion: { type: 'string', arg: 'NAME', default: 'ablation', help: IMPORTANCE_CRITERIA.join(', ') },
    samples: { type: 'string', arg: 'N', help: 'score on this many rows (default: all test rows)' },
    top: { type: 'string', arg: 'N', default: '5', help: 'how many of the least and most important units to print per layer' },
    out: { type: 'string', arg: 'DIR', default: 'shrinkray-report', help: 'where importance.json and importance.svg go' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const criterion = choiceOf(values, 'criterion', IMPORTANCE_CRITERIA);
    const samples = values.samples === undefined ? undefined : numberOf(values, 'samples', { integer: true, min: 1 });
    const top = numberOf(values, 'top', { integer: true, min: 0 });
    const seed = numberOf(values, 'seed', { integer: true, min: 0 });
    const device = await ctx.device();
    const opened = openModel(device, file, out);
    const { test } = loadDataFor(values, opened.standardizer, opened.classNames);
    const sampling = { seed, ...(samples !== undefined ? { samples } : {}) };
    const printRanked = (name: string, scores: Float64Array, what: string) => {
      const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]!);
      const fmt = (u: number) => `${u}:${scores[u]!.toExponential(2)}`;
      out.log(`  ${name} (${scores.length} ${what}): least ${order.slice(0, top).map(fmt).join(' ')} | most ${order.slice(-top).reverse().map(fmt).join(' ')}`);
    };
    const t0 = performance.now();
    let result: Record<string, unknown>;
    let rows: { layer: string; unit: number; importance: number }[];
    const network = opened.model instanceof Sequential ? opened.model : undefined;
    if (network) {
      // A network: every filter of every convolution (its output channel at zero).
      if (criterion === 'taylor') throw new UsageError(`--criterion taylor scores dense units only; ${file} holds a convolutional network: use ${FILTER_CRITERIA.join(', ')}`);
      const filters = await filterImportance(network, test, { criterion, ...sampling });
      const seconds = (performance.now() - t0) / 1000;
      const name = (stage: number) => `stage ${stage + 1} (${layerName(network.stages[stage]!.spec)})`;
      out.log(
        `${criterion} importance of ${filters.stages.reduce((n, s) => n + s.scores.length, 0)} filters on ${filters.samples || test.rows} rows in ${seconds.toFixed(2)} s${Number.isNaN(filters.baselineLoss) ? '' : ` (loss ${filters.baselineLoss.toFixed(4)})`}`,
      );
      for (const { stage, scores } of filters.stages) printRanked(name(stage), scores, 'filters');
      rows = filters.stages.flatMap(({ stage, scores }) => Array.from(scores, (importance, unit) => ({ layer: name(stage), unit, importance })));
      result = { model: file, criterion, samples: filters.samples, baselineLoss: filters.baselineLoss, seconds, filters: rows };
    } else {
      const model = requireMlp(opened.model, file, 'importance');
      const units = await unitImportance(model, test, { criterion, ...sampling });
      const seconds = (performance.now() - t0) / 1000;
      const layers = await layerImportance(model, test, sampling);
      out.log(
        `${criterion} importance of ${units.layers.reduce((n, l) => n + l.scores.length, 0)} hidden units on ${units.samples || test.rows} rows in ${seconds.toFixed(2)} s${Number.isNaN(units.baselineLoss) ? '' : ` (loss ${units.baselineLoss.toFixed(4)})`}`,
      );
      for (const { layer, scores } of units.layers) printRanked(`layer ${layer + 1}`, scores, 'units');
      for (const l of layers) out.log(`  removing hidden layer ${l.layer + 1} (${l.method}): loss +${l.importance.toFixed(4)}, ${l.parametersAfter.toLocaleString('en-US')} parameters left`);
      rows = units.layers.flatMap(({ layer, scores }) => Array.from(scores, (importance, unit) => ({ layer: `layer ${layer + 1}`, unit, importance })));
      result = { model: file, criterion, samples: units.samples, baselineLoss: units.baselineLoss, seconds, units: rows, layers };
    }
    const dir = stringOf(values, 'out')!;
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, 'importance.json'), new TextEncoder().encode(JSON.stringify(result, null, 2)));
    writeFileAtomic(join(dir, 'importance.svg'), new TextEncoder().encode(await renderSvg(importanceHistogramSpec(rows))));
    out.log(`wrote ${join(dir, 'importance.json')} and importance.svg`);
    out.result(result);
    opened.model.dispose();
  },
};
