/** shrinkray distill: a small student (an MLP or a network) trained on a teacher's softened outputs (Hinton et al.). */
import { evaluate } from '../../nn/evaluate.js';
import { Sequential } from '../../nn/sequential.js';
import { numberOf, requiredString } from '../args.js';
import { buildModel } from '../network.js';
import type { Command } from '../command.js';
import { DATA_OPTIONS, loadDataFor } from '../data.js';
import { openModel, outputOf, SAVE_OPTIONS, writeModel } from '../models.js';
import { fitOptionsOf, trainOptions } from '../training.js';
import { trainWithProgress } from '../../study/progress.js';

export const distillCommand: Command = {
  name: 'distill',
  summary: "train a small student on a teacher's soft targets",
  usage: 'shrinkray distill --teacher FILE [--student 30 | --student conv8k5,maxpool2,32] [--alpha 0.5] [--temperature 2.5] [--epochs N] --model-out FILE',
  description:
    'Loss: alpha T^2 KL(softmax(z_t/T) || softmax(z_s/T)) + (1 - alpha) CE(y, z_s). --alpha 1 needs no labels.\n--compare also trains the same student alone (same initialization and epochs) and reports both.',
  options: {
    ...SAVE_OPTIONS,
    ...DATA_OPTIONS,
    ...trainOptions({ epochs: '8', lr: 0.05 }),
    teacher: { type: 'string', arg: 'FILE', help: 'the teacher model' },
    student: { type: 'string', arg: 'LAYERS', default: '30', help: "the student's hidden layers: widths (an MLP), or a network as train's --layers (conv8k5,maxpool2,32)" },
    alpha: { type: 'string', arg: 'A', default: '0.5', help: 'weight of the soft targets, 0 to 1' },
    temperature: { type: 'string', arg: 'T', default: '2.5', help: 'softmax temperature, above 0' },
    compare: { type: 'boolean', help: 'also train the student alone and report both' },
    'model-out': { type: 'string', arg: 'FILE', default: 'student.safetensors', help: 'where the student goes' },
  },
  async run(ctx) {
    const { values, out } = ctx;
    const file = requiredString(values, 'teacher', 'FILE');
    const alpha = numberOf(values, 'alpha', { min: 0, max: 1 });
    const temperature = numberOf(values, 'temperature', { min: 0, exclusiveMin: true });
    const options = fitOptionsOf(values, { epochs: 8, lr: 0.05 });
    const target = outputOf(values, 'model-out'); // checked before the work, not after it
    const device = await ctx.device();
    const opened = openModel(device, file, out);
    const teacher = opened.model;
    const { train, test } = loadDataFor(values, opened.standardizer, opened.classNames);
    // An MLP or a network: the same initialization for the distilled student and the one trained alone.
    const newStudent = () => buildModel(device, { student: values.student }, train, teacher.outputs, { activation: 'relu', seed: (options.seed ?? 0) + 1, option: 'student' });
    const student = newStudent();
    const widths = student.widths;
    const architecture = student instanceof Sequential ? student.describe() : widths.join('-');
    const result: Record<string, unknown> = { teacher: { file, test: await evaluate(teacher, test) }, widths, architecture, alpha, temperature };
    if (values.compare) {
      const alone = newStudent();
      await trainWithProgress(out, 'student alone', alone, train, options, test);
      result.alone = await evaluate(alone, test);
      alone.dispose();
    }
    await trainWithProgress(out, 'distilling', student, train, { ...options, distillation: { teacher, alpha, temperature } }, test);
    result.student = await evaluate(student, test);
    await writeModel(student, target, {
      float16: !!values.float16,
      note: `${architecture} distilled from ${file} (alpha ${alpha}, T ${temperature})`,
      standardizer: opened.standardizer,
      classNames: opened.classNames,
    });
    const acc = (r: unknown) => `${((r as { accuracy: number }).accuracy * 100).toFixed(2)} %`;
    out.log(
      `teacher ${acc((result.teacher as { test: unknown }).test)}, distilled student ${acc(result.student)}${result.alone ? `, student alone ${acc(result.alone)}` : ''} (test accuracy); saved ${target}`,
    );
    out.result({ model: target, ...result });
    student.dispose();
    teacher.dispose();
  },
};
