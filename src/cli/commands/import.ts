/** shrinkray import: a PyTorch nn.Sequential state dict (safetensors) as a shrinkray model. */
import { readFileSync } from 'node:fs';
import { modelFromPytorchSafetensors } from '../../io/pytorch.js';
import { ACTIVATIONS, type Activation } from '../../kernels/gemm.js';
import { choiceOf, requiredString } from '../args.js';
import type { Command } from '../command.js';
import { outputOf, SAVE_OPTIONS, writeModel } from '../models.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'import a float MLP saved by PyTorch (nn.Sequential of Linear layers, safetensors)',
  usage: 'shrinkray import --from FILE [--activation relu] --model-out FILE',
  description:
    "Keys '0.weight' [out, in], '0.bias', '2.weight', ... (save_file(model.state_dict(), path)). A state dict does\nnot record activations: --activation names the hidden one, --output the last (default identity: logits).",
  options: {
    ...SAVE_OPTIONS,
    from: { type: 'string', arg: 'FILE', help: 'the PyTorch safetensors file' },
    activation: { type: 'string', arg: 'NAME', default: 'relu', help: 'hidden activation: relu, tanh, sigmoid, identity' },
    output: { type: 'string', arg: 'NAME', default: 'identity', help: 'activation of the last layer' },
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
    const model = modelFromPytorchSafetensors(device, bytes, { activation, output });
    await writeModel(model, target, { float16: !!values.float16, note: `imported from PyTorch ${from}` });
    const arch = model.widths;
    out.log(`imported ${from}: ${arch.join('-')} (${activation} hidden, ${output} output), ${model.parameterCount().toLocaleString('en-US')} parameters; saved ${target}`);
    out.result({ from, model: target, architecture: arch, activation, output });
    model.dispose();
  },
};
