/**
 * Runs in a real browser page (bundled by test/browser.test.ts): the kernel reference checks of
 * test/kernel-checks.ts (GEMM, losses, an optimizer step) and a short training run, on navigator.gpu. Results go back
 * to the test as plain objects; the test asserts them.
 */
import { createDevice, MLP, fit, evaluate, prune, quantizeWeights, compressedSize, modelToSafetensors, modelFromSafetensors } from '../../src/browser.js';
import { batchNormChecks, convChecks, gemmChecks, inferenceChecks, lossChecks, splitKChecks, stepChecks, type Check } from '../kernel-checks.js';
import { toyData } from '../toy-data.js';

export async function runChecks(featureLevel?: 'core' | 'compatibility'): Promise<{ adapter: unknown; checks: Check[] }> {
  const device = await createDevice(featureLevel ? { featureLevel } : {});
  try {
    const checks = [
      ...(await gemmChecks(device)),
      ...(await lossChecks(device)),
      ...(await stepChecks(device)),
      ...(await inferenceChecks(device)),
      ...(await convChecks(device)),
      ...(await batchNormChecks(device)),
      ...(await splitKChecks(device)),
    ];
    return { adapter: device.describe(), checks };
  } finally {
    device.destroy();
  }
}

/** A short training run in the page on a toy problem: returns the test accuracy. */
export async function trainCheck(): Promise<{ accuracy: number; epochs: number }> {
  const device = await createDevice();
  try {
    const model = MLP.create(device, [8, 32, 3], { seed: 1 });
    const epochs = 30;
    await fit(model, toyData(600, 8, 3, 1), { epochs, batchSize: 32, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 }, seed: 1 });
    const { accuracy } = await evaluate(model, toyData(300, 8, 3, 2));
    model.dispose();
    return { accuracy, epochs };
  } finally {
    device.destroy();
  }
}

/** The compressed model format in the page: a pruned k-means model written and read back. */
export async function formatCheck(): Promise<{ bytes: number; predicted: number; same: boolean }> {
  const device = await createDevice();
  try {
    const model = MLP.create(device, [64, 30, 10], { seed: 1 });
    await prune(model, { type: 'global', sparsity: 0.8 });
    await quantizeWeights(model, { method: 'kmeans', bits: 4 });
    const file = await modelToSafetensors(model);
    const loaded = modelFromSafetensors(device, file);
    const x = Float32Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i));
    const [a, b] = [await model.predict(x), await loaded.predict(x)];
    const predicted = (await compressedSize(model)).totalBytes;
    model.dispose();
    loaded.dispose();
    return { bytes: file.length, predicted, same: a.every((v, i) => v === b[i]) };
  } finally {
    device.destroy();
  }
}

(globalThis as Record<string, unknown>).shrinkrayChecks = { runChecks, trainCheck, formatCheck };
