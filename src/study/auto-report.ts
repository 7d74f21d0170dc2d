/**
 * The report of an automated compression (shrinkray auto), in --out DIR: report.json (every
 * trial, the frontier, the sensitivity curves, the final test comparison), report.md, and two
 * charts: the frontier of the trials (size or time against validation accuracy) and the
 * sensitivity curves of each layer.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { AutoCompressResult } from '../auto/auto-compress.js';
import { describeCandidate } from '../auto/candidate.js';
import { pairedError, withinBudget } from '../auto/search.js';
import type { DeviceDescription } from '../gpu/device.js';
import { writeFileAtomic } from '../io/files.js';
import { writeCharts } from './write-charts.js';

/** A variant set by hand (from a default run's report.json), for comparison. */
export interface HandSetVariant {
  name: string;
  bytes: number;
  testAccuracy: number;
  /** Its test accuracy minus its own dense model's. */
  difference: number;
}

export interface AutoReport {
  tool: string;
  created: string;
  command: string;
  device: DeviceDescription;
  /** With folds: every training row fine-tunes (in the other folds) and decides (in its own). */
  data: { name: string; trainRows: number; validationRows: number; testRows: number; folds?: number };
  /** margin: standard errors of the paired difference a candidate's drop leaves below maxDrop. */
  settings: { maxDrop: number; margin: number; objective: 'size' | 'latency'; budgetMinutes: number; pruneEpochs: number; shareEpochs: number; float16: boolean; seed: number };
  seconds: { dense?: number; sensitivity: number; search: number; total: number; folds?: number; refit?: number };
  dense: { file?: string; bytes: number; validationAccuracy: number; testAccuracy: number; batchMs?: number };
  chosen: { file: string; bytes: number; validationAccuracy: number; testAccuracy: number; batchMs?: number; description: string; widths: number[]; trial?: number };
  /** Whether a candidate met the budget on validation rows, and whether the chosen one meets it on the test set. */
  metBudget: boolean;
  withinBudgetOnTest: boolean;
  comparison: { difference: number; interval: [number, number]; pValue: number };
  stopped: 'done' | 'time';
  frontier: { trial: number; bytes: number; validationAccuracy: number; batchMs?: number; description: string }[];
  /** standardError: of the trial's paired difference from the dense model, on the validation rows. */
  trials: { trial: number; description: string; bytes: number; validationAccuracy: number; standardError: number; batchMs?: number; seconds: number; withinBudget: boolean }[];
  sensitivity: AutoCompressResult['sensitivity'];
  handSet?: HandSetVariant[];
  notes: string[];
  charts?: string[];
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;
const n = (x: number) => x.toLocaleString('en-US');

/** report.json's content from the result and what the command knows (files, data, timing). */
export function autoReport(
  r: AutoCompressResult,
  info: Omit<AutoReport, 'dense' | 'chosen' | 'metBudget' | 'withinBudgetOnTest' | 'comparison' | 'stopped' | 'frontier' | 'trials' | 'sensitivity' | 'notes' | 'seconds'> & {
    chosenFile: string;
    denseFile?: string;
    denseSeconds?: number;
    notes?: string[];
  },
): AutoReport {
  const { chosenFile, denseFile, denseSeconds, notes = [], ...rest } = info;
  const test = r.test!;
  const reference = r.reference;
  const optional = (ms: number | undefined) => (ms === undefined ? {} : { batchMs: ms });
  return {
    ...rest,
    seconds: { ...(denseSeconds === undefined ? {} : { dense: denseSeconds }), ...r.seconds },
    dense: { ...(denseFile ? { file: denseFile } : {}), bytes: r.dense.bytes, validationAccuracy: r.dense.validationAccuracy, testAccuracy: test.denseAccuracy, ...optional(r.dense.batchMs) },
    chosen: {
      file: chosenFile,
      bytes: r.chosen.bytes,
      validationAccuracy: r.chosen.validationAccuracy,
      testAccuracy: test.chosenAccuracy,
      ...optional(r.chosen.batchMs),
      description: r.chosen.description,
      widths: r.chosen.widths,
      ...(r.chosen.trial === undefined ? {} : { trial: r.chosen.trial }),
    },
    metBudget: r.metBudget,
    withinBudgetOnTest: test.withinBudget,
    comparison: { difference: test.comparison.difference, interval: test.comparison.interval, pValue: test.comparison.pValue },
    stopped: r.stopped,
    frontier: r.frontier.map((t) => ({ trial: t.id, bytes: t.bytes, validationAccuracy: t.validationAccuracy, ...optional(t.batchMs), description: describeCandidate(t.candidate) })),
    trials: r.trials.map((t) => ({
      trial: t.id,
      description: describeCandidate(t.candidate),
      bytes: t.bytes,
      validationAccuracy: t.validationAccuracy,
      standardError: pairedError(t),
      ...optional(t.batchMs),
      seconds: t.seconds,
      withinBudget: withinBudget(t, reference, rest.settings.maxDrop, rest.settings.margin),
    })),
    sensitivity: r.sensitivity,
    notes,
  };
}

/** Every trial: cost against validation accuracy, the frontier as a line, the budget as a rule, the chosen trial ringed. */
export function frontierSpec(report: AutoReport): TopLevelSpec {
  const size = report.settings.objective === 'size';
  const front = new Set(report.frontier.map((f) => f.trial));
  const values = report.trials.map((t) => ({
    trial: t.trial,
    cost: size ? t.bytes / 1024 : (t.batchMs ?? 0),
    accuracy: t.validationAccuracy * 100,
    front: front.has(t.trial),
    chosen: t.trial === report.chosen.trial,
    within: t.withinBudget ? 'within the budget' : 'over the budget',
  }));
  const x = {
    field: 'cost',
    type: 'quantitative',
    scale: { type: 'log', nice: false, padding: 16 },
    title: size ? 'model file (KiB, log scale)' : 'forward pass over 1,024 rows (ms, log scale)',
  } as const;
  const y = { field: 'accuracy', type: 'quantitative', scale: { zero: false, padding: 10 }, title: 'validation accuracy (%)' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Automated compression: every trial and the frontier',
      subtitle: `dashed: the budget, ${(report.settings.maxDrop * 100).toFixed(2)} points below the dense model's validation accuracy; ringed: the chosen trial`,
    },
    width: 460,
    height: 300,
    data: { values },
    layer: [
      { transform: [{ filter: 'datum.front' }], mark: { type: 'line', color: '#9ab' }, encoding: { x, y, order: { field: 'cost' } } },
      { mark: { type: 'rule', strokeDash: [5, 4], color: '#c33' }, encoding: { y: { datum: (report.dense.validationAccuracy - report.settings.maxDrop) * 100 } } },
      { mark: { type: 'point', filled: true, size: 50 }, encoding: { x, y, color: { field: 'within', type: 'nominal', title: null } } },
      { transform: [{ filter: 'datum.chosen' }], mark: { type: 'point', size: 260, color: '#000', strokeWidth: 2 }, encoding: { x, y } },
    ],
  } as TopLevelSpec;
}

