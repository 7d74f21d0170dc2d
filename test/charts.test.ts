import { describe, expect, it } from 'vitest';
import { accuracySizeSpec, importanceHistogramSpec, paretoFront, renderSvg, sparsitySpec, trainingCurvesSpec } from '../src/study/charts.js';

/** The aria-labels Vega gives each mark item of a role="graphics-symbol" (points, bars, line). */
function items(svg: string, kind: string): string[] {
  return [...svg.matchAll(new RegExp(`aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"`, 'g'))].map((m) => m[1]!);
}

const variants = [
  { name: 'dense', bytes: 1_066_000, accuracy: 0.9846 },
  { name: 'int8', bytes: 300_000, accuracy: 0.9845 },
  { name: 'pruned', bytes: 133_000, accuracy: 0.9832 },
  { name: 'student', bytes: 95_000, accuracy: 0.9701 },
  { name: 'worse', bytes: 140_000, accuracy: 0.96 },
];

describe('report charts (Vega-Lite rendered to SVG in Node)', () => {
  it('the Pareto front keeps the variants nothing beats on both size and accuracy', () => {
    expect(paretoFront(variants).map((v) => v.name)).toEqual(['student', 'pruned', 'int8', 'dense']);
  });

  it('accuracy against size: axes, one point per variant with its figures, labels, and the front as a line', async () => {
    const svg = await renderSvg(accuracySizeSpec(variants));
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('model size (KiB, log scale)');
    expect(svg).toContain('test accuracy (%)');
    const points = items(svg, 'point');
    expect(points).toHaveLength(variants.length);
    for (const v of variants) expect(points.some((p) => p.includes(`variant: ${v.name}`) && p.includes(`test accuracy (%): ${+(v.accuracy * 100).toFixed(2)}`))).toBe(true);
    expect(items(svg, 'text mark')).toHaveLength(variants.length);
    // The front (student, pruned, int8, dense) is one line through four points.
    expect(items(svg, 'line mark')).toHaveLength(1);
    expect(items(svg, 'rule mark')).toHaveLength(0); // no intervals given, no error bars
  });

  it('accuracy against size with intervals: an error bar from the low to the high end for each variant', async () => {
    const withIntervals = variants.map((v) => ({ ...v, interval: [v.accuracy - 0.003, v.accuracy + 0.002] as [number, number] }));
    const svg = await renderSvg(accuracySizeSpec(withIntervals));
    expect(svg).toContain('bars: 95 % bootstrap intervals of the test accuracy');
    const rules = items(svg, 'rule mark');
    expect(rules).toHaveLength(variants.length);
    expect(rules.some((r) => r.includes(`test accuracy (%): ${+(98.32 - 0.3).toFixed(2)}`) && r.includes(`high: ${+(98.32 + 0.2).toFixed(2)}`))).toBe(true);
  });

  it('weights kept per layer: one bar per pruning pattern, variants sharing it named together, unpruned ones left out', async () => {
    const pattern = (variant: string) => (variant === 'dense' || variant === 'student' ? [0, 0, 0] : variant === 'shared' ? [0.95, 0.8, 0.5] : [0.9, 0.8, 0.7]);
    const rows = ['dense', 'pruned', 'pruned + int8', 'shared', 'student'].flatMap((variant) =>
      ['layer 1', 'layer 2', 'layer 3'].map((layer, i) => ({ variant, layer, sparsity: pattern(variant)[i]! })),
    );
    const svg = await renderSvg(sparsitySpec(rows));
    expect(svg).toContain('weights kept (%)');
    const bars = items(svg, 'bar');
    expect(bars).toHaveLength(6); // two patterns x three layers
    expect(bars.some((b) => b.includes('layer: layer 3') && b.includes('weights kept (%): 30') && b.includes('variants: pruned, pruned + int8'))).toBe(true);
    expect(bars.some((b) => b.includes('layer: layer 1') && /weights kept \(%\): 5(\.0+\d*)?;/.test(`${b};`.replace(/, variants.*/, ';')) && b.includes('variants: shared'))).toBe(true);
    expect(bars.every((b) => !b.includes('dense') && !b.includes('student'))).toBe(true);
  });

  it('training curves: a line per run in each panel', async () => {
    const rows = ['dense', 'student'].flatMap((run) =>
      [1, 2, 3].flatMap((epoch) => [
        { run, epoch, metric: 'training loss', value: 1 / epoch },
        { run, epoch, metric: 'test accuracy (%)', value: 90 + epoch },
      ]),
    );
    const svg = await renderSvg(trainingCurvesSpec(rows));
    expect(svg).toContain('training loss');
    expect(svg).toContain('test accuracy (%)');
    expect(svg).toContain('epoch');
    expect(items(svg, 'line mark')).toHaveLength(4);
    expect(items(svg, 'point')).toHaveLength(12);
  });

  it('importance histograms: one panel per layer, counts that add up to its units, the units that hurt counted', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ layer: i < 30 ? 'layer 1' : 'layer 2', importance: ((i % 10) - 2) / 100 }));
    const svg = await renderSvg(importanceHistogramSpec(rows));
    expect(svg).toContain('loss increase when the unit is removed');
    expect(svg).toContain('it hurts (10 of 50 units)'); // importance -0.02 and -0.01, five units each
    for (const layer of ['layer 1', 'layer 2']) expect(svg).toContain(`>${layer}</text>`);
    const counts = items(svg, 'bar').map((b) => Number(/units: (\d+)/.exec(b)![1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50);
    expect(svg.match(/aria-roledescription="rule mark container"/g)).toHaveLength(2); // the zero line in each panel
  });
});
