/** shrinkray for Node: train, compress and validate neural networks with WGSL compute shaders on WebGPU. */
export * from './api.js';
// Node only: files on disk.
export { loadMnist, datasetFromIdx } from './data/mnist.js';
export { saveModel, loadModel } from './io/files.js';
// Node only: the default study writes its report and models to disk.
export { runStudy, type StudyData, type StudySettings } from './study/default-study.js';
export { writeReport, type Report, type TrainingRun as TrainingCurves } from './study/report.js';
export { measureVariant, type VariantReport } from './study/variants.js';
export { SILENT, trainWithProgress, type StudyLog, type Progress } from './study/progress.js';
