/** Data sets and row lists as bytes for the blob store (safetensors, so any reader can look inside). */
import type { Dataset } from '../data/dataset.js';
import { decodeSafetensors, encodeSafetensors, tensorArray, type TensorToWrite } from '../io/safetensors.js';

/** Features from bytes as datasetFromIdx makes them (byte / 255), so a worker's rows are bit for bit the coordinator's. */
function fromBytes(bytes: Uint8Array, byteScale: number | undefined): Float32Array | undefined {
  const divisor = Math.round(1 / (byteScale ?? 1 / 255));
  if (Math.abs(1 / divisor - (byteScale ?? 1 / 255)) > 1e-12) return undefined;
  const f = new Float32Array(bytes.length);
  for (let i = 0; i < f.length; i++) f[i] = bytes[i]! / divisor;
  return f;
}

/** The data set as bytes: image bytes when its features are exactly those bytes scaled (4x smaller), else float32. */
export function packDataset(d: Dataset): Uint8Array {
  const rebuilt = d.bytes ? fromBytes(d.bytes, d.byteScale) : undefined;
  const exact = !!rebuilt && rebuilt.every((v, i) => v === d.features[i]);
  const tensors: Record<string, TensorToWrite> = exact
    ? { bytes: { dtype: 'U8', shape: [d.rows, d.cols], data: d.bytes! } }
    : { features: { dtype: 'F32', shape: [d.rows, d.cols], data: d.features } };
  if (d.labels) tensors.labels = { dtype: 'I32', shape: [d.rows], data: d.labels };
  if (d.targets) tensors.targets = { dtype: 'F32', shape: [d.rows, d.targetCols ?? 0], data: d.targets };
  const info = { rows: d.rows, cols: d.cols, classes: d.classes, classNames: d.classNames, targetCols: d.targetCols, byteScale: d.byteScale, imageShape: d.imageShape };
  return encodeSafetensors(tensors, { dataset: JSON.stringify(info) });
}

export function unpackDataset(bytes: Uint8Array): Dataset {
  const file = decodeSafetensors(bytes);
  const info = JSON.parse(file.metadata.dataset ?? '{}') as Omit<Dataset, 'features'>;
  const raw = file.tensors.has('bytes') ? tensorArray(file, 'bytes', 'U8') : undefined;
  const features = raw ? fromBytes(raw, info.byteScale)! : tensorArray(file, 'features', 'F32');
  const d: Dataset = { ...info, features, ...(raw ? { bytes: raw } : {}) };
  if (!raw) delete d.bytes;
  if (file.tensors.has('labels')) d.labels = tensorArray(file, 'labels', 'I32');
  if (file.tensors.has('targets')) d.targets = tensorArray(file, 'targets', 'F32');
  for (const key of Object.keys(d) as (keyof Dataset)[]) if (d[key] === undefined || d[key] === null) delete d[key];
  return d;
}

export function packRows(rows: Uint32Array): Uint8Array {
  return encodeSafetensors({ rows: { dtype: 'U32', shape: [rows.length], data: rows } });
}

export function unpackRows(bytes: Uint8Array): Uint32Array {
  return tensorArray(decodeSafetensors(bytes), 'rows', 'U32');
}
