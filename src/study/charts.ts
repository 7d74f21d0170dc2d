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
  /** Its confidence interval (bootstrap), drawn as an error bar when given. */
  interval?: [number, number];
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

/**
 * Test accuracy against model size (log scale), one labelled point per variant with its 95 %
 * bootstrap interval as an error bar, the Pareto front as a line.
 */
export function accuracySizeSpec(points: VariantPoint[]): TopLevelSpec {
  const front = new Set(paretoFront(points).map((p) => p.name));
  const values = points.map((p) => ({
    variant: p.name,
    kib: p.bytes / 1024,
    accuracy: p.accuracy * 100,
    front: front.has(p.name),
    ...(p.interval ? { low: p.interval[0] * 100, high: p.interval[1] * 100 } : {}),
  }));
  const x = { field: 'kib', type: 'quantitative', scale: { type: 'log', nice: false, padding: 24 }, title: 'model size (KiB, log scale)' } as const;
  const y = { field: 'accuracy', type: 'quantitative', scale: { zero: false, padding: 12 }, title: 'test accuracy (%)' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Accuracy against size: the Pareto front of the variants', subtitle: points.some((p) => p.interval) ? 'bars: 95 % bootstrap intervals of the test accuracy' : '' },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      { transform: [{ filter: 'datum.front' }], mark: { type: 'line', color: '#9ab' }, encoding: { x, y, order: { field: 'kib' } } },
      {
        transform: [{ filter: 'isValid(datum.low)' }],
        mark: { type: 'rule', color: '#888' },
        encoding: { x, y: { field: 'low', type: 'quantitative', title: 'test accuracy (%)' }, y2: { field: 'high' } },
      },
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

/**
 * The fraction of each layer's weights kept, for each distinct pruning pattern: what the report's
 * table does not show (how a global threshold spread the pruning over the layers). Variants with
 * the same per-layer fractions (a pruned model and its quantized copies) share one bar, labelled
 * with all their names; unpruned variants are left out.
 */
export function sparsitySpec(rows: { variant: string; layer: string; sparsity: number }[]): TopLevelSpec {
  const patterns = new Map<string, { variants: string[]; layers: { layer: string; kept: number }[] }>();
  for (const variant of [...new Set(rows.map((r) => r.variant))]) {
    const layers = rows.filter((r) => r.variant === variant).map((r) => ({ layer: r.layer, kept: (1 - r.sparsity) * 100 }));
    if (layers.every((l) => l.kept === 100)) continue;
    const key = layers.map((l) => `${l.layer}:${l.kept.toFixed(3)}`).join();
    const p = patterns.get(key) ?? { variants: [], layers };
    p.variants.push(variant);
    patterns.set(key, p);
  }
  const values = [...patterns.values()].flatMap((p) => p.layers.map((l) => ({ variants: p.variants.join(', '), layer: l.layer, kept: l.kept })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Weights kept in each layer', subtitle: 'one bar per pruning pattern; the variants that share it are named together' },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: { field: 'layer', type: 'nominal', title: 'layer', axis: { labelAngle: 0 } },
          xOffset: { field: 'variants' },
          y: { field: 'kept', type: 'quantitative', title: 'weights kept (%)', scale: { domain: [0, 100] } },
          color: { field: 'variants', type: 'nominal', title: 'variants', legend: { orient: 'bottom', columns: 1, labelLimit: 600 } },
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 10 },
        encoding: { x: { field: 'layer', type: 'nominal' }, xOffset: { field: 'variants' }, y: { field: 'kept', type: 'quantitative' }, text: { field: 'kept', type: 'quantitative', format: '.1f' } },
      },
    ],
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

/**
 * Ablation importances (the loss increase when a unit is removed), one histogram per hidden
 * layer, each with its own scale, a line at zero, and the count of units that hurt (negative).
 */
export function importanceHistogramSpec(rows: { layer: string; importance: number }[]): TopLevelSpec {
  const negative = rows.filter((r) => r.importance < 0).length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Ablation importance of hidden units, by layer',
      subtitle: [
        'importance: how much the loss rises when the unit is removed; near 0: the unit does little',
        `below 0 (left of the red line): the loss falls without the unit, it hurts (${negative} of ${rows.length} units)`,
      ],
    },
    data: { values: rows },
    facet: { row: { field: 'layer', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
    spec: {
      width: WIDTH,
      height: 110,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'importance', type: 'quantitative', bin: { maxbins: 40 }, title: 'loss increase when the unit is removed' },
            y: { aggregate: 'count', type: 'quantitative', title: 'units' },
          },
        },
        { mark: { type: 'rule', color: '#c33', strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as TopLevelSpec;
}
