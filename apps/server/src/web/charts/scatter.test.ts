import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements, groupTexts, numbers } from '../test-svg.ts';
import { Scatter, type ScatterPoint } from './scatter.tsx';

const render = (points: ScatterPoint[]) =>
  String(
    Scatter({
      id: 'sc',
      title: 'REA vs fat',
      x: { quantity: 'Fat thickness', unit: 'mm' },
      y: { quantity: 'Ribeye area', unit: 'cm²' },
      points,
    }),
  );

describe('Scatter', () => {
  it('places points on the nice-tick scales', () => {
    // x ticks 2..10 (step 2) over 64..620; y ticks 60..100 (step 10) over 264..16.
    const svg = render([
      { x: 2, y: 60, label: 'Tag 1' },
      { x: 10, y: 100, label: 'Tag 2', href: '/animals/2' },
      { x: 6, y: 80, highlight: true },
    ]);
    const dots = elements(svg, 'circle', 'point');
    assert.deepEqual(numbers(dots, 'cx'), [64, 620, 342]);
    assert.deepEqual(numbers(dots, 'cy'), [264, 16, 140]);
    assert.deepEqual(numbers(dots, 'r'), [4, 4, 6]);
    assert.deepEqual(groupTexts(svg, 'axis-x'), ['2', '4', '6', '8', '10', 'Fat thickness (mm)']);
    assert.deepEqual(groupTexts(svg, 'axis-y'), ['60', '70', '80', '90', '100', 'Ribeye area (cm²)']);
    assert.equal(elements(svg, 'a')[0]!.attrs.href, '/animals/2');
    assert.equal(elements(svg, 'title')[2]!.text, 'Tag 2: 10 mm, 100 cm²');
  });

  it('leaves out points missing a value and says so', () => {
    const svg = render([
      { x: 5, y: 70 },
      { x: null, y: 80 },
      { x: 3, y: undefined },
    ]);
    assert.equal(elements(svg, 'circle', 'point').length, 1);
    assert.equal(elements(svg, 'p', 'chart-note')[0]!.text, '2 scans without both values are not drawn.');
  });

  it('handles zero and one point', () => {
    assert.equal(elements(render([]), 'text', 'chart-empty')[0]!.text, 'Nothing to plot yet');
    const one = elements(render([{ x: 5, y: 70 }]), 'circle', 'point')[0]!;
    // A single point sits inside the widened axes, not on an edge.
    assert.ok(Number(one.attrs.cx) > 64 && Number(one.attrs.cx) < 620);
    assert.ok(Number(one.attrs.cy) > 16 && Number(one.attrs.cy) < 264);
  });

  it('draws many points', () => {
    const points = Array.from({ length: 500 }, (_, i) => ({ x: (i % 50) / 5, y: 60 + (i % 40) }));
    assert.equal(elements(render(points), 'circle', 'point').length, 500);
  });
});
