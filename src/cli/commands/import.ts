/** shrinkray import: a PyTorch nn.Sequential state dict (safetensors) as a shrinkray model. */
import { readFileSync } from 'node:fs';
import { modelFromPytorchSafetensors, networkFromPytorchSafetensors } from '../../io/pytorch.js';
import { parseLayers } from '../../nn/architecture.js';
import { MLP } from '../../nn/mlp.js';
import type { Model } from '../../nn/model.js';
import type { LayerSpec } from '../../nn/sequential.js';
import { architectureName } from '../network.js';
import { ACTIVATIONS, type Activation } from '../../kernels/gemm.js';
import { choiceOf, requiredString, stringOf, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { outputOf, SAVE_OPTIONS, writeModel } from '../models.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'import a float model saved by PyTorch (nn.Sequential of Linear, or Conv2d and pooling, layers; safetensors)',
  usage: 'shrinkray import --from FILE [--activation relu | --layers conv20k5,maxpool2,...,10 --input 28x28x1] --model-out FILE',
  description:
    "Keys '0.weight' [out, in], '0.bias', '2.weight', ... (save_file(model.state_dict(), path)). A state dict does\nnot record activations: --activation names the hidden one, --output the last (default identity: logits).",
  options: {
    ...SAVE_OPTIONS,
    from: { type: 'string', arg: 'FILE', help: 'the PyTorch safetensors file' },
    activation: { type: 'string', arg: 'NAME', default: 'relu', help: 'hidden activation: relu, tanh, sigmoid, identity' },
    output: { type: 'string', arg: 'NAME', default: 'identity', help: 'activation of the last layer' },
    layers: { type: 'string', arg: 'LAYERS', help: "a network's layers, the output layer included (conv20k5,maxpool2,conv50k5,maxpool2,500,10): Conv2d weights become filters, the flatten NHWC" },
    input: { type: 'string', arg: 'HxWxC', help: 'with --layers: the input image shape' },
    'model-out': { type: 'string', arg: 'FILE', default: 'imported.safetensors', help: 'where the shrinkray model goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const from = requiredString(values, 'from', 'FILE');
    const names = Object.keys(ACTIVATIONS) as Activation[];
    const activation = choiceOf(values, 'activation', names);
    const output = choiceOf(values, 'output', names);
    const bytes = new Uint8Array(readFileSync(from));
    const target = outputOf(values, 'model-out'); // checked before the work, not after it
    const device = await ctx.device();
    const layers = stringOf(values, 'layers');
    let model: Model;
    if (layers === undefined) model = modelFromPytorchSafetensors(device, bytes, { activation, output });
    else {
      const input = (stringOf(values, 'input') ?? '').split('x').map(Number);
      if (input.length !== 3 || !input.every((d) => Number.isInteger(d) && d > 0)) throw new UsageError('--layers needs --input HxWxC, the shape of the images (28x28x1 for MNIST)');
      let specs: LayerSpec[];
      try {
        specs = parseLayers(layers);
      } catch (e) {
        throw new UsageError(`--layers: ${(e as Error).message}`);
      }
      model = networkFromPytorchSafetensors(device, bytes, { input, layers: specs });
    }
    await writeModel(model, target, { float16: !!values.float16, note: `imported from PyTorch ${from}` });
    const arch = architectureName(model);
    out.log(`imported ${from}: ${arch}${layers === undefined ? ` (${activation} hidden, ${output} output)` : ''}, ${model.parameterCount().toLocaleString('en-US')} parameters; saved ${target}`);
    out.result({ from, model: target, architecture: model instanceof MLP ? model.widths : arch, activation, output });
    model.dispose();
  },
};
