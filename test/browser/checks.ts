/**
 * Runs in a real browser page (bundled by test/browser.test.ts): the kernel reference checks of
 * test/kernel-checks.ts (GEMM, losses, an optimizer step) and a short training run, on navigator.gpu. Results go back
 * to the test as plain objects; the test asserts them.
 */
import { createDevice, MLP, fit, evaluate } from '../../src/browser.js';
import { gemmChecks, lossChecks, stepChecks, type Check } from '../kernel-checks.js';
import { toyData } from '../toy-data.js';

export async function runChecks(featureLevel?: 'core' | 'compatibility'): Promise<{ adapter: unknown; checks: Check[] }> {
  const device = await createDevice(featureLevel ? { featureLevel } : {});
  try {
    const checks = [...(await gemmChecks(device)), ...(await lossChecks(device)), ...(await stepChecks(device))];
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

(globalThis as Record<string, unknown>).shrinkrayChecks = { runChecks, trainCheck };
