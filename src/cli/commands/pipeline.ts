/**
 * The default run: the library's default study (study/default-study.ts) on MNIST unless told
 * otherwise, with its settings from the command line and its table printed. The defaults take
 * about 2 minutes on a 2-core machine with a CPU WebGPU adapter; --quick is a short run on a
 * subset. Every option is checked before any work starts.
 */
import { join } from 'node:path';
import { runStudy } from '../../study/default-study.js';
import { numberOf, stringOf, UsageError, widthsOf, type Options } from '../args.js';
import type { Command, Context } from '../command.js';
import { DATA_OPTIONS, loadData } from '../data.js';
import { SAVE_OPTIONS } from '../models.js';
import { fitOptionsOf } from '../training.js';
import type { VariantReport } from '../../study/variants.js';

const options: Options = {
  ...DATA_OPTIONS,
  ...SAVE_OPTIONS,
  quick: { type: 'boolean', help: 'a short run (about a minute on 2 cores): 10,000 training images, few epochs' },
  layers: { type: 'string', arg: 'WIDTHS', default: '300,100', help: 'hidden widths of the dense model' },
  epochs: { type: 'string', arg: 'N', help: 'epochs of the dense model (default 10; --quick 2)' },
  'prune-epochs': { type: 'string', arg: 'N', help: 'fine-tuning epochs while pruning (default 6; --quick 1)' },
  sparsity: { type: 'string', arg: 'FRACTION', default: '0.9', help: 'fraction of weights pruned (global magnitude, gradual)' },
  bits: { type: 'string', arg: 'N', default: '4', help: 'the lower bit width for the pruned model (2-7; int8 is always made)' },
  'share-bits': { type: 'string', arg: 'N', default: '4', help: 'Deep Compression: bits of the k-means shared values of the pruned model (1-8)' },
  student: { type: 'string', arg: 'WIDTHS', default: '30', help: 'hidden widths of the distilled student' },
  keep: { type: 'string', arg: 'FRACTION', default: '0.3', help: 'simplification: the fraction of parameters the smaller model keeps' },
  'student-epochs': { type: 'string', arg: 'N', help: 'epochs of the student, alone and distilled (default 8; --quick 2)' },
  'cnn-epochs': { type: 'string', arg: 'N', help: 'epochs of LeNet-5 when the data are images (default 2; --quick 1; 0 leaves the network out)' },
  alpha: { type: 'string', arg: 'A', default: '0.5', help: "distillation: weight of the teacher's soft targets" },
  temperature: { type: 'string', arg: 'T', default: '2.5', help: 'distillation temperature' },
  'batch-size': { type: 'string', arg: 'N', default: '128', help: 'mini-batch size' },
  lr: { type: 'string', arg: 'RATE', default: '0.1', help: 'learning rate of the dense model and the students' },
  optimizer: { type: 'string', arg: 'NAME', default: 'sgd', help: 'sgd (Nesterov momentum 0.9), adam or adamw' },
  'weight-decay': { type: 'string', arg: 'L2', default: '0.00005', help: 'weight decay' },
  out: { type: 'string', arg: 'DIR', default: 'shrinkray-report', help: 'where the report and the models go' },
};

