/**
 * The demo page (npm run demo): a small MNIST subset (a static asset) trains an MLP or a small
 * convolutional network with batch norm on WebGPU in the page, with live loss and accuracy charts;
 * the model is pruned and quantized into variants (the network's batch norms folded first) shown
 * on an accuracy-against-size chart; a digit drawn on the pad is classified by every variant.
 * Query parameters for tests: ?epochs=N&rows=N&arch=mlp|cnn.
 */
import {
  createDevice,
  MLP,
  Sequential,
  fit,
  evaluate,
  prune,
  quantizeWeights,
  compressedSize,
  compareModels,
  withBatchNormFolded,
  parseLayers,
  GpuDataset,
  type Dataset,
  type Device,
  type Model,
} from '../src/browser.js';
import { accuracySizeSpec, renderSvg, trainingCurvesSpec } from '../src/study/charts.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const EPOCHS = Number(params.get('epochs') ?? 8);
const ROWS = Number(params.get('rows') ?? 4000);

/** The models the page trains: an MLP, or a small LeNet-like network with batch norm after each convolution. */
const ARCHITECTURES = {
  mlp: { label: 'MLP 784-128-10', create: (d: Device): Model => MLP.create(d, [784, 128, 10], { seed: 1 }) },
  cnn: {
    label: 'CNN conv8k5-bn-maxpool2-conv16k5-bn-maxpool2-10',
    create: (d: Device): Model => Sequential.create(d, { input: [28, 28, 1], layers: parseLayers('conv8k5,bn,maxpool2,conv16k5,bn,maxpool2,10'), seed: 1 }),
  },
} as const;
type Architecture = keyof typeof ARCHITECTURES;

/** mnist-subset.bin: u32 train count, u32 test count, then images (784 bytes each), then labels. */
async function loadSubset(): Promise<{ train: Dataset; test: Dataset }> {
  const bytes = new Uint8Array(await (await fetch('./mnist-subset.bin')).arrayBuffer());
  const view = new DataView(bytes.buffer);
  const [nTrain, nTest] = [view.getUint32(0, true), view.getUint32(4, true)];
  const images = bytes.subarray(8, 8 + (nTrain + nTest) * 784);
  const labels = bytes.subarray(8 + (nTrain + nTest) * 784);
  const make = (from: number, n: number): Dataset => ({
    features: Float32Array.from(images.subarray(from * 784, (from + n) * 784), (v) => v / 255),
    bytes: images.slice(from * 784, (from + n) * 784),
    byteScale: 1 / 255,
    rows: n,
    cols: 784,
    labels: Int32Array.from(labels.subarray(from, from + n)),
    classes: 10,
  });
  return { train: make(0, Math.min(ROWS, nTrain)), test: make(nTrain, nTest) };
}

let device: Device;
let data: { train: Dataset; test: Dataset };
let dense: Model | undefined;
const variants: { name: string; model: Model; bytes: number; accuracy: number; interval: [number, number] }[] = [];

function status(text: string): void {
  $('status').textContent = text;
}

async function train(): Promise<void> {
  $<HTMLButtonElement>('train').disabled = true;
  $<HTMLSelectElement>('arch').disabled = true;
  dense?.dispose();
  dense = ARCHITECTURES[$<HTMLSelectElement>('arch').value as Architecture].create(device);
  const rows: { run: string; epoch: number; metric: string; value: number }[] = [];
  await fit(dense, data.train, {
    epochs: EPOCHS,
    batchSize: 64,
    learningRate: 0.05,
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: true },
    seed: 1,
    validationData: data.test,
    onEpoch: async (e) => {
      rows.push({ run: 'dense', epoch: e.epoch, metric: 'training loss', value: e.loss }, { run: 'dense', epoch: e.epoch, metric: 'test accuracy (%)', value: e.valAccuracy! * 100 });
      $('curves').innerHTML = await renderSvg(trainingCurvesSpec(rows));
      status(`epoch ${e.epoch}/${EPOCHS}: loss ${e.loss.toFixed(3)}, test accuracy ${(e.valAccuracy! * 100).toFixed(1)} %`);
    },
  });
  status(`trained: test accuracy ${((await evaluate(dense, data.test)).accuracy * 100).toFixed(1)} %`);
  $('status').dataset.state = 'trained';
  $<HTMLButtonElement>('compress').disabled = false;
  $<HTMLButtonElement>('train').disabled = false;
  $<HTMLSelectElement>('arch').disabled = false;
}

