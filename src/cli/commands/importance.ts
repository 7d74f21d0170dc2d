/** shrinkray importance: ablation (or cheaper) importance of every hidden unit and layer of a model. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { IMPORTANCE_CRITERIA, layerImportance, unitImportance } from '../../compress/importance.js';
import { writeFileAtomic } from '../../io/files.js';
import { choiceOf, numberOf, requiredString, stringOf } from '../args.js';
import { importanceHistogramSpec, renderSvg } from '../../study/charts.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, requireMlp } from '../models.js';

export const importance: Command = {
  name: 'importance',
  summary: 'importance of every hidden unit (ablation: loss increase without it; or l1, l2, taylor, random) and layer',
  usage: 'shrinkray importance --model FILE [--criterion ablation] [--samples N] [--out DIR]',
  description: 'Scored on the test rows of --data (or --samples of them, seeded). Ablation runs batched on the GPU.\nWrites importance.json and importance.svg (a histogram) to --out.',
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
    const model = requireMlp(opened.model, file, 'importance');
    const { test } = loadDataFor(values, opened.standardizer, opened.classNames);
    const t0 = performance.now();
    const units = await unitImportance(model, test, { criterion, seed, ...(samples !== undefined ? { samples } : {}) });
    const seconds = (performance.now() - t0) / 1000;
    const layers = await layerImportance(model, test, { seed, ...(samples !== undefined ? { samples } : {}) });
    out.log(
      `${criterion} importance of ${units.layers.reduce((n, l) => n + l.scores.length, 0)} hidden units on ${units.samples || test.rows} rows in ${seconds.toFixed(2)} s${Number.isNaN(units.baselineLoss) ? '' : ` (loss ${units.baselineLoss.toFixed(4)})`}`,
    );
    for (const { layer, scores } of units.layers) {
      const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]!);
      const fmt = (u: number) => `${u}:${scores[u]!.toExponential(2)}`;
      out.log(`  layer ${layer + 1} (${scores.length} units): least ${order.slice(0, top).map(fmt).join(' ')} | most ${order.slice(-top).reverse().map(fmt).join(' ')}`);
    }
    for (const l of layers) out.log(`  removing hidden layer ${l.layer + 1} (${l.method}): loss +${l.importance.toFixed(4)}, ${l.parametersAfter.toLocaleString('en-US')} parameters left`);
    const dir = stringOf(values, 'out')!;
    mkdirSync(dir, { recursive: true });
    const rows = units.layers.flatMap(({ layer, scores }) => Array.from(scores, (importance, unit) => ({ layer: `layer ${layer + 1}`, unit, importance })));
    const result = { model: file, criterion, samples: units.samples, baselineLoss: units.baselineLoss, seconds, units: rows, layers };
    writeFileAtomic(join(dir, 'importance.json'), new TextEncoder().encode(JSON.stringify(result, null, 2)));
    writeFileAtomic(join(dir, 'importance.svg'), new TextEncoder().encode(await renderSvg(importanceHistogramSpec(rows))));
    out.log(`wrote ${join(dir, 'importance.json')} and importance.svg`);
    out.result(result);
    opened.model.dispose();
  },
};
