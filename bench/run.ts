/** npm run bench: every benchmark, one after another. BENCH_ONLY=gemm runs one; BENCH_QUICK=1 a short pass. */
import { benchGemm } from './gemm.bench.js';
import { benchTrain } from './train.bench.js';
import { benchTrainCnn } from './train-cnn.bench.js';
import { benchValidate } from './validate.bench.js';
import { benchCompress } from './compress.bench.js';
import { benchAblate } from './ablate.bench.js';
import { benchLoads } from './loads.bench.js';
import { benchInfer } from './infer.bench.js';
import { benchBrowserInfer } from './browser-infer.bench.js';
import { benchQueue } from './queue.bench.js';

const benches: Record<string, () => Promise<void>> = {
  loads: benchLoads,
  gemm: benchGemm,
  train: benchTrain,
  'train-cnn': benchTrainCnn,
  validate: benchValidate,
  compress: benchCompress,
  ablate: benchAblate,
  infer: benchInfer,
  'browser-infer': benchBrowserInfer,
  queue: benchQueue,
};
const only = process.env.BENCH_ONLY;
for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  console.log(`\n=== ${name} ===`);
  await run();
}
