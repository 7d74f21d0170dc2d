/** shrinkray train: a new model (an MLP, or a convolutional network) trained on the data, saved as safetensors. */
import { evaluate } from '../../nn/evaluate.js';
import { MLP } from '../../nn/mlp.js';
import { imageAugmentation } from '../../nn/augmentation.js';
import { ACTIVATIONS, type Activation } from '../../kernels/gemm.js';
import { choiceOf, numberOf } from '../args.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadData } from '../data.js';
import { outputOf, SAVE_OPTIONS, writeModel } from '../models.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { architectureName, buildModel, NETWORK_OPTIONS } from '../network.js';
import { trainWithProgress } from '../../study/progress.js';
import type { TrainingRun as TrainingCurves } from '../../study/report.js';

export const train: Command = {
  name: 'train',
  summary: 'train an MLP or a convolutional network and save it',
  usage: 'shrinkray train [--data ...] [--layers 300,100 | --arch lenet5 | --layers conv20k5,maxpool2,500] [--epochs N] [--model-out FILE]',
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...trainOptions({ epochs: '10', lr: 0.05 }),
    ...NETWORK_OPTIONS,
    activation: { type: 'string', arg: 'NAME', default: 'relu', help: 'hidden activation: relu, tanh, sigmoid, identity' },
    'model-out': { type: 'string', arg: 'FILE', default: 'model.safetensors', help: 'where the trained model goes' },
    checkpoint: { type: 'string', arg: 'FILE', help: 'save the model here after every epoch; Ctrl-C then keeps the last completed one' },
    shift: { type: 'string', arg: 'PIXELS', help: 'augment images in training: random shifts of up to this many pixels on both axes' },
    rotate: { type: 'string', arg: 'DEGREES', help: 'augment images in training: random rotations of up to this many degrees either way' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const activation = choiceOf(values, 'activation', Object.keys(ACTIVATIONS) as Activation[]);
    const options = fitOptionsOf(values, { epochs: 10, lr: 0.05 });
    const file = outputOf(values, 'model-out'); // checked before the work, not after it
    const checkpoint = values.checkpoint === undefined ? undefined : outputOf(values, 'checkpoint');
    const shift = values.shift === undefined ? undefined : numberOf(values, 'shift', { integer: true, min: 0, max: 64 });
    const rotate = values.rotate === undefined ? undefined : numberOf(values, 'rotate', { min: 0, max: 180 });
    const data = loadData(values);
    const device = await ctx.device();
    const outputs = data.train.labels ? Math.max(data.train.classes!, data.test.classes ?? 0) : data.train.targetCols!;
    const model = buildModel(device, values, data.train, outputs, { activation, seed: options.seed });
    const info = { float16: !!values.float16, data: data.name, standardizer: data.standardizer, classNames: data.train.classNames };
    // Ctrl-C stops training between two batches; the checkpoint holds the last completed epoch.
    // A second Ctrl-C a second later stops at once (one within the second is the same press,
    // passed on by the notice filter's parent process as well).
    const stop = new AbortController();
    let first = 0;
    const interrupt = () => {
      if (!stop.signal.aborted) return void ((first = performance.now()), stop.abort());
      if (performance.now() - first > 1000) process.exit(130);
    };
    process.on('SIGINT', interrupt);
    let completed = 0;
    let curves: TrainingCurves;
    try {
      curves = await trainWithProgress(
        out,
        'train',
        model,
        data.train,
        {
          ...options,
          ...(shift === undefined && rotate === undefined ? {} : { hooks: [imageAugmentation({ shift: shift ?? 0, ...(rotate === undefined ? {} : { rotate }), seed: options.seed ?? 0 })] }),
          signal: stop.signal,
          onEpoch: async (e) => {
            completed = e.epoch;
            if (checkpoint) await writeModel(model, checkpoint, { ...info, note: `checkpoint after epoch ${e.epoch} of ${options.epochs}` });
          },
        },
        data.test,
      );
    } finally {
      process.off('SIGINT', interrupt);
    }
    if (stop.signal.aborted) {
      out.log(
        `train: stopped by Ctrl-C after ${completed} of ${options.epochs} epochs; ${checkpoint ? `the last completed epoch is in ${checkpoint}` : `nothing saved (--checkpoint FILE keeps every epoch)`}`,
      );
      model.dispose();
      return 130;
    }
    const scores = await evaluate(model, data.test);
    await writeModel(model, file, info);
    out.log(`test loss ${scores.loss.toFixed(4)}${Number.isNaN(scores.accuracy) ? '' : `, test accuracy ${(scores.accuracy * 100).toFixed(2)} %`}; saved ${file}`);
    out.result({ model: file, architecture: model instanceof MLP ? model.widths : architectureName(model), test: scores, history: curves.epochs });
    model.dispose();
  },
};
