/**
 * The report of a run, in --out DIR: report.json (every figure), report.md (the table of variants
 * and the charts), and the charts as SVG files. Files are written atomically.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import type { DeviceDescription } from '../gpu/device.js';
import { accuracySizeSpec, cascadeSpec, importanceHistogramSpec, speedSizeSpec, paretoFront, type renderSvg, sparsitySpec, trainingCurvesSpec } from './charts.js';
import { writeCharts } from './write-charts.js';
import type { VariantReport } from './variants.js';
import type { LayerRemoval } from '../compress/importance.js';
import type { ModelFigures } from '../compress/simplify.js';
import type { CascadeStudy } from '../validate/cascade.js';

export interface TrainingRun {
  run: string;
  epochs: { epoch: number; loss: number; accuracy: number; valAccuracy?: number; seconds: number }[];
}

export interface Report {
  tool: string;
  created: string;
  command: string;
  device: DeviceDescription;
  data: { name: string; trainRows: number; testRows: number; features: number; classes?: number };
  settings: Record<string, unknown>;
  seconds: number;
  reference: string;
  variants: VariantReport[];
  training: TrainingRun[];
  importance?: { layer: string; unit: number; importance: number }[];
  layerRemovals?: LayerRemoval[];
  cascade?: CascadeStudy & { small: string; large: string };
  /** A convolutional network (LeNet-5) and its compressed variants, scored against it. */
  cnn?: { reference: string; variants: VariantReport[] };
  simplification?: { before: ModelFigures; afterRounds: ModelFigures; after: ModelFigures; rounds: { round: number; widths: number[]; parameters: number; accuracy: number }[] };
  notes: string[];
  /** The chart files writeReport wrote beside report.json. */
  charts?: string[];
}

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)} %`;
const signedPts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;

export function markdown(report: Report, charts: string[]): string {
  const front = new Set(paretoFront(report.variants.map((v) => ({ name: v.name, bytes: v.bytes, accuracy: v.accuracy }))).map((p) => p.name));
  const lines = [
    `# shrinkray report`,
    '',
    `${report.created} · ${report.device.backend} (${report.device.adapter}${report.device.cpuFallback ? ', CPU adapter' : ''}) · ${report.data.name}: ${report.data.trainRows} training and ${report.data.testRows} test rows · ${report.seconds.toFixed(0)} s`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Every variant is scored on the test set against **${report.reference}**: the difference in accuracy (points), its 95 % bootstrap interval, and McNemar's exact p-value on the rows where the two disagree. A p-value below 0.05 means the difference is unlikely to be chance. Size is the byte length of each model file in \`models/\` (compressed safetensors: sparse positions, bit-packed and Huffman-coded values, codebooks, scales, biases and the header), and "x smaller" divides the dense model's file by it. Pareto-optimal variants (no other is both smaller and more accurate) are marked ★.`,
    '',
    ...variantTable(report.variants, report.reference, front),
    '',
    ...report.variants.map((v) => `- **${v.name}** (${v.architecture}): ${v.description}${v.file ? ` — \`${v.file}\`` : ''}`),
    '',
    ...charts.filter((c) => c !== 'cascade.svg').map((c) => `![${c.replace(/\.svg$/, '')}](${c})`),
    '',
    ...cascadeSection(report, charts),
    ...cnnSection(report, charts),
    ...simplificationSection(report),
    ...(report.notes.length ? ['## Notes', '', ...report.notes.map((n) => `- ${n}`), ''] : []),
  ];
  return lines.join('\n');
}

/** The variants' figures as a Markdown table, against `reference`; `front` marks the Pareto-optimal ones. */
function variantTable(variants: VariantReport[], reference: string, front: Set<string>): string[] {
  return [
    '| variant | file bytes | x smaller | parameters | nonzero | sparsity | bits | accuracy | difference (pts) | 95 % interval | p-value | rows/s (batch 1024) | latency (1 row) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...variants.map((v) => {
      const cells = [
        `${front.has(v.name) ? '★ ' : ''}${v.name}`,
        v.bytes.toLocaleString('en-US'),
        v.ratio.toFixed(1),
        v.parameters.toLocaleString('en-US'),
        v.nonzero.toLocaleString('en-US'),
        pct(v.sparsity, 1),
        v.bits,
        pct(v.accuracy),
        v.name === reference ? '—' : signedPts(v.difference),
        v.name === reference ? '—' : `[${signedPts(v.interval[0])}, ${signedPts(v.interval[1])}]`,
        v.name === reference ? '—' : v.pValue < 0.001 ? '< 0.001' : v.pValue.toFixed(3),
        Math.round(v.rowsPerSecond).toLocaleString('en-US'),
        `${v.latencyMs.toFixed(2)} ms`,
      ];
      return `| ${cells.join(' | ')} |`;
    }),
  ];
}

/** The convolutional network and its compressed variants, against the network. */
function cnnSection(report: Report, charts: string[]): string[] {
  const c = report.cnn;
  if (!c) return [];
  const front = new Set(paretoFront(c.variants.map((v) => ({ name: v.name, bytes: v.bytes, accuracy: v.accuracy }))).map((p) => p.name));
  return [
    '## A convolutional network',
    '',
    `The same test rows, against **${c.reference}** (its own dense reference); sizes are the model files' byte lengths.`,
    '',
    ...variantTable(c.variants, c.reference, front),
    '',
    ...c.variants.map((v) => `- **${v.name}** (${v.architecture}): ${v.description}${v.file ? ` — \`${v.file}\`` : ''}`),
    '',
    ...(charts.includes('cnn-accuracy-size.svg') ? ['![the network: accuracy against file size](cnn-accuracy-size.svg)', ''] : []),
    ...(charts.includes('cnn-speed-size.svg') ? ['![the network: rows per second against file size](cnn-speed-size.svg)', ''] : []),
  ];
}

/** The simplified model before, after the rounds and after the final fine-tune (test rows). */
function simplificationSection(report: Report): string[] {
  const s = report.simplification;
  if (!s) return [];
  const row = (name: string, f: ModelFigures) =>
    `| ${name} | ${f.widths.join('-')} | ${f.parameters.toLocaleString('en-US')} | ${f.flops.toLocaleString('en-US')} | ${pct(f.accuracy)} | ${f.inferenceMs.toFixed(0)} ms |`;
  return [
    '## Simplification',
    '',
    `Hidden units removed physically by ablation importance in ${s.rounds.length} rounds (widths by round: ${s.rounds.map((r) => r.widths.slice(1, -1).join('-')).join(', ')}), scored on the test set (the rounds stop at the parameter target, so no decision used it):`,
    '',
    '| model | widths | parameters | FLOPs per row | test accuracy | inference |',
    '|---|---|---:|---:|---:|---:|',
    row('before', s.before),
    row('after the rounds', s.afterRounds),
    row('after the final fine-tune', s.after),
    '',
  ];
}

function cascadeSection(report: Report, charts: string[]): string[] {
  const c = report.cascade;
  if (!c) return [];
  const t = c.test;
  const rate = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    '## Cascade',
    '',
    `**${c.small}** answers every row; rows whose top probability is below the threshold go to **${c.large}**. The threshold, ${c.threshold}, was chosen on the last ${c.validation.rows.toLocaleString('en-US')} training rows (never the test set) as the one sending the fewest rows on while staying within 0.1 points of ${c.large} there; the models were trained on those rows, so they are more confident there than on new rows. Speeds are measured at batch 1024.`,
    '',
    '| on the test set | accuracy | rows/s | rows to the large model |',
    '|---|---:|---:|---:|',
    `| ${c.small} alone | ${pct(t.small.accuracy)} | ${rate(t.small.rowsPerSecond)} | 0 % |`,
    `| ${c.large} alone | ${pct(t.large.accuracy)} | ${rate(t.large.rowsPerSecond)} | 100 % |`,
    `| cascade at ${c.threshold} | ${pct(t.cascade.accuracy)} | ${rate(t.cascade.rowsPerSecond)} | ${pct(t.cascade.deferred, 1)} |`,
    '',
    ...(charts.includes('cascade.svg') ? ['![cascade](cascade.svg)', ''] : []),
  ];
}

/** Renders the charts the report's figures allow and writes everything under dir. */
export async function writeReport(dir: string, report: Report): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const charts: [string, Parameters<typeof renderSvg>[0]][] = [];
  if (report.variants.length) {
    charts.push(['accuracy-size.svg', accuracySizeSpec(report.variants.map((v) => ({ name: v.name, bytes: v.bytes, accuracy: v.accuracy, interval: v.accuracyInterval })))]);
    charts.push(['speed-size.svg', speedSizeSpec(report.variants.map((v) => ({ name: v.name, bytes: v.bytes, rowsPerSecond: v.rowsPerSecond })))]);
    charts.push(['sparsity.svg', sparsitySpec(report.variants.flatMap((v) => v.layers.map((l) => ({ variant: v.name, layer: l.layer, sparsity: l.sparsity }))))]);
  }
  if (report.training.length)
    charts.push([
      'training.svg',
      trainingCurvesSpec(
        report.training.flatMap((t) =>
          t.epochs.flatMap((e) => [
            { run: t.run, epoch: e.epoch, metric: 'training loss', value: e.loss },
            ...(e.valAccuracy !== undefined ? [{ run: t.run, epoch: e.epoch, metric: 'test accuracy (%)', value: e.valAccuracy * 100 }] : []),
          ]),
        ),
      ),
    ]);
  if (report.cnn?.variants.length) {
    const v = report.cnn.variants;
    charts.push(['cnn-accuracy-size.svg', accuracySizeSpec(v.map((x) => ({ name: x.name, bytes: x.bytes, accuracy: x.accuracy, interval: x.accuracyInterval })))]);
    charts.push(['cnn-speed-size.svg', speedSizeSpec(v.map((x) => ({ name: x.name, bytes: x.bytes, rowsPerSecond: x.rowsPerSecond })))]);
  }
  if (report.cascade) charts.push(['cascade.svg', cascadeSpec(report.cascade.validation.points)]);
  if (report.importance?.length) charts.push(['importance.svg', importanceHistogramSpec(report.importance.map((i) => ({ layer: i.layer, importance: i.importance })))]);
  const written = await writeCharts(dir, charts, report.notes);
  report.charts = written;
  writeFileAtomic(join(dir, 'report.json'), new TextEncoder().encode(JSON.stringify(report, null, 2)));
  writeFileAtomic(join(dir, 'report.md'), new TextEncoder().encode(markdown(report, written)));
  return [...written, 'report.json', 'report.md'];
}
