#!/usr/bin/env node
/**
 * The shrinkray command. Until the training pipeline lands (issue: CLI), the default run checks
 * the GPU path end to end: it describes the device, runs a fused GEMM (bias + relu) of an MLP
 * layer's shape, compares it with a float64 CPU result and prints the throughput.
 * `shrinkray devices` lists the adapters that can be found and the one that is used.
 */
import { parseArgs } from 'node:util';
import { createDevice, type Device } from '../gpu/device.js';
import { formatDescription } from '../gpu/describe.js';
import { BACKENDS, type Backend } from '../gpu/backend.js';
import { gemm } from '../kernels/gemm.js';
import { Random } from '../random.js';
import { ShrinkrayError } from '../errors.js';

const HELP = `usage: shrinkray [devices] [--backend ${BACKENDS.join('|')}] [--verbose]

  (no command)  describe the device, run a fused GEMM check against a CPU reference
  devices       list the WebGPU adapters found and the one shrinkray uses
  --backend     force an adapter (default: env SHRINKRAY_BACKEND, else auto)
  --verbose     print stack traces on errors`;

class UsageError extends Error {}

async function gemmCheck(device: Device): Promise<boolean> {
  const [M, N, K] = [128, 300, 784];
  const r = new Random(1);
  const a = Float32Array.from({ length: M * K }, () => r.uniform(0, 1));
  const w = Float32Array.from({ length: K * N }, () => r.normal() * Math.sqrt(2 / K));
  const b = Float32Array.from({ length: N }, () => r.uniform(-0.1, 0.1));
  const ta = device.tensor(a, [M, K]), tw = device.tensor(w, [K, N]), tb = device.tensor(b);
  const out = gemm(ta, tw, { bias: tb, activation: 'relu' });
  const got = await out.read();
  let num = 0, den = 0;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = b[n]!;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * w[k * N + n]!;
      const ref = Math.max(s, 0);
      num += (got[m * N + n]! - ref) ** 2;
      den += ref * ref;
    }
  const err = Math.sqrt(num / den);
  const reps = 20;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) gemm(ta, tw, { bias: tb, activation: 'relu', out });
  await device.sync();
  const seconds = (performance.now() - t0) / 1000;
  const ok = err < 1e-5;
  console.log(`GEMM check ${M}x${N}x${K} + bias + relu: relative error ${err.toExponential(2)} (${ok ? 'ok' : 'FAILED'}), ${((2 * M * N * K * reps) / seconds / 1e9).toFixed(2)} GFLOP/s`);
  return ok;
}

async function listDevices(): Promise<void> {
  for (const backend of BACKENDS.filter((b) => b !== 'auto')) {
    try {
      const d = await createDevice({ backend });
      console.log(`  ${formatDescription(d.describe())}`);
      d.destroy();
    } catch (e) {
      console.log(`  ${backend}: not available (${(e as Error).message.split('. ')[0]})`);
    }
  }
  const used = await createDevice();
  console.log(`used by default: ${used.describe().backend}`);
  used.destroy();
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { backend: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.backend && !(BACKENDS as readonly string[]).includes(values.backend))
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, not '${values.backend}'`);
  const [command, ...rest] = positionals;
  if (rest.length || (command && command !== 'devices')) throw new UsageError(`unknown command '${positionals.join(' ')}' (try --help)`);
  if (command === 'devices') {
    await listDevices();
    return 0;
  }
  const device = await createDevice({ backend: values.backend as Backend | undefined });
  try {
    console.log(`device: ${formatDescription(device.describe())}`);
    return (await gemmCheck(device)) ? 0 : 1;
  } finally {
    device.destroy();
  }
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    const verbose = argv.includes('--verbose');
    if (e instanceof UsageError) {
      console.error(`shrinkray: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`shrinkray: ${e instanceof ShrinkrayError ? `${e.name}: ` : ''}${(e as Error).message ?? e}`);
      if (verbose && e instanceof Error) console.error(e.stack);
      process.exitCode = 1;
    }
  },
);
