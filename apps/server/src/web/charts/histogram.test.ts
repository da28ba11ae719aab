import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements, groupTexts, numbers } from '../test-svg.ts';
import { Histogram, histogramBins } from './histogram.tsx';

const render = (values: (number | null)[], binCount?: number) =>
  String(
    Histogram({ id: 'rea', title: 'Ribeye area', quantity: 'Ribeye area', unit: 'cm²', values, binCount }),
  );

describe('histogramBins', () => {
  it('bins at round boundaries, last bin closed, missing counted apart', () => {
    const { bins, step, missing } = histogramBins([1, 2, 2, 3, 3, 3, null, Number.NaN], 3);
    assert.equal(step, 0.5);
    assert.deepEqual(bins, [
      { x0: 1, x1: 1.5, count: 1 },
      { x0: 1.5, x1: 2, count: 0 },
      { x0: 2, x1: 2.5, count: 2 },
      { x0: 2.5, x1: 3, count: 3 },
    ]);
    assert.equal(missing, 2);
  });

  it('counts every one of many values once', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 60 + ((i * 37) % 400) / 10);
    const { bins } = histogramBins(values);
    assert.equal(
      bins.reduce((s, b) => s + b.count, 0),
      1000,
    );
    assert.ok(bins.length >= 5 && bins.length <= 22, `${bins.length} bins`);
  });
});

describe('Histogram', () => {
  it('draws bars whose heights are proportional to the counts, on a zero baseline', () => {
    const svg = render([1, 2, 2, 3, 3, 3], 3);
    const bars = elements(svg, 'rect', 'bar');
    // Plot box: x 64..620, y 16..264 (248 px); count axis 0..3.
    assert.deepEqual(numbers(bars, 'data-count'), [1, 0, 2, 3]);
    assert.deepEqual(numbers(bars, 'height'), [82.67, 0, 165.33, 248]);
    assert.deepEqual(numbers(bars, 'y'), [181.33, 264, 98.67, 16]);
    assert.deepEqual(numbers(bars, 'x'), [65, 204, 343, 482]);
    assert.deepEqual(numbers(bars, 'width'), [137, 137, 137, 137]);
    assert.deepEqual(groupTexts(svg, 'axis-x'), ['1.0', '1.5', '2.0', '2.5', '3.0', 'Ribeye area (cm²)']);
    assert.deepEqual(groupTexts(svg, 'axis-y'), ['0', '1', '2', '3', 'Number of scans']);
    assert.match(elements(svg, 'desc')[0]!.text, /^6 scans; ribeye area from 1 to 3 cm², median 2.5 cm²\./);
    assert.equal(elements(svg, 'svg')[0]!.attrs['aria-labelledby'], 'rea-title');
  });

  it('says how many values are missing instead of drawing them as 0', () => {
    const svg = render([70, 72, null, null]);
    const bars = elements(svg, 'rect', 'bar');
    assert.equal(
      numbers(bars, 'data-count').reduce((a, b) => a + b, 0),
      2,
    );
    assert.equal(elements(svg, 'p', 'chart-note')[0]!.text, '2 scans without a value are not drawn.');
    assert.ok(!/\b0\.0\b/.test(groupTexts(svg, 'axis-x').join(' ')), 'no bin at 0');
  });

  it('renders an empty state for no values and an axis for one value', () => {
    const empty = render([]);
    assert.equal(elements(empty, 'text', 'chart-empty')[0]!.text, 'No ribeye area values yet');
    assert.equal(elements(empty, 'rect', 'bar').length, 0);
    const one = render([81.4]);
    const bars = elements(one, 'rect', 'bar');
    assert.equal(
      numbers(bars, 'data-count').reduce((a, b) => a + b, 0),
      1,
    );
    assert.equal(Math.max(...numbers(bars, 'height')), 248);
    assert.ok(groupTexts(one, 'axis-x').length >= 3);
  });

  it('escapes text it is given', () => {
    const svg = String(
      Histogram({ id: 'x', title: '<script>alert(1)</script>', quantity: 'A', unit: 'u', values: [1] }),
    );
    assert.ok(!svg.includes('<script>'));
    assert.ok(svg.includes('&lt;script&gt;'));
  });
});
