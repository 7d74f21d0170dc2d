/**
 * Runs in a headless Chromium page (bundled by bench/browser-infer.bench.ts): the forward pass of
 * each model variant over the same 1,024 MNIST test rows as the Node benchmark (read back), and
 * predict() on one row, in rotated rounds, on navigator.gpu. The page fetches variants.json, the
 * model files and rows.bin from the server; the times go back to Node, which prints the ratios.
 */
import { createDevice, modelFromSafetensors } from '../../src/browser.js';
import { timeInference } from '../../src/validate/speed.js';
import { rotatedRounds } from '../rounds.js';

const ROWS = 1024;

export interface VariantTimes {
  name: string;
  forms: string[];
  batch: number[];
  single: number[];
}

async function bytes(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.arrayBuffer();
}

export async function timeVariants(featureLevel: 'core' | 'compatibility', rounds: number): Promise<{ adapter: unknown; variants: VariantTimes[] }> {
  const list = JSON.parse(new TextDecoder().decode(await bytes('/variants.json'))) as { name: string; file: string }[];
  const rows = new Float32Array(await bytes('/rows.bin'));
  const device = await createDevice({ featureLevel });
  try {
    const x = device.tensor(rows, [ROWS, rows.length / ROWS]);
    const one = rows.subarray(0, rows.length / ROWS);
    const variants = [];
    for (const v of list) {
      const model = modelFromSafetensors(device, new Uint8Array(await bytes(`/${v.file}`)));
      await model.prepareInference();
      variants.push({ name: v.name, model, forms: model.inferenceForms(), batch: [] as number[], single: [] as number[] });
    }
    await rotatedRounds(variants, rounds, async (v, timed) => {
      const { forward, single } = await timeInference(v.model, x, rows, one);
      if (timed) v.batch.push(forward), v.single.push(single);
    });
    for (const v of variants) v.model.dispose();
    x.dispose();
    return { adapter: device.describe(), variants: variants.map(({ name, forms, batch, single }) => ({ name, forms, batch, single })) };
  } finally {
    device.destroy();
  }
}

(globalThis as { shrinkrayInferBench?: unknown }).shrinkrayInferBench = { timeVariants };
