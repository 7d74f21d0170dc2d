/** The platform-neutral API: everything but the modules that need Node's file system. */
export * from './errors.js';
export { createDevice } from './gpu/create-device.js';
export { Device, type CreateDeviceOptions, type DeviceDescription } from './gpu/device.js';
export { formatDescription } from './gpu/describe.js';
export { BACKENDS, type Backend } from './gpu/backend.js';
export { Tensor, type DType } from './gpu/tensor.js';
export { Kernel, type KernelArgs, type Overrides, type UniformValues } from './gpu/kernel.js';
export type { MemoryStats } from './gpu/buffer-pool.js';
export { add, sub, mul, scale, copy, fill } from './kernels/elementwise.js';
export { reduce, sum, min, max, type ReduceOp, type ReduceAxis } from './kernels/reduce.js';
export { gemm, applicableVariants, autoVariant, ACTIVATIONS, GEMM_VARIANTS, type Activation, type GemmOptions, type GemmVariant } from './kernels/gemm.js';
export { transpose } from './kernels/transpose.js';
export { batchNormTrain, batchNormInfer, batchNormBackward, type NormParams, type NormSettings } from './kernels/batchnorm.js';
export { conv2d, conv2dBackward, im2col, col2im, windowOf, type Window, type WindowOptions, type Conv2dOptions } from './kernels/conv.js';
export { maxPool, maxPoolBackward, avgPool, avgPoolBackward } from './kernels/pool.js';
export { Random } from './random.js';
export { gatherRows, gatherBytes, gatherLabels, type GatherOptions } from './kernels/gather.js';
export { softmax, LOSSES, type LossKind } from './kernels/loss.js';
export { Optimizer, scheduledRate, type OptimizerConfig, type Schedule, type Slot } from './kernels/optim.js';
export { MLP, type DenseLayer, type DenseSpec, type MlpOptions } from './nn/mlp.js';
export { fit, type FitOptions, type EpochReport, type History } from './nn/train.js';
export { evaluate, type EvaluateOptions } from './nn/evaluate.js';
export type { TrainingHook, TrainingRun, DistillTerms } from './nn/hooks.js';
export { validateDataset, subset, type Dataset } from './data/dataset.js';
export { GpuDataset } from './data/gpu-dataset.js';
export { parseIdx, type IdxArray } from './data/idx.js';
export { parseCsv, Standardizer, type CsvOptions } from './data/csv.js';
export { kFold, stratifiedKFold, leaveOneOut, leavePOut, groupKFold, trainTestSplit, type Split, type Splitter, type TrainTestOptions } from './validate/split.js';
export { crossValidate, runFold, summarizeFolds, type CrossValidation, type CrossValidateOptions, type FoldResult } from './validate/cross-validate.js';
export { cvContext, inProcessCvRunner, planSplitter, runPlannedFold, type CvContext, type CvPlan } from './validate/cv-plan.js';
export { testMetrics, scoresFromConfusion, type ClassificationMetrics, type RegressionMetrics, type Averages } from './validate/metrics.js';
export { inferenceSpeed, inferenceSpeeds, type InferenceSpeed, type SpeedOptions } from './validate/speed.js';
export { cascade, cascadePredict, cascadeCurve, chooseThreshold, type CascadeAnswer, type CascadeCurve, type CascadePoint } from './validate/cascade.js';
export { compareModels, comparePredictions, mcnemarExact, type Comparison } from './validate/compare.js';
export type { EarlyStopping } from './nn/early-stopping.js';
export { imageAugmentation, type ImageAugmentation } from './nn/augmentation.js';
export { prune, pruneReport, type PruneCriterion, type PruneReport, type LayerSparsity } from './compress/prune.js';
export { gradualPruning, scheduledSparsity, type GradualPruning } from './compress/schedule.js';
export { quantizationAware } from './compress/qat.js';
export { iterativePrune } from './compress/iterative.js';
export { decodeSafetensors, encodeSafetensors, tensorArray, type SafeFile, type SafeTensor, type SafeDType, type TensorToWrite } from './io/safetensors.js';
export { modelToSafetensors, modelFromSafetensors, sequentialFromSafetensors, readModel, architectureOf, describeArchitecture, type EncodeOptions } from './io/model-file.js';
export { Sequential, placeStages, layerName, type LayerSpec, type Stage, type SequentialOptions } from './nn/sequential.js';
export type { Model } from './nn/model.js';
export { parseLayers, isNetwork, PRESETS } from './nn/architecture.js';
export type { WeightEncoding } from './io/layer-codec.js';
export {
  quantizeWeights,
  calibrateActivations,
  observeWeight,
  qrange,
  QuantizedMLP,
  QUANT_METHODS,
  type QuantSpec,
  type QuantRequest,
  type QuantMethod,
  type LayerQuant,
  type ActivationParams,
} from './compress/quantize.js';
export { fakeQuant, packRows, qgemm, qparamsFromMinMax, type QParams, type QGemmOptions } from './kernels/quant.js';
export { compressedSize, type SizeReport, type SizeOptions } from './compress/size.js';
export { auditPrivacy, compareLeakage, rocAuc, rocCurve, ATTACKS, type Attack, type AttackResult, type PrivacyAudit, type AuditOptions } from './validate/privacy.js';
export { modelToOnnx, type OnnxOptions } from './io/onnx.js';
export { modelFromPytorchSafetensors, type PytorchImportOptions } from './io/pytorch.js';
export { unitImportance, layerImportance, removeLayer, IMPORTANCE_CRITERIA, type ImportanceCriterion, type ImportanceOptions, type UnitImportance, type LayerRemoval } from './compress/importance.js';
export { removeFilters, pruneFilters, filterNorms } from './compress/filters.js';
export { foldBatchNorm, hasBatchNorm, withBatchNormFolded } from './compress/fold.js';
export { filterImportance, FILTER_CRITERIA, type FilterCriterion, type FilterImportance, type FilterImportanceOptions } from './compress/filter-importance.js';
export { simplify, removeUnits, figures, type SimplifyOptions, type SimplifyResult, type SimplifyRound, type ModelFigures } from './compress/simplify.js';
export { autoCompress, holdOut, type AutoCompressOptions, type AutoCompressResult } from './auto/auto-compress.js';
export { STAGES, STEPS, describeCandidate, type Candidate, type Dimension } from './auto/candidate.js';
export { inProcessRunner, runTrial, type TrialContext, type TrialResult, type TrialRunner, type TrialSettings } from './auto/trial.js';
export type { Sensitivity, SensitivityCurve, SensitivityPoint } from './auto/sensitivity.js';
export {
  expandSweep,
  runSweepTrial,
  inProcessSweepRunner,
  summarize,
  sweepFolds,
  type Runner,
  type SweepSpec,
  type SweepConfiguration,
  type SweepTrial,
  type SweepTrialResult,
  type SweepSummary,
  type SweepContext,
} from './validate/sweep.js';
