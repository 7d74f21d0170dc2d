/**
 * What a queued trial is: its kind, its context (stored once as blobs and a little JSON, named by
 * a hash of both), and the trial itself. A coordinator packs a context; a worker unpacks it once,
 * keeps it for the next trials of the same context, and runs the kind's trial function, the
 * same function the in-process runner calls, so results do not depend on where a trial ran.
 */
import { createHash } from 'node:crypto';
import type { Candidate } from '../auto/candidate.js';
import { runTrial, type TrialContext, type TrialRequest, type TrialResult, type TrialSettings } from '../auto/trial.js';
import { subset } from '../data/dataset.js';
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import type { Device } from '../gpu/device.js';
import { modelToSafetensors, readModel } from '../io/model-file.js';
import { runSweepTrial, type SweepSpec, type SweepTrial, type SweepTrialResult, sweepFolds } from '../validate/sweep.js';
import { packDataset, packRows, unpackDataset, unpackRows } from './packing.js';
import { type CvPlan, cvContext, runPlannedFold } from '../validate/cv-plan.js';

/** A context as it travels: blob hashes by role, settings, and the hash naming the whole. */
export interface ContextRef {
  hash: string;
  blobs: Record<string, string>;
  json: unknown;
}

/** A context on the coordinator before upload: blobs by role and settings. */
export interface PackedContext {
  blobs: Record<string, Uint8Array>;
  json: unknown;
}

/** An unpacked context on a worker: run trials on it, dispose it when evicted. */
export interface LoadedContext {
  run(trial: unknown): Promise<unknown>;
  dispose(): void;
}

export type KindName = 'sweep' | 'auto' | 'cv';

/** The name of a context: the hash of its blobs' hashes and its settings. */
export function contextHash(kind: KindName, blobHashes: Record<string, string>, json: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, Object.entries(blobHashes).sort(), json]))
    .digest('hex');
}

// Sweeps: the data set and the spec; the folds are made again from them.
export function packSweep(data: Dataset, spec: SweepSpec, standardize: boolean): PackedContext {
  return { blobs: { data: packDataset(data) }, json: { folds: spec.folds, seed: spec.seed ?? 1, standardize } };
}

function loadSweep(device: Device, blobs: Record<string, Uint8Array>, json: unknown): LoadedContext {
  const spec = json as SweepSpec & { standardize: boolean };
  const host = unpackDataset(blobs.data!);
  const data = new GpuDataset(device, host);
  const context = { device, data, folds: sweepFolds(host, spec), seed: spec.seed ?? 1, standardize: spec.standardize };
  return { run: (trial) => runSweepTrial(context, trial as SweepTrial), dispose: () => data.dispose() };
}

// Automated compression: the base model's file, the data, the rows, the settings and unit scores.
export async function packAuto(context: TrialContext): Promise<PackedContext> {
  const { base, data, fitRows, validationRows, unitScores, settings } = context;
  return {
    blobs: { model: await modelToSafetensors(base), data: packDataset(data.data), fitRows: packRows(fitRows), validationRows: packRows(validationRows) },
    json: { settings, unitScores: unitScores?.map((s) => Array.from(s)), speed: !!context.speedRows },
  };
}

function loadAuto(device: Device, blobs: Record<string, Uint8Array>, json: unknown): LoadedContext {
  const { settings, unitScores, speed } = json as { settings: TrialSettings; unitScores?: number[][]; speed: boolean };
  const host = unpackDataset(blobs.data!);
  const base = readModel(device, blobs.model!);
  const data = new GpuDataset(device, host);
  const validationRows = unpackRows(blobs.validationRows!);
  const context: TrialContext = {
    base,
    data,
    fitRows: unpackRows(blobs.fitRows!),
    validationRows,
    ...(speed ? { speedRows: subset(host, validationRows) } : {}),
    ...(unitScores ? { unitScores: unitScores.map((s) => Float64Array.from(s)) } : {}),
    settings,
  };
  return {
    run: async (trial) => encodeAutoResult(await runTrial(context, decodeAutoTrial(trial))),
    dispose: () => (base.dispose(), data.dispose()),
  };
}

// Cross-validation folds: the data set and the plan; the splits are made again from them.
export function packCv(data: Dataset, plan: CvPlan): PackedContext {
  return { blobs: { data: packDataset(data) }, json: plan };
}

function loadCv(device: Device, blobs: Record<string, Uint8Array>, json: unknown): LoadedContext {
  const context = cvContext(device, unpackDataset(blobs.data!), json as CvPlan);
  return { run: (trial) => runPlannedFold(context, (trial as { id: number }).id), dispose: () => context.shared?.dispose() };
}

export function loadContext(kind: KindName, device: Device, blobs: Record<string, Uint8Array>, json: unknown): LoadedContext {
  return kind === 'sweep' ? loadSweep(device, blobs, json) : kind === 'cv' ? loadCv(device, blobs, json) : loadAuto(device, blobs, json);
}

/** A trial as JSON: its parent's model file, if it has one, in base64. */
export interface AutoTrialJson {
  id: number;
  candidate: Candidate;
  from?: { candidate: Candidate; file: string };
}

export function encodeAutoTrial(t: TrialRequest): AutoTrialJson {
  return { id: t.id, candidate: t.candidate, ...(t.from ? { from: { candidate: t.from.candidate, file: base64(t.from.file) } } : {}) };
}

function decodeAutoTrial(json: unknown): TrialRequest {
  const t = json as AutoTrialJson;
  return t.from ? { ...t, from: { candidate: t.from.candidate, file: fromBase64(t.from.file) } } : { id: t.id, candidate: t.candidate };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

function fromBase64(text: string): Uint8Array {
  const b = Buffer.from(text, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A trial's result as JSON: the model file in base64. */
export function encodeAutoResult(r: TrialResult): unknown {
  return { ...r, file: base64(r.file) };
}

export function decodeAutoResult(json: unknown): TrialResult {
  const r = json as TrialResult & { file: string };
  return { ...r, file: fromBase64(r.file) };
}

export type { SweepTrialResult };
