/** shrinkray simplify: remove the least important hidden units (or a network's filters) physically, fine-tuning between rounds. */
import { IMPORTANCE_CRITERIA } from '../../compress/importance.js';
import { simplify } from '../../compress/simplify.js';
import { subset } from '../../data/dataset.js';
import { evaluate } from '../../nn/evaluate.js';
import { choiceOf, numberOf, requiredString, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { Sequential } from '../../nn/sequential.js';
import { openModel, outputOf, SAVE_OPTIONS, writeModel } from '../models.js';
import { fitOptionsOf, trainOptions } from '../training.js';

export const simplifyCommand: Command = {
  name: 'simplify',
  summary: 'remove the least important units or filters physically (smaller matrices), k per round, with fine-tuning',
  usage: 'shrinkray simplify --model FILE [--units-per-round 20] [--target-parameters N] [--min-accuracy A] --model-out FILE',
  description:
    'Each round scores the units (a network: the filters of its convolutions; --criterion, on --score-samples\ntraining rows), removes the --units-per-round least important across all layers (with what reads them), fine-tunes (--epochs per round) and checks the accuracy on a\nvalidation split (--validation, the last rows of the training data). It stops at --target-parameters,\nbefore the accuracy falls below --min-accuracy, or after --rounds, keeping the last model above the floor.',
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...trainOptions({ epochs: '1 per round', lr: 0.01 }),
    model: { type: 'string', arg: 'FILE', help: 'the model' },
    'units-per-round': { type: 'string', arg: 'K', default: '20', help: 'units (or filters) removed per round' },
    'target-parameters': { type: 'string', arg: 'N', help: 'stop at this many parameters (or fewer)' },
    'min-accuracy': { type: 'string', arg: 'A', help: 'validation accuracy floor, 0 to 1' },
    rounds: { type: 'string', arg: 'N', help: 'at most this many rounds' },
    criterion: { type: 'string', arg: 'NAME', default: 'ablation', help: IMPORTANCE_CRITERIA.join(', ') },
    'score-samples': { type: 'string', arg: 'N', default: '2000', help: 'training rows the importance is scored on' },
    validation: { type: 'string', arg: 'FRACTION', default: '0.1', help: 'fraction of the training rows held out for the accuracy floor' },
    'model-out': { type: 'string', arg: 'FILE', default: 'simplified.safetensors', help: 'where the smaller model goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'model', 'FILE');
    const k = numberOf(values, 'units-per-round', { integer: true, min: 1 });
    const target = values['target-parameters'] === undefined ? undefined : numberOf(values, 'target-parameters', { integer: true, min: 1 });
    const floor = values['min-accuracy'] === undefined ? undefined : numberOf(values, 'min-accuracy', { min: 0, max: 1 });
    const rounds = values.rounds === undefined ? undefined : numberOf(values, 'rounds', { integer: true, min: 1 });
    if (target === undefined && floor === undefined && rounds === undefined) throw new UsageError('give a stopping rule: --target-parameters, --min-accuracy or --rounds');
    const criterion = choiceOf(values, 'criterion', IMPORTANCE_CRITERIA);
    const fraction = numberOf(values, 'validation', { min: 0, max: 0.5, exclusiveMin: true });
    const fineTune = fitOptionsOf(values, { epochs: 1, lr: 0.01 });
    const target2 = outputOf(values, 'model-out'); // checked before the work, not after it
    const device = await ctx.device();
    const opened = openModel(device, file, out);
    const { train: all, test } = loadDataFor(values, opened.standardizer, opened.classNames);
    const cut = Math.floor(all.rows * (1 - fraction));
    const train = subset(
      all,
      Array.from({ length: cut }, (_, i) => i),
    );
    const validation = subset(
      all,
      Array.from({ length: all.rows - cut }, (_, i) => cut + i),
    );
    const bar = out.progress('simplifying', target ? Math.max(1, opened.model.parameterCount() - target) : (rounds ?? 1), target ? 'parameters' : 'rounds');
    const start = opened.model.parameterCount();
    if (opened.model instanceof Sequential && criterion === 'taylor')
      throw new UsageError(`--criterion taylor scores dense units only; ${file} holds a convolutional network: use ablation, l1, l2 or random`);
    const result = await simplify(opened.model, train, validation, {
      unitsPerRound: k,
      criterion,
      scoreSamples: numberOf(values, 'score-samples', { integer: true, min: 1 }),
      fineTune,
      seed: fineTune.seed ?? 0,
      ...(target !== undefined ? { targetParameters: target } : {}),
      ...(floor !== undefined ? { minAccuracy: floor } : {}),
      ...(rounds !== undefined ? { maxRounds: rounds } : {}),
      onRound: (r) => {
        bar.update(target ? start - r.parameters : r.round, { widths: r.widths.join('-'), accuracy: `${(r.accuracy * 100).toFixed(2)} %` });
        if (!out.interactive) out.log(`round ${r.round}: ${r.widths.join('-')}, ${r.parameters} parameters, validation accuracy ${(r.accuracy * 100).toFixed(2)} %`);
      },
    });
    bar.done(`stopped by ${result.stoppedBy}`);
    const testBefore = (await evaluate(opened.model, test)).accuracy;
    const testAfter = (await evaluate(result.model, test)).accuracy;
    await writeModel(result.model, target2, { float16: !!values.float16, note: `simplified from ${file} (${criterion})`, standardizer: opened.standardizer, classNames: opened.classNames });
    const row = (name: string, f: typeof result.before, testAcc: number) =>
      `${name.padEnd(7)} ${f.widths.join('-').padEnd(18)} ${f.parameters.toLocaleString('en-US').padStart(9)} parameters ${f.flops.toLocaleString('en-US').padStart(10)} FLOPs/row  validation ${(f.accuracy * 100).toFixed(2)} %  test ${(testAcc * 100).toFixed(2)} %  inference ${f.inferenceMs.toFixed(0)} ms`;
    out.log(row('before', result.before, testBefore));
    out.log(row('after', result.after, testAfter));
    if (result.model instanceof Sequential) out.log(`architecture: ${(opened.model as Sequential).describe()} -> ${result.model.describe()}`);
    out.log(`saved ${target2}`);
    out.result({
      model: target2,
      architecture: result.model instanceof Sequential ? result.model.describe() : result.model.widths,
      before: { ...result.before, testAccuracy: testBefore },
      after: { ...result.after, testAccuracy: testAfter },
      rounds: result.rounds,
      stoppedBy: result.stoppedBy,
    });
    result.model.dispose();
    opened.model.dispose();
  },
};
