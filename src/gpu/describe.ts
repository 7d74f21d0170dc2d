import type { DeviceDescription } from './adapter.js';

/** One line for logs, the CLI and benchmarks: "llvmpipe (llvmpipe-llvm-15..., compatibility, CPU)". */
export function formatDescription(d: DeviceDescription): string {
  const probe = d.cpuProbe && `: a 4 x 4 block an invocation ${(d.cpuProbe.oneMs / d.cpuProbe.blockMs).toFixed(1)}x as fast as one output`;
  const kind = `${d.cpuFallback ? 'CPU adapter' : 'GPU'}${d.adapterNamed ? '' : ` by timing (the adapter gives no name${probe ?? ''})`}`;
  return `${d.backend}: ${d.adapter} [${d.featureLevel}, ${kind}, ${d.limits.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${d.limits.maxStorageBuffersPerShaderStage} storage buffers/stage]`;
}
