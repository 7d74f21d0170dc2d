/**
 * What fit, evaluate, testMetrics, pruning and weight quantization take: an MLP, or a Sequential
 * model of convolution, pooling and dense layers. Both hold their weights as DenseLayer matrices
 * in `layers`, run `forward`, and make training buffers with `backprop`.
 */
import type { MLP } from './mlp.js';
import type { Sequential } from './sequential.js';

export type Model = MLP | Sequential;
