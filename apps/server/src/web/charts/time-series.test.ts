import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements, numbers } from '../test-svg.ts';
import { TimeSeriesChart } from './time-series.tsx';
import { timeTicks } from './time-ticks.ts';

const TZ = 'America/Regina'; // UTC−6 all year

describe('timeTicks', () => {
  it('puts day ticks on local midnights', () => {
    const t = timeTicks(Date.parse('2025-09-01T06:00:00Z'), Date.parse('2025-09-05T06:00:00Z'), TZ);
    assert.equal(t.unit, 'day');
    assert.deepEqual(t.labels, ['Sep 1', 'Sep 2', 'Sep 3', 'Sep 4', 'Sep 5']);
    assert.deepEqual(
      t.values.map((v) => new Date(v).toISOString().slice(11, 13)),
      ['06', '06', '06', '06', '06'],
    );
  });

  it('uses months for long spans and hours for short ones, in the farm zone', () => {
    const months = timeTicks(Date.parse('2025-01-01T06:00:00Z'), Date.parse('2025-12-31T00:00:00Z'), TZ);
    assert.equal(months.unit, 'month');
    assert.deepEqual(months.labels, ['Jan 2025', 'Mar 2025', 'May 2025', 'Jul 2025', 'Sep 2025', 'Nov 2025']);
    const hours = timeTicks(Date.parse('2025-09-01T12:00:00Z'), Date.parse('2025-09-01T18:00:00Z'), TZ);
    assert.deepEqual(hours.labels, ['06:00', '07:00', '08:00', '09:00', '10:00', '11:00', '12:00']);
  });

  it('keeps local midnight across a DST change', () => {
    const t = timeTicks(
      Date.parse('2025-11-01T04:00:00Z'),
      Date.parse('2025-11-04T05:00:00Z'),
      'America/Toronto',
    );
    assert.deepEqual(
      t.values.map((v) => new Date(v).toISOString()),
      [
        '2025-11-01T04:00:00.000Z',
        '2025-11-02T04:00:00.000Z',
        '2025-11-03T05:00:00.000Z',
        '2025-11-04T05:00:00.000Z',
      ],
    );
  });
});

describe('TimeSeriesChart', () => {
  const render = (points: { t: string; rea: number | null; fat: number | null }[]) =>
    String(
      TimeSeriesChart({
        id: 'ts',
        title: 'Tag 1042 over time',
        timeZone: TZ,
        series: [
          { quantity: 'Ribeye area', unit: 'cm²', points: points.map((p) => ({ t: p.t, value: p.rea })) },
          {
            quantity: 'Fat thickness',
            unit: 'mm',
            points: points.map((p) => ({ t: p.t, value: p.fat, missingReason: 'no pixel spacing' })),
          },
        ],
      }),
    );

  it('draws one panel per quantity, points at their time and value, a gap where a value is missing', () => {
    const svg = render([
      { t: '2025-09-01T06:00:00Z', rea: 60, fat: 4 },
      { t: '2025-09-03T06:00:00Z', rea: 80, fat: null },
      { t: '2025-09-05T06:00:00Z', rea: 70, fat: 6 },
    ]);
    const panels = svg.split('<g class="panel"').slice(1);
    assert.equal(panels.length, 2);
    const rea = elements(panels[0]!, 'circle', 'point');
    // x: 64..620 over Sep 1–5; REA panel y: 60..80 over 164..14 (top 14, height 150).
    assert.deepEqual(numbers(rea, 'cx'), [64, 342, 620]);
    assert.deepEqual(numbers(rea, 'cy'), [164, 14, 89]);
    assert.equal(elements(panels[0]!, 'path', 'line')[0]!.attrs.d, 'M64,164L342,14L620,89');
    // Fat: the missing middle value breaks the line and gets a marker, not a point at 0.
    assert.equal(elements(panels[1]!, 'circle', 'point').length, 2);
    assert.equal(elements(panels[1]!, 'path', 'line')[0]!.attrs.d!.match(/M/g)!.length, 2);
    assert.equal(
      elements(panels[1]!, 'title').at(-2)!.text,
      '2025-09-03 00:00 CST: no value (no pixel spacing)',
    );
    assert.match(
      elements(svg, 'desc')[0]!.text,
      /Ribeye area \(cm²\): 2025-09-01 60, 2025-09-03 80, 2025-09-05 70\./,
    );
    assert.match(elements(svg, 'desc')[0]!.text, /1 scan without a value/);
  });

  it('handles no scans and a single scan', () => {
    assert.equal(elements(render([]), 'text', 'chart-empty')[0]!.text, 'No scans yet');
    const one = render([{ t: '2025-09-03T06:00:00Z', rea: 80, fat: 5 }]);
    assert.deepEqual(numbers(elements(one, 'circle', 'point'), 'cx'), [342, 342]);
  });
});