export async function runPipeline(ctx: Context): Promise<number> {
  const { values, out } = ctx;
  const quick = !!values.quick;
  const int = (name: string, fallback: number, quickValue: number, max = 10_000) =>
    values[name] === undefined ? (quick ? quickValue : fallback) : numberOf(values, name, { integer: true, min: 1, max });
  const epochs = int('epochs', 10, 2);
  const pruneEpochs = int('prune-epochs', 6, 1);
  const studentEpochs = int('student-epochs', 8, 2);
  const cnnEpochs = values['cnn-epochs'] === '0' ? 0 : int('cnn-epochs', 2, 1);
  const sparsity = numberOf(values, 'sparsity', { min: 0, max: 1, exclusiveMin: true });
  if (sparsity >= 1) throw new UsageError('--sparsity must be below 1');
  const bits = numberOf(values, 'bits', { integer: true, min: 2, max: 7 });
  const shareBits = numberOf(values, 'share-bits', { integer: true, min: 1, max: 8 });
  const alpha = numberOf(values, 'alpha', { min: 0, max: 1 });
  const temperature = numberOf(values, 'temperature', { min: 0, exclusiveMin: true, max: 100 });
  const hidden = widthsOf(values, 'layers');
  const studentHidden = widthsOf(values, 'student');
  const keep = numberOf(values, 'keep', { min: 0, max: 1, exclusiveMin: true });
  if (keep >= 1) throw new UsageError('--keep must be below 1');
  const dir = stringOf(values, 'out')!;
  if (quick && values.limit === undefined) values.limit = '10000';

  const data = loadData(values);
  if (!data.train.labels || !data.test.labels) throw new UsageError('the pipeline needs classification data (a label column of classes)');
  const fit = fitOptionsOf(values, { epochs, lr: numberOf(values, 'lr', { min: 0, exclusiveMin: true }) });
  const settings = { quick, hidden, fit, pruneEpochs, sparsity, bits, shareBits, studentHidden, studentEpochs, alpha, temperature, keep, float16: !!values.float16, cnnEpochs };
  const report = await runStudy(await ctx.device(), data, settings, dir, { log: out, command: ctx.commandLine });
  out.log('');
  printTable(out, report.variants);
  if (report.cnn) {
    out.log('');
    printTable(out, report.cnn.variants);
  }
  out.log(`\nreport: ${join(dir, 'report.md')} (report.json, ${(report.charts ?? []).join(', ')}), models in ${join(dir, 'models')}; ${report.seconds.toFixed(0)} s in all`);
  out.result(report);
  return 0;
}

/** The variants' figures, one line each. */
function printTable(out: Context['out'], variants: VariantReport[]): void {
  out.log(
    [
      'variant'.padEnd(26),
      'file bytes'.padStart(10),
      'x smaller'.padStart(9),
      'accuracy'.padStart(9),
      'diff (pts)'.padStart(10),
      'p-value'.padStart(8),
      'rows/s'.padStart(9),
      'latency'.padStart(9),
    ].join('  '),
  );
  for (const v of variants)
    out.log(
      [
        v.name.padEnd(26),
        v.bytes.toLocaleString('en-US').padStart(10),
        v.ratio.toFixed(1).padStart(9),
        `${(v.accuracy * 100).toFixed(2)} %`.padStart(9),
        (v === variants[0] ? '' : `${v.difference >= 0 ? '+' : ''}${(v.difference * 100).toFixed(2)}`).padStart(10),
        (v === variants[0] ? '' : v.pValue < 0.001 ? '<0.001' : v.pValue.toFixed(3)).padStart(8),
        Math.round(v.rowsPerSecond).toLocaleString('en-US').padStart(9),
        `${v.latencyMs.toFixed(2)} ms`.padStart(9),
      ].join('  '),
    );
}

export const pipeline: Command = {
  name: 'run',
  summary: 'the whole job (the default): train, prune, quantize, distil, compare, report',
  usage: 'shrinkray [run] [--quick] [--data mnist|FILE.csv|idx] [--out DIR] [options]',
  description:
    'Trains a dense model, prunes it gradually (global magnitude) with fine-tuning, quantizes it (int8, and the pruned model\nto int8 and --bits), distils a small student, scores its hidden units by ablation and removes the least important\nphysically (--keep), scores every variant on the test set against the dense model\n(accuracy difference, bootstrap interval, McNemar p-value, size, inference time); with image data it trains\nLeNet-5 too, prunes and quantizes it and removes half its filters (--cnn-epochs, 0 to skip); it writes\nreport.json, report.md, SVG charts and every model (safetensors) to --out.',
  options,
  run: runPipeline,
};
