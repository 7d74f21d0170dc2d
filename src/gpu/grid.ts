/** Tile-friendly 2D grid for `count` workgroups: x at most the per-dimension limit. */
export function grid(count: number, maxPerDim: number): [number, number] {
  if (count <= maxPerDim) return [Math.max(1, count), 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}
