/** Charts to SVG files beside a report (Node only: charts.ts itself also serves the browser demo). */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { MissingPackageError } from '../errors.js';
import { writeFileAtomic } from '../io/files.js';
import { renderSvg } from './charts.js';

/**
 * Renders each chart to dir/NAME and returns the names written. The figures are the report; the
 * charts only draw them, so a missing chart library becomes a note in `notes`, not an error.
 */
export async function writeCharts(dir: string, charts: readonly (readonly [string, TopLevelSpec])[], notes: string[]): Promise<string[]> {
  const written: string[] = [];
  try {
    for (const [name, spec] of charts) {
      writeFileAtomic(join(dir, name), new TextEncoder().encode(await renderSvg(spec)));
      written.push(name);
    }
  } catch (e) {
    if (!(e instanceof MissingPackageError)) throw e;
    notes.push(`No charts: ${e.message}`);
  }
  return written;
}
