/**
 * GEMM throughput: shrinkray's chosen version against a naive one-thread-per-output WGSL kernel
 * and TF.js's WebGPU backend, all on the same GPUDevice in the same run. Each timed call runs
 * the product enough times for about 1 GFLOP and waits for the GPU (TF.js: reads the last
 * result; shrinkray: sync). After a warm-up call each, five rounds of tinybench runs take turns
 * between the three (the machine's two vCPUs are noisy); the best round counts.
 */
import { autoVariant, gemm } from '../src/kernels/gemm.js';
import { benchDevice, fmt, tfOnDevice, timeTasks } from './common.js';
import { Random } from '../src/random.js';

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

const squares: Shape[] = [256, 512, 1024].map((n) => ({ name: `square ${n}`, M: n, N: n, K: n, transA: false, transB: false }));

/** The GEMMs of training a 784-300-100-10 MLP at batch 128 with weights stored [in, out]. */
function mlpShapes(batch = 128, widths = [784, 300, 100, 10]): Shape[] {
  const shapes: Shape[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const [i, o] = [widths[l]!, widths[l + 1]!];
    shapes.push({ name: `L${l + 1} forward   X W`, M: batch, N: o, K: i, transA: false, transB: false });
    shapes.push({ name: `L${l + 1} grad W    X^T dY`, M: i, N: o, K: batch, transA: true, transB: false });
    shapes.push({ name: `L${l + 1} grad X    dY W^T`, M: batch, N: i, K: o, transA: false, transB: true });
  }
  return shapes;
}

function randomData(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

/** Rounds per shape; the best counts. The project's 2-vCPU machines vary 30 % from minute to minute. */
const ROUNDS = 5;

export async function benchGemm(): Promise<void> {
  const device = await benchDevice();
  const tf = await tfOnDevice(device);
  const quick = process.env.BENCH_QUICK === '1';
  const shapes = quick ? [squares[0]!, ...mlpShapes().slice(0, 3)] : [...squares, ...mlpShapes()];
  console.log('\nGEMM, GFLOP/s (higher is better); ratios: shrinkray / TF.js WebGPU and shrinkray / naive WGSL');
  console.log(['shape'.padEnd(24), 'M x N x K'.padEnd(16), 'version'.padEnd(10), 'shrinkray', 'naive', 'TF.js', 'x TF.js', 'x naive'].join('  '));
  for (const s of shapes) {
    const flops = 2 * s.M * s.N * s.K;
    const reps = Math.max(1, Math.min(200, Math.round(1e9 / flops)));
    const a = randomData(s.M * s.K, 1),
      b = randomData(s.K * s.N, 2);
    const aShape = s.transA ? [s.K, s.M] : [s.M, s.K];
    const bShape = s.transB ? [s.N, s.K] : [s.K, s.N];
    const ta = device.tensor(a, aShape),
      tb = device.tensor(b, bShape),
      tc = device.empty([s.M, s.N]);
    const fa = tf.tensor2d(a, aShape as [number, number]),
      fb = tf.tensor2d(b, bShape as [number, number]);
    const version = autoVariant(s.M, s.N, s.K, s.transA, s.transB, !device.cpuFallback);
    const ours = (variant: 'auto' | 'naive') => async () => {
      for (let r = 0; r < reps; r++) gemm(ta, tb, { transA: s.transA, transB: s.transB, out: tc, variant });
      await device.sync();
    };
    const theirs = async () => {
      let c = tf.matMul(fa, fb, s.transA, s.transB);
      for (let r = 1; r < reps; r++) c.dispose(), (c = tf.matMul(fa, fb, s.transA, s.transB));
      await c.data();
      c.dispose();
    };
    const t: Record<string, number> = { shrinkray: Infinity, naive: Infinity, tfjs: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      const r = await timeTasks({ shrinkray: ours('auto'), naive: ours('naive'), tfjs: theirs }, { iterations: 1, time: 0, warm: round === 0 });
      for (const k of Object.keys(t)) t[k] = Math.min(t[k]!, r[k]!);
    }
    const g = (sec: number) => (flops * reps) / sec / 1e9;
    const [gs, gn, gt] = [g(t.shrinkray!), g(t.naive!), g(t.tfjs!)];
    console.log(
      [
        s.name.padEnd(24),
        `${s.M}x${s.N}x${s.K}`.padEnd(16),
        version.padEnd(10),
        fmt(gs).padStart(9),
        fmt(gn).padStart(5),
        fmt(gt).padStart(5),
        fmt(gs / gt).padStart(7),
        fmt(gs / gn).padStart(7),
      ].join('  '),
    );
    ta.dispose();
    tb.dispose();
    tc.dispose();
    fa.dispose();
    fb.dispose();
  }
  tf.removeBackend('webgpu');
  device.destroy();
}