async function compress(): Promise<void> {
  $<HTMLButtonElement>('compress').disabled = true;
  for (const v of variants.splice(0)) if (v.model !== dense) v.model.dispose();
  // A size is the byte length of the model file (modelToSafetensors), which compressedSize measures.
  // Each variant against the dense model on the test images (uploaded once): its accuracy with a bootstrap interval.
  const test = new GpuDataset(device, data.test);
  const add = async (name: string, model: Model) => {
    const cmp = await compareModels(dense!, model, test, { bootstrap: 500 });
    variants.push({ name, model, bytes: (await compressedSize(model)).totalBytes, accuracy: cmp.accuracyB, interval: cmp.intervalB });
  };
  await add('dense', dense!);
  // Quantization works on folded weights: a network's batch norms go into the convolutions before them (the same predictions).
  const folded = await withBatchNormFolded(dense!);
  const int8 = folded.clone();
  await quantizeWeights(int8, { bits: 8 });
  await add('int8', int8);
  // The small network has 6,000 weights, a fifth of them in 5x5 filters: it keeps 30 % (at 10 % it fell to a third right).
  const percent = dense instanceof Sequential ? 70 : 90;
  status(`pruning ${percent} % of the weights and fine-tuning…`);
  const pruned = folded.clone();
  if (folded !== dense) folded.dispose();
  await prune(pruned, { type: 'global', sparsity: percent / 100 });
  await fit(pruned, data.train, { epochs: 1, batchSize: 64, learningRate: 0.01, seed: 2 });
  await add(`pruned ${percent} %`, pruned);
  const pruned4 = pruned.clone();
  await quantizeWeights(pruned4, { bits: 4 });
  await add('pruned + int4', pruned4);
  const shared = pruned.clone();
  await quantizeWeights(shared, { method: 'kmeans', bits: 4 });
  await add('pruned + k-means 4-bit', shared);
  test.dispose();
  $('pareto').innerHTML = await renderSvg(accuracySizeSpec(variants));
  const body = $('variants').querySelector('tbody')!;
  body.innerHTML = variants
    .map(
      (v) =>
        `<tr data-variant="${v.name}"><td>${v.name}</td><td>${v.bytes.toLocaleString('en-US')} B</td><td>${(v.accuracy * 100).toFixed(1)} %</td><td class="digit">–</td><td class="confidence">–</td></tr>`,
    )
    .join('');
  status(`${variants.length} variants ready: draw a digit and press Predict`);
  $('status').dataset.state = 'compressed';
  $<HTMLButtonElement>('compress').disabled = false;
  $<HTMLButtonElement>('predict').disabled = false;
}

/** The pad as a 28x28 MNIST-like image: the drawing's bounding box scaled into the central 20x20. */
function padImage(): Float32Array {
  const pad = $<HTMLCanvasElement>('pad');
  const src = pad.getContext('2d')!.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++)
    for (let x = 0; x < pad.width; x++) if (src.data[(y * pad.width + x) * 4]! > 0) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  const out = new Float32Array(784);
  if (x1 < 0) return out;
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const ctx = small.getContext('2d')!;
  const side = Math.max(x1 - x0, y1 - y0) + 1;
  const scale = 20 / side;
  ctx.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, 4 + (20 - (x1 - x0 + 1) * scale) / 2, 4 + (20 - (y1 - y0 + 1) * scale) / 2, (x1 - x0 + 1) * scale, (y1 - y0 + 1) * scale);
  const img = ctx.getImageData(0, 0, 28, 28).data;
  for (let i = 0; i < 784; i++) out[i] = img[i * 4]! / 255;
  return out;
}

async function predict(): Promise<void> {
  const x = padImage();
  if (!x.some((v) => v > 0)) {
    // An empty image has an answer too (the output for all-black pixels), but it means nothing.
    status('the pad is empty: draw a digit on it first, then press Predict');
    $('status').dataset.state = 'empty';
    return;
  }
  for (const v of variants) {
    const probs = await v.model.predict(x, { probabilities: true });
    let best = 0;
    for (let c = 1; c < 10; c++) if (probs[c]! > probs[best]!) best = c;
    const row = $('variants').querySelector(`tr[data-variant="${v.name}"]`)!;
    row.querySelector('.digit')!.textContent = String(best);
    row.querySelector('.confidence')!.textContent = `${(probs[best]! * 100).toFixed(0)} %`;
  }
  status('predicted by every variant');
  $('status').dataset.state = 'predicted';
}

function setUpPad(): void {
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d')!;
  ctx.lineWidth = 18;
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.strokeStyle = '#fff';
  let drawing = false;
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    ctx.beginPath();
    ctx.moveTo(e.offsetX, e.offsetY);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.lineTo(e.offsetX, e.offsetY);
    ctx.stroke();
  });
  addEventListener('pointerup', () => (drawing = false));
  $('clear').addEventListener('click', () => ctx.clearRect(0, 0, pad.width, pad.height));
}

async function main(): Promise<void> {
  setUpPad();
  try {
    device = await createDevice();
    const d = device.describe();
    $('device').textContent = `WebGPU: ${d.adapter || d.architecture || 'adapter'} (${d.featureLevel} level${d.cpuFallback ? ', CPU adapter' : ''})`;
    data = await loadSubset();
    status(`${data.train.rows} training and ${data.test.rows} test images loaded`);
    const select = $<HTMLSelectElement>('arch');
    select.innerHTML = Object.entries(ARCHITECTURES)
      .map(([key, a]) => `<option value="${key}">${a.label}</option>`)
      .join('');
    select.value = params.get('arch') === 'cnn' ? 'cnn' : 'mlp';
    $('status').dataset.state = 'ready';
    $<HTMLButtonElement>('train').disabled = false;
  } catch (e) {
    status(`shrinkray could not start: ${(e as Error).message}`);
    $('status').dataset.state = 'error';
    return;
  }
  const guard = (fn: () => Promise<void>) => () =>
    fn().catch((e: Error) => {
      status(`error: ${e.message}`);
      $('status').dataset.state = 'error';
    });
  $('train').addEventListener('click', guard(train));
  $('compress').addEventListener('click', guard(compress));
  $('predict').addEventListener('click', guard(predict));
}

void main();
