/** shrinkray for Node: train, compress and validate neural networks with WGSL compute shaders on WebGPU. */
export * from './api.js';
// Node only: files on disk.
export { loadMnist, datasetFromIdx } from './data/mnist.js';
export { saveModel, loadModel, writeFileAtomic } from './io/files.js';
