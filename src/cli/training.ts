/** Training from the command line: the shared options, read into fit's options. */
import type { FitOptions } from '../nn/train.js';
import { choiceOf, numberOf, type Options, type Values } from './args.js';

/** The training options of a command, their help showing the command's own defaults of epochs and learning rate. */
export function trainOptions(defaults: { epochs: string; lr: number }): Options {
  return {
    epochs: { type: 'string', arg: 'N', help: `training epochs (default ${defaults.epochs})` },
    'batch-size': { type: 'string', arg: 'N', default: '64', help: 'mini-batch size' },
    lr: { type: 'string', arg: 'RATE', help: `learning rate (default ${defaults.lr})` },
    optimizer: { type: 'string', arg: 'NAME', default: 'sgd', help: 'sgd (Nesterov momentum 0.9), adam or adamw' },
    'weight-decay': { type: 'string', arg: 'L2', default: '0.00005', help: 'weight decay' },
  };
}

/** Fit options from the command line; `defaults` fill epochs and lr when they are not given. */
export function fitOptionsOf(values: Values, defaults: { epochs: number; lr: number }): FitOptions {
  const epochs = values.epochs === undefined ? defaults.epochs : numberOf(values, 'epochs', { integer: true, min: 1, max: 100_000 });
  const learningRate = values.lr === undefined ? defaults.lr : numberOf(values, 'lr', { min: 0, exclusiveMin: true, max: 10 });
  const batchSize = numberOf(values, 'batch-size', { integer: true, min: 1, max: 65_536 });
  const weightDecay = numberOf(values, 'weight-decay', { min: 0, max: 1 });
  const type = choiceOf(values, 'optimizer', ['sgd', 'adam', 'adamw'] as const);
  const optimizer = type === 'sgd' ? ({ type, momentum: 0.9, nesterov: true, weightDecay } as const) : ({ type, weightDecay } as const);
  const seed = numberOf(values, 'seed', { integer: true, min: 0 });
  return { epochs, batchSize, learningRate, optimizer, schedule: { type: 'cosine', total: epochs }, seed };
}