/** One panel per setting: each layer's validation accuracy drop against the step, without fine-tuning. */
export function sensitivitySpec(report: AutoReport): TopLevelSpec {
  const label = { keep: 'weights kept (fraction)', bits: 'bits of the shared values', units: 'units kept (fraction)' } as const;
  const values = report.sensitivity.flatMap((s) => s.curves).flatMap((c) => c.points.map((p) => ({ setting: label[c.dimension], layer: `layer ${c.layer + 1}`, value: p.value, drop: p.drop * 100 })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Sensitivity: each layer alone, no fine-tuning', subtitle: 'accuracy lost on the validation rows (points) as the setting gets harsher; bits measured on the pruned model' },
    data: { values },
    facet: { column: { field: 'setting', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'value', type: 'quantitative', scale: { type: 'log', reverse: true }, title: 'setting (harsher to the right, log scale)' },
        y: { field: 'drop', type: 'quantitative', scale: { type: 'symlog' }, title: 'accuracy lost (points, symlog scale)' },
        color: { field: 'layer', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

export function autoMarkdown(report: AutoReport, charts: string[]): string {
  const size = report.settings.objective === 'size';
  const cost = (t: { bytes: number; batchMs?: number }) => (size ? `${n(t.bytes)} B` : `${(t.batchMs ?? NaN).toFixed(2)} ms`);
  const c = report.comparison;
  const lines = [
    '# shrinkray auto',
    '',
    `${report.created} · ${report.device.backend} (${report.device.adapter}) · ${report.data.name}: ${
      report.data.folds
        ? `${n(report.data.trainRows)} rows in ${report.data.folds} folds, each deciding for a dense model trained on the others (trials on every fold; the chosen settings made again on all rows)`
        : `${n(report.data.trainRows)} rows to fine-tune, ${n(report.data.validationRows)} validation rows that decide`
    }, ${n(report.data.testRows)} test rows scored once at the end`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Objective: the smallest ${size ? 'model file (bytes written)' : 'forward-pass time over 1,024 rows (measured, best of 3)'} whose validation accuracy is at most **${(report.settings.maxDrop * 100).toFixed(2)} points** below the dense model's${report.settings.margin > 0 ? `, with ${report.settings.margin} standard error${report.settings.margin === 1 ? '' : 's'} of the paired difference to spare` : ''}. ${report.trials.length} trials in ${report.seconds.search.toFixed(0)} s (sensitivity ${report.seconds.sensitivity.toFixed(0)} s${report.seconds.dense === undefined ? '' : `, the dense model ${report.seconds.dense.toFixed(0)} s`}${report.seconds.folds === undefined ? '' : `, the folds' dense models ${report.seconds.folds.toFixed(0)} s, the chosen settings made again on all rows ${report.seconds.refit!.toFixed(0)} s`})${report.stopped === 'time' ? '; the time budget ended the search' : ''}.`,
    '',
    '| model | file | bytes | x smaller | validation accuracy | test accuracy |' + (size ? '' : ' forward, 1,024 rows |'),
    '|---|---|---:|---:|---:|---:|' + (size ? '' : '---:|'),
    `| dense | ${report.dense.file ? `\`${report.dense.file}\`` : ''} | ${n(report.dense.bytes)} | 1.0 | ${pct(report.dense.validationAccuracy)} | ${pct(report.dense.testAccuracy)} |` +
      (size ? '' : ` ${report.dense.batchMs?.toFixed(2)} ms |`),
    `| **chosen** | \`${report.chosen.file}\` | ${n(report.chosen.bytes)} | ${(report.dense.bytes / report.chosen.bytes).toFixed(1)} | ${pct(report.chosen.validationAccuracy)} | ${pct(report.chosen.testAccuracy)} |` +
      (size ? '' : ` ${report.chosen.batchMs?.toFixed(2)} ms |`),
    '',
    `Chosen: ${report.chosen.description} (${report.chosen.widths.join('-')}).`,
    '',
    `On the test set the chosen model differs from the dense one by **${pts(c.difference)} points** (95 % bootstrap interval ${pts(c.interval[0])} to ${pts(c.interval[1])}, McNemar p = ${c.pValue < 0.001 ? '<0.001' : c.pValue.toFixed(3)}): ${report.withinBudgetOnTest ? 'within the budget.' : '**outside the budget**: the validation rows chose a model that loses more on the test set than allowed.'}`,
  ];
  if (!report.metBudget) lines.push('', '**No candidate met the budget on the validation rows**; the chosen model is the dense one.');
  if (report.handSet?.length) {
    lines.push(
      '',
      'Variants set by hand (a default run of `shrinkray`, its own dense model), for comparison:',
      '',
      '| variant | bytes | test accuracy | vs its dense (pts) | chosen is smaller by |',
      '|---|---:|---:|---:|---:|',
    );
    for (const h of report.handSet) lines.push(`| ${h.name} | ${n(h.bytes)} | ${pct(h.testAccuracy)} | ${pts(h.difference)} | ${(h.bytes / report.chosen.bytes).toFixed(2)}x |`);
  }
  lines.push(
    '',
    `## The frontier (${report.frontier.length} trials no other beats on both ${size ? 'size' : 'time'} and validation accuracy)`,
    '',
    '| trial | settings | ' + (size ? 'bytes' : 'ms') + ' | validation accuracy |',
    '|---:|---|---:|---:|',
  );
  for (const f of report.frontier) lines.push(`| ${f.trial} | ${f.description} | ${cost(f)} | ${pct(f.validationAccuracy)} |`);
  for (const chart of charts) lines.push('', `![${chart}](${chart})`);
  lines.push(
    '',
    '## Every trial',
    '',
    `| trial | settings | ${size ? 'bytes' : 'ms'} | validation accuracy | standard error (pts) | within budget | seconds |`,
    '|---:|---|---:|---:|---:|:---:|---:|',
  );
  for (const t of report.trials)
    lines.push(`| ${t.trial} | ${t.description} | ${cost(t)} | ${pct(t.validationAccuracy)} | ${(t.standardError * 100).toFixed(2)} | ${t.withinBudget ? 'yes' : 'no'} | ${t.seconds.toFixed(1)} |`);
  if (report.notes.length) lines.push('', '## Notes', '', ...report.notes.map((x) => `- ${x}`));
  return `${lines.join('\n')}\n`;
}

export async function writeAutoReport(dir: string, report: AutoReport): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written = await writeCharts(
    dir,
    [
      ['frontier.svg', frontierSpec(report)],
      ['sensitivity.svg', sensitivitySpec(report)],
    ],
    report.notes,
  );
  report.charts = written;
  writeFileAtomic(join(dir, 'report.json'), new TextEncoder().encode(JSON.stringify(report, null, 2)));
  writeFileAtomic(join(dir, 'report.md'), new TextEncoder().encode(autoMarkdown(report, written)));
  return [...written, 'report.json', 'report.md'];
}
