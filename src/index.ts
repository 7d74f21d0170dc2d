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
export { autoReport, writeAutoReport, type AutoReport, type HandSetVariant } from './study/auto-report.js';
// Node only: trials on BullMQ workers over Redis (bullmq is an optional peer dependency).
export { queueSweepRunner, queueAutoRunner, queueCvRunner, type QueueCounts, type QueueRunnerOptions } from './queue/coordinator.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './queue/worker.js';
