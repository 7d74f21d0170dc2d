/**
 * The report's charts: Vega-Lite specifications rendered to SVG by Vega in Node (no browser, no
 * canvas). One function per chart builds its spec from plain figures; renderSvg draws any spec.
 * vega and vega-lite (22 MB) are optional peer dependencies, loaded when a chart is drawn.
 */
import type { TopLevelSpec } from 'vega-lite';
import { MissingPackageError } from '../errors.js';

export interface VariantPoint {
  name: string;
  /** Bytes of the compressed model. */
  bytes: number;
  /** Test accuracy, 0-1. */
  accuracy: number;
}

const WIDTH = 460;
const HEIGHT = 300;

async function chartLibraries(): Promise<[typeof import('vega'), typeof import('vega-lite')]> {
  try {
    return await Promise.all([import('vega'), import('vega-lite')]);
  } catch {
    throw new MissingPackageError('Charts need the npm packages vega and vega-lite, which are not installed: npm install vega vega-lite (22 MB).');
  }
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await chartLibraries();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The variants that no other variant beats on both size and accuracy. */
export function paretoFront<T extends VariantPoint>(points: T[]): T[] {
  return points.filter((p) => !points.some((q) => q !== p && q.bytes <= p.bytes && q.accuracy >= p.accuracy && (q.bytes < p.bytes || q.accuracy > p.accuracy))).sort((a, b) => a.bytes - b.bytes);
}

/** Test accuracy against model size (log scale), one labelled point per variant, the Pareto front as a line. */
export function accuracySizeSpec(points: VariantPoint[]): TopLevelSpec {
  const front = new Set(paretoFront(points).map((p) => p.name));
  const values = points.map((p) => ({ variant: p.name, kib: p.bytes / 1024, accuracy: p.accuracy * 100, front: front.has(p.name) }));
  const x = { field: 'kib', type: 'quantitative', scale: { type: 'log', nice: false, padding: 24 }, title: 'model size (KiB, log scale)' } as const;
  const y = { field: 'accuracy', type: 'quantitative', scale: { zero: false, padding: 12 }, title: 'test accuracy (%)' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Accuracy against size: the Pareto front of the variants',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      { transform: [{ filter: 'datum.front' }], mark: { type: 'line', color: '#9ab' }, encoding: { x, y, order: { field: 'kib' } } },
      { mark: { type: 'point', filled: true, size: 70 }, encoding: { x, y, color: { field: 'variant', type: 'nominal', title: 'variant' } } },
      { mark: { type: 'text', dx: 6, align: 'left', fontSize: 10 }, encoding: { x, y, text: { field: 'variant' } } },
    ],
  } as TopLevelSpec;
}

/** Inference throughput against model size (both log scales), one labelled point per variant. */
export function speedSizeSpec(points: { name: string; bytes: number; rowsPerSecond: number }[]): TopLevelSpec {
  const values = points.map((p) => ({ variant: p.name, kib: p.bytes / 1024, speed: p.rowsPerSecond }));
  const x = { field: 'kib', type: 'quantitative', scale: { type: 'log', nice: false, padding: 24 }, title: 'model file (KiB, log scale)' } as const;
  const y = { field: 'speed', type: 'quantitative', scale: { type: 'log', nice: false, padding: 12 }, title: 'rows per second at batch 1024 (log scale)' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Inference speed against size',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      { mark: { type: 'point', filled: true, size: 70 }, encoding: { x, y, color: { field: 'variant', type: 'nominal', title: 'variant' } } },
      { mark: { type: 'text', dx: 6, align: 'left', fontSize: 10 }, encoding: { x, y, text: { field: 'variant' } } },
    ],
  } as TopLevelSpec;
}

/** A cascade on validation rows: accuracy and speed against the threshold, one panel each. */
export function cascadeSpec(points: { threshold: number; accuracy: number; deferred: number; rowsPerSecond: number }[]): TopLevelSpec {
  const values = points.flatMap((p) => [
    { threshold: p.threshold, metric: 'accuracy (%)', value: p.accuracy * 100 },
    { threshold: p.threshold, metric: 'rows per second', value: p.rowsPerSecond },
    { threshold: p.threshold, metric: 'rows to the large model (%)', value: p.deferred * 100 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Cascade: accuracy and speed against the threshold (validation rows)',
    data: { values },
    facet: { row: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: WIDTH,
      height: 120,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'threshold', type: 'quantitative', title: "threshold on the small model's top probability" },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Sparsity of each layer, bars grouped by variant. */
export function sparsitySpec(rows: { variant: string; layer: string; sparsity: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Per-layer sparsity',
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows.map((r) => ({ ...r, sparsity: r.sparsity * 100 })) },
    mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'nominal', title: 'layer' },
      xOffset: { field: 'variant' },
      y: { field: 'sparsity', type: 'quantitative', title: 'weights pruned (%)', scale: { domain: [0, 100] } },
      color: { field: 'variant', type: 'nominal', title: 'variant' },
    },
  } as TopLevelSpec;
}

/** Loss and accuracy by epoch for each training run (dense, pruning, students...). */
export function trainingCurvesSpec(rows: { run: string; epoch: number; metric: string; value: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Training curves',
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: WIDTH / 2,
      height: HEIGHT * 0.8,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
        color: { field: 'run', type: 'nominal', title: 'run' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Histogram of ablation importances (loss increase when a unit is removed), by layer. */
export function importanceHistogramSpec(rows: { layer: string; importance: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Ablation importance of hidden units',
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'importance', type: 'quantitative', bin: { maxbins: 40 }, title: 'loss increase when the unit is removed' },
      y: { aggregate: 'count', type: 'quantitative', title: 'units' },
      color: { field: 'layer', type: 'nominal', title: 'layer' },
    },
  } as TopLevelSpec;
}
