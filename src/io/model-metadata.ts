/**
 * What a model file keeps about its data, so new data is prepared as the training data was:
 * the standardization of CSV features (`standardize`), the class names of the outputs
 * (`classes`, in output order), the data set's name (`data`) and a note. Written as safetensors
 * metadata strings, read back with every field checked.
 */
import { DataFormatError } from '../errors.js';
import { Standardizer } from '../data/csv.js';

export interface Standardization {
  mean: number[];
  std: number[];
}

export interface ModelInfo {
  standardizer?: Standardization | undefined;
  /** The labels' class names, output by output. */
  classNames?: string[] | undefined;
  /** Where the training data came from (a CSV path, 'mnist'). */
  data?: string | undefined;
  note?: string | undefined;
}

/** The metadata strings of `info`, with the time the file is made. */
export function metadataOf(info: ModelInfo): Record<string, string> {
  const metadata: Record<string, string> = { created: new Date().toISOString() };
  if (info.standardizer) metadata.standardize = JSON.stringify(info.standardizer);
  if (info.classNames) metadata.classes = JSON.stringify(info.classNames);
  if (info.data) metadata.data = info.data;
  if (info.note) metadata.note = info.note;
  return metadata;
}

function json(metadata: Record<string, string>, key: string): unknown {
  try {
    return JSON.parse(metadata[key]!);
  } catch {
    throw new DataFormatError(`the '${key}' metadata is not valid JSON.`);
  }
}

/**
 * The data record of a model file's metadata, checked against the model's inputs and outputs.
 * A model trained on CSV features without its standardization is refused: new rows would be
 * scored unscaled.
 */
export function infoOf(metadata: Record<string, string>, inputs: number, outputs: number): ModelInfo {
  if (metadata.standardize === undefined && /\.csv$/i.test(metadata.data ?? ''))
    throw new DataFormatError(`trained on ${metadata.data} but its standardization record is missing, so its inputs cannot be scaled as in training.`);
  const info: ModelInfo = { data: metadata.data, note: metadata.note };
  if (metadata.standardize !== undefined) {
    const raw = json(metadata, 'standardize') as { mean?: unknown; std?: unknown } | null;
    try {
      const s = Standardizer.of({ mean: raw?.mean as number[], std: raw?.std as number[] });
      info.standardizer = { mean: Array.from(s.mean), std: Array.from(s.std) };
    } catch (e) {
      throw new DataFormatError(`the standardization in its metadata is unusable (${(e as Error).message})`);
    }
    if (info.standardizer.mean.length !== inputs) throw new DataFormatError(`its standardization has ${info.standardizer.mean.length} columns, the model ${inputs} inputs.`);
  }
  if (metadata.classes !== undefined) {
    const raw = json(metadata, 'classes');
    if (!Array.isArray(raw) || !raw.every((c) => typeof c === 'string') || new Set(raw).size !== raw.length) throw new DataFormatError(`the 'classes' metadata must list distinct class names.`);
    if (raw.length > outputs) throw new DataFormatError(`${raw.length} class names for ${outputs} outputs.`);
    info.classNames = raw as string[];
  }
  return info;
}
