/** auto --compare: the hand-set variants of a default run's report.json, listed beside the chosen model. */
import { readFileSync } from 'node:fs';
import type { HandSetVariant } from '../study/auto-report.js';
import { UsageError } from './args.js';

/** The variants of a default run's report.json within reach of comparison: name, bytes, test accuracy, difference. */
export function handSetOf(path: string): HandSetVariant[] {
  let parsed: { variants?: { name: string; bytes: number; accuracy: number; difference?: number }[] };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--compare ${path}: not a readable report.json (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed.variants)) throw new UsageError(`--compare ${path}: no variants in it (give the report.json of a default run)`);
  return parsed.variants.map((v) => ({ name: v.name, bytes: v.bytes, testAccuracy: v.accuracy, difference: v.difference ?? 0 }));
}
