import { describe, expect, it } from 'vitest';
import { parseCsv, Standardizer } from '../src/data/csv.js';
import { DataFormatError, InvalidArgumentError } from '../src/errors.js';
import { MLP } from '../src/nn/mlp.js';
import { fit } from '../src/nn/train.js';
import { evaluate } from '../src/nn/evaluate.js';
import { Random } from '../src/random.js';
import { useDevice } from './helpers.js';

describe('CSV', () => {
  const text = 'width,"height, cm",species\n1.5,2,setosa\r\n3,4.25,"versicolor"\n5,6,setosa\n';

  it('reads numeric features, a label column by name or index, and maps string labels to ids', () => {
    for (const label of ['species', 2]) {
      const d = parseCsv(text, { label });
      expect(d.featureNames).toEqual(['width', 'height, cm']);
      expect([d.rows, d.cols, d.classes]).toEqual([3, 2, 2]);
      expect(Array.from(d.features)).toEqual([1.5, 2, 3, 4.25, 5, 6]);
      expect(Array.from(d.labels!)).toEqual([0, 1, 0]);
      expect(d.classNames).toEqual(['setosa', 'versicolor']);
    }
  });

  it('keeps whole-number labels as class ids and treats other numbers as regression targets', () => {
    const ids = parseCsv('a,b,y\n1,2,2\n3,4,0\n', { label: 'y' });
    expect(Array.from(ids.labels!)).toEqual([2, 0]);
    expect(ids.classes).toBe(3);
    const reg = parseCsv('a,y\n1,0.5\n2,1.5\n', { label: 'y' });
    expect(Array.from(reg.targets!)).toEqual([0.5, 1.5]);
    expect(reg.targetCols).toBe(1);
    const forced = parseCsv('a,y\n1,2\n2,3\n', { label: 'y', task: 'regression' });
    expect([forced.targets, forced.targetCols, forced.labels]).toEqual([Float32Array.from([2, 3]), 1, undefined]);
    expect(parseCsv('a,y\n-1.5e3,.5\n+2.,1E-2\n', { label: 'y', task: 'regression' }).features).toEqual(Float32Array.from([-1500, 2])); // decimal forms
  });

  it('names the line and column of a missing or non-numeric value', () => {
    const cases: [string, RegExp][] = [
      ['a,b,y\n1,2,x\n3,,x\n', /line 3, column 'b': missing value/],
      ['a,b,y\n1,2,x\n3,abc,x\n', /line 3, column 'b': 'abc' is not a number/],
      ['a,b,y\n1,0x1F,x\n', /line 2, column 'b': '0x1F' is not a number/], // Number() would read 31
      ['a,b,y\n0b11,2,x\n', /line 2, column 'a': '0b11' is not a number/],
      ['a,b,y\n1,Infinity,x\n', /'Infinity' is not a number/],
      ['a,b,y\n1,2,x\n3,4\n', /line 3: 2 fields, the header has 3/],
      ['a,b,y\n1,2,\n', /line 2, column 'y': the label is missing/],
      ['a,b,y\n', /need a header row and at least one data row/],
      ['a,b,y\n1,"2,x\n', /CSV line/],
    ];
    for (const [csv, message] of cases) {
      expect(() => parseCsv(csv, { label: 'y' })).toThrow(DataFormatError);
      expect(() => parseCsv(csv, { label: 'y' })).toThrow(message);
    }
    expect(() => parseCsv(text, { label: 'species', classNames: ['setosa'] })).toThrow(/line 3: class 'versicolor' is not one of setosa/);
    expect(() => parseCsv(text, { label: 'colour' })).toThrow(InvalidArgumentError);
    expect(() => parseCsv(text, { label: 'colour' })).toThrow(/columns: width, height, cm, species/);
  });

  it('standardizes with statistics fitted on the training data only', () => {
    const train = parseCsv('a,b,y\n1,10,0\n3,10,1\n', { label: 'y' });
    const test = parseCsv('a,b,y\n5,7,0\n', { label: 'y' });
    const s = Standardizer.fit(train);
    expect(Array.from(s.mean)).toEqual([2, 10]);
    expect(Array.from(s.std)).toEqual([1, 1]); // b is constant: std 1, not 0
    expect(Array.from(s.transform(train).features)).toEqual([-1, 0, 1, 0]);
    expect(Array.from(s.transform(test).features)).toEqual([3, -3]);
    // Rebuilt from saved statistics (a model file's), it transforms the same way.
    const saved = Standardizer.of({ mean: Array.from(s.mean), std: Array.from(s.std) });
    expect(Array.from(saved.transform(test).features)).toEqual([3, -3]);
    expect(() => Standardizer.of({ mean: [1, 2], std: [1, 0] })).toThrow(/std > 0/);
    expect(() => Standardizer.of({ mean: [1], std: [1, 2] })).toThrow(/one length/);
  });
});

describe('CSV to a trained model', () => {
  const ctx = useDevice('llvmpipe');

  it('trains on standardized CSV data with string classes', async () => {
    const r = new Random(4);
    const names = ['low', 'mid', 'high'];
    const line = () => {
      const x = r.uniform(0, 300),
        y = r.uniform(-5, 5);
      return `${x.toFixed(3)},${y.toFixed(3)},${names[Math.min(2, Math.floor(x / 100))]}`;
    };
    const csv = (n: number) => ['size,noise,class', ...Array.from({ length: n }, line)].join('\n');
    const train = parseCsv(csv(300), { label: 'class' });
    const test = parseCsv(csv(100), { label: 'class', classNames: train.classNames });
    const s = Standardizer.fit(train);
    const model = MLP.create(ctx.device, [2, 16, 3], { seed: 3 });
    await fit(model, s.transform(train), { epochs: 30, batchSize: 20, learningRate: 0.1, optimizer: { type: 'sgd', momentum: 0.9 } });
    expect((await evaluate(model, s.transform(test))).accuracy).toBeGreaterThan(0.9);
    model.dispose();
  });
});
