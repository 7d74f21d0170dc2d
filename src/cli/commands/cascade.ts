/** shrinkray cascade: a compressed model answers, unsure rows go to the large one; the threshold chosen on validation rows. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { subset } from '../../data/dataset.js';
import { writeFileAtomic } from '../../io/files.js';
import { studyCascade } from '../../validate/cascade.js';
import { numberOf, requiredString, stringOf, UsageError } from '../args.js';
import { cascadeSpec, renderSvg } from '../../study/charts.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel } from '../models.js';

export const cascadeCommand: Command = {
  name: 'cascade',
  summary: 'answer with a compressed model, send unsure rows to the large one; threshold chosen on validation rows',
  usage: 'shrinkray cascade --small FILE --large FILE [--max-drop 0.001] [--validation 0.1] [--out DIR]',
  description:
    "The small model answers every row; rows whose top probability is below the threshold go to the large model.\nThe threshold is chosen on the last --validation fraction of the training rows (never the test set): the fastest\nwhose accuracy there is within --max-drop of the large model's. Then small, large and the cascade are measured once\non the test set (accuracy, rows per second at batch 1024). Models are more confident on rows they were trained on,\nso a threshold chosen there sends fewer rows on than one chosen on unseen rows would: the test figures show the outcome.",
  options: {
    ...DATA_OPTIONS,
    small: { type: 'string', arg: 'FILE', help: 'the compressed model' },
    large: { type: 'string', arg: 'FILE', help: 'the original model' },
    'max-drop': { type: 'string', arg: 'FRACTION', default: '0.001', help: 'accuracy the cascade may lose against the large model on validation rows' },
    validation: { type: 'string', arg: 'FRACTION', default: '0.1', help: 'the last rows of the training data used to choose the threshold' },
    out: { type: 'string', arg: 'DIR', help: 'write cascade.json and cascade.svg (accuracy and speed against the threshold) here' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const smallFile = requiredString(values, 'small', 'FILE');
    const largeFile = requiredString(values, 'large', 'FILE');
    const maxDrop = numberOf(values, 'max-drop', { min: 0, max: 1 });
    const fraction = numberOf(values, 'validation', { min: 0, max: 1, exclusiveMin: true });
    if (fraction >= 1) throw new UsageError('--validation must be below 1');
    const device = await ctx.device();
    const small = openModel(device, smallFile, out);
    const large = openModel(device, largeFile, out);
    if (JSON.stringify(small.standardizer) !== JSON.stringify(large.standardizer)) throw new UsageError('the two models were trained on differently standardized data');
    const { train, test } = loadDataFor(values, large.standardizer, large.classNames);
    if (!train.labels || !test.labels) throw new UsageError('a cascade needs classification data');
    const held = Math.max(1, Math.round(train.rows * fraction));
    const validation = subset(
      train,
      Uint32Array.from({ length: held }, (_, i) => train.rows - held + i),
    );
    const study = await studyCascade(small.model, large.model, validation, test, { maxDrop });
    const curve = study.validation;
    out.log(`validation (${held} training rows): small ${(curve.small.accuracy * 100).toFixed(2)} %, large ${(curve.large.accuracy * 100).toFixed(2)} %`);
    for (const p of curve.points)
      out.log(
        `  threshold ${p.threshold.toFixed(3)}: accuracy ${(p.accuracy * 100).toFixed(2)} %, ${(p.deferred * 100).toFixed(1)} % of rows to the large model, ${Math.round(p.rowsPerSecond).toLocaleString('en-US')} rows/s`,
      );
    out.log(`chosen threshold ${study.threshold} (within ${(maxDrop * 100).toFixed(2)} points of the large model on validation rows)`);
    const result = { small: smallFile, large: largeFile, ...study };
    const accuracy = study.test.cascade.accuracy;
    const t = result.test;
    out.log(
      `test (${test.rows} rows): small ${(t.small.accuracy * 100).toFixed(2)} % at ${Math.round(t.small.rowsPerSecond).toLocaleString('en-US')} rows/s, large ${(t.large.accuracy * 100).toFixed(2)} % at ${Math.round(t.large.rowsPerSecond).toLocaleString('en-US')} rows/s, cascade ${(accuracy * 100).toFixed(2)} % at ${Math.round(t.cascade.rowsPerSecond).toLocaleString('en-US')} rows/s with ${(t.cascade.deferred * 100).toFixed(1)} % of rows sent to the large model`,
    );
    const dir = stringOf(values, 'out');
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, 'cascade.json'), new TextEncoder().encode(JSON.stringify(result, null, 2)));
      writeFileAtomic(join(dir, 'cascade.svg'), new TextEncoder().encode(await renderSvg(cascadeSpec(curve.points))));
      out.log(`wrote ${join(dir, 'cascade.json')} and cascade.svg`);
    }
    out.result(result);
    small.model.dispose();
    large.model.dispose();
  },
};
