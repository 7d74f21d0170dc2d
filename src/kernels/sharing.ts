/** Host side of shaders/sharing.wgsl: per-cluster sums (segmented, deterministic) and shared weights. */
import { grid } from '../gpu/grid.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../errors.js';
import { linearWorkgroup, output, requireDType, requireShape } from './launch.js';

type F32 = Tensor<'f32'>;

/** Workgroup size of cluster_sums: a power of two (the tree reduction halves it). */
const SUM_WG = 64;

/** The clusters of a fixed assignment in CSR form: weight indices cluster by cluster. */
export interface Clusters {
  /** [kept weights] u32: indices into the weight, cluster 0's first. */
  order: Tensor<'u32'>;
  /** [K + 1] u32: cluster c owns order[offsets[c] .. offsets[c + 1]]. */
  offsets: Tensor<'u32'>;
  count: number;
}

/** sums[c] = sum of values[i] over the weights i of cluster c. */
export function clusterSums(values: F32, clusters: Clusters, out?: F32): F32 {
  requireDType('clusterSums', 'values', values, 'f32');
  requireShape('clusterSums', 'offsets', clusters.offsets, [clusters.count + 1]);
  const device = values.device;
  const sums = output(device, [clusters.count], 'f32', out, 'clusterSums');
  device.dispatch(device.kernel('sharing'), 'cluster_sums', { p: { n: values.size, clusters: clusters.count }, values, order: clusters.order, offsets: clusters.offsets, sums }, [clusters.count], {
    WG: SUM_WG,
  });
  return sums;
}

/** w[i] = codebook[assignment[i]], 0 where assignment[i] is K (pruned). */
export function shareWeights(codebook: F32, assignment: Tensor<'u32'>, w: F32): F32 {
  if (assignment.size !== w.size) throw new ShapeError(`shareWeights: ${assignment.size} indices for ${w.size} weights.`);
  const device = w.device;
  const wg = linearWorkgroup(device);
  device.dispatch(
    device.kernel('sharing'),
    'share_weights',
    { p: { n: w.size, clusters: codebook.size }, codebook, assignment, w },
    grid(Math.ceil(w.size / wg), device.gpu.limits.maxComputeWorkgroupsPerDimension),
    { WG: wg },
  );
  return w;
}
