import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements, numbers } from '../test-svg.ts';
import { GRADE_KEYS, StackedBar } from './stacked-bar.tsx';

describe('StackedBar (grade mix)', () => {
  it('splits each row into segments proportional to the counts', () => {
    const svg = String(
      StackedBar({
        id: 'mix',
        title: 'Grade mix',
        keys: GRADE_KEYS,
        bars: [
          { label: '2025-09-09', counts: { A: 6, M: 3, R: 1 } },
          { label: '2025-09-10', counts: { A: 0, M: 0, R: 2 } },
        ],
      }),
    );
    const segments = elements(svg, 'g', 'segment');
    assert.deepEqual(
      segments.map((s) => s.attrs['data-key']),
      ['A', 'M', 'R', 'R'],
    );
    const rects = elements(svg, 'rect').filter((r) => r.attrs.y !== '6'); // not the legend
    // x from 150 to 620 (470 px): 60 % / 30 % / 10 %; the second row is all R.
    assert.deepEqual(numbers(rects, 'x'), [150, 432, 573, 150]);
    assert.deepEqual(numbers(rects, 'width'), [282, 141, 47, 470]);
    assert.match(
      elements(svg, 'desc')[0]!.text,
      /2025-09-09: 10 scans, A usable 6 \(60 %\), M marginal 3 \(30 %\), R reject 1 \(10 %\)\./,
    );
    assert.ok(elements(svg, 'text').some((t) => t.text === 'A 6'));
  });

  it('shows an empty state when there is nothing to count', () => {
    const svg = String(StackedBar({ id: 'm', title: 'Grade mix', keys: GRADE_KEYS, bars: [] }));
    assert.equal(elements(svg, 'text', 'chart-empty')[0]!.text, 'No scans yet');
  });

  it('says "No scans" on a row with none', () => {
    const svg = String(
      StackedBar({
        id: 'm',
        title: 'Mix',
        keys: GRADE_KEYS,
        bars: [
          { label: 'a', counts: { A: 1 } },
          { label: 'b', counts: {} },
        ],
      }),
    );
    assert.ok(elements(svg, 'text').some((t) => t.text === 'No scans'));
  });
});
