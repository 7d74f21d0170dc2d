/** shrinkray evaluate: a saved model's metrics on the test data. */
import { testMetrics, type ClassificationMetrics, type RegressionMetrics } from '../../validate/metrics.js';
import { requiredString } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel } from '../models.js';

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: "a model's accuracy, precision, recall, F1 and confusion matrix on the test data",
  usage: 'shrinkray evaluate --model FILE [--data ...]',
  options: { ...DATA_OPTIONS, model: { type: 'string', arg: 'FILE', help: 'the model (safetensors)' } },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const device = await ctx.device();
    const { model, standardizer, classNames } = openModel(device, file, out);
    // CSV features get the standardization stored with the model, fitted when it was trained.
    const raw = loadDataFor(values, standardizer, classNames);
    const test = raw.test;
    const m = await testMetrics(model, test);
    if (m.kind === 'classification') {
      const c = m as ClassificationMetrics;
      out.log(`${file} on ${raw.name} (${test.rows} test rows): accuracy ${(c.accuracy * 100).toFixed(2)} %, macro F1 ${c.f1.macro.toFixed(4)}, log loss ${c.logLoss.toFixed(4)}`);
      out.log('confusion (rows: true class, columns: predicted):');
      for (const row of c.confusion) out.log(`  ${row.map((v) => String(v).padStart(5)).join('')}`);
      const { predictions: _p, ...rest } = c;
      out.result({ model: file, data: raw.name, ...rest });
    } else {
      const r = m as RegressionMetrics;
      out.log(
        `${file} on ${raw.name}: ${Object.entries(r)
          .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(4) : ''}`)
          .join(', ')}`,
      );
      out.result({ model: file, data: raw.name, ...r });
    }
    model.dispose();
  },
};
