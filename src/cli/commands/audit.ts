/** shrinkray audit: membership-inference audit of one or more models (training rows vs test rows). */
import { compareLeakage } from '../../validate/privacy.js';
import { numberOf, requiredString } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel } from '../models.js';
import type { Model } from '../../nn/model.js';

export const audit: Command = {
  name: 'audit',
  summary: 'membership-inference audit: how well an attacker tells training rows from unseen ones',
  usage: 'shrinkray audit --model FILE[,FILE...] [--data ...] [--samples N]',
  description:
    'Loss, confidence and entropy attacks; AUC 0.5 and advantage 0 mean no leakage. The training rows of --data\nmust be the ones the model was trained on. Several models (e.g. dense and pruned) are audited on the same rows.',
  options: {
    ...DATA_OPTIONS,
    model: { type: 'string', arg: 'FILES', help: 'comma-separated model files' },
    samples: { type: 'string', arg: 'N', default: '10000', help: 'rows per side' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const files = requiredString(values, 'model', 'FILE').split(',');
    const samples = numberOf(values, 'samples', { integer: true, min: 10 });
    const seed = numberOf(values, 'seed', { integer: true, min: 0 });
    const device = await ctx.device();
    const opened = files.map((f) => openModel(device, f, out));
    const data = loadDataFor(values, opened[0]!.standardizer, opened[0]!.classNames);
    const models: Record<string, Model> = Object.fromEntries(opened.map((o, i) => [files[i]!, o.model]));
    const audits = await compareLeakage(models, data.train, data.test, { samples, seed });
    for (const [name, a] of Object.entries(audits)) {
      out.log(`${name}: train accuracy ${(a.trainAccuracy * 100).toFixed(2)} %, test ${(a.testAccuracy * 100).toFixed(2)} % (gap ${(a.generalizationGap * 100).toFixed(2)} points)`);
      for (const x of a.attacks) out.log(`  ${x.attack.padEnd(10)} AUC ${x.auc.toFixed(4)}  advantage ${x.advantage.toFixed(4)}  TPR at 1 % FPR ${x.tprAt1PctFpr.toFixed(4)}`);
    }
    out.result(audits);
    for (const o of opened) o.model.dispose();
  },
};
