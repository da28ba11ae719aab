import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements } from '../test-svg.ts';
import type { ScanRow } from '../view-types.ts';
import { GradeBadge } from './grade-badge.tsx';
import { Measurement } from './measurement.tsx';
import { ScansTable, scanRowEvent } from './scans-table.tsx';

const graded: ScanRow = {
  id: 'a1b2',
  captureId: 'cap_1757423584',
  capturedAt: '2025-09-09T14:18:32Z',
  farmTz: 'America/Toronto',
  status: 'graded',
  grade: 'M',
  gradeReasons: ['low_contrast', 'new_reason_code'],
  reaCm2: 81.44,
  fatMm: null,
  missingReason: 'no pixel spacing',
  thumbUrl: 'https://s3.test/thumb.png?X-Amz-Signature=abc&x=1',
  farmName: 'North Farm',
  animalTag: '1042',
};
const waiting: ScanRow = {
  ...graded,
  id: 'c3',
  status: 'ingested',
  grade: null,
  gradeReasons: [],
  reaCm2: null,
  fatMm: null,
  missingReason: undefined,
  thumbUrl: null,
  capturedAt: null,
};

describe('Measurement and GradeBadge', () => {
  it('shows a value with its unit, and a missing one as — with the reason, never 0', () => {
    assert.equal(String(Measurement({ value: 81.44, unit: 'cm²' })), '<span class="measure">81.4 cm²</span>');
    assert.equal(String(Measurement({ value: 0, unit: 'mm' })), '<span class="measure">0.0 mm</span>');
    const missing = String(Measurement({ value: null, unit: 'mm', missingReason: 'no pixel spacing' }));
    assert.ok(
      missing.includes('—') && missing.includes('no value') && missing.includes('(no pixel spacing)'),
    );
    assert.ok(!/\b0(\.0)?\b/.test(missing));
    assert.ok(String(Measurement({ value: Number.NaN, unit: 'mm' })).includes('—'));
  });

  it('says the grade in words, with reasons in words (unknown codes too)', () => {
    const html = String(
      GradeBadge({ grade: 'R', reasons: ['not_a_ribeye_view', 'some_new_code'], showReasons: true }),
    );
    assert.ok(html.includes('class="grade grade-r"'));
    assert.ok(html.includes('Grade R, </span>reject'));
    assert.deepEqual(
      elements(html, 'li').map((l) => l.text),
      ['not a ribeye view', 'some new code'],
    );
    assert.equal(String(GradeBadge({ grade: null })), '<span class="grade grade-none">not graded</span>');
  });
});

describe('ScansTable', () => {
  it('renders one row per scan with labels for the phone layout, local time and live-update hooks', () => {
    const html = String(ScansTable({ rows: [graded, waiting], liveSrc: '/scans/events?farm=f1' }));
    assert.equal(elements(html, 'table')[0]!.attrs['data-live-src'], '/scans/events?farm=f1');
    const rows = elements(html, 'tr').slice(1);
    assert.deepEqual(
      rows.map((r) => [r.attrs['data-scan-id'], r.attrs['data-captured-at']]),
      [
        ['a1b2', '2025-09-09T14:18:32.000Z'],
        ['c3', ''],
      ],
    );
    const labels = elements(html, 'td')
      .slice(0, 9)
      .map((td) => td.attrs['data-label']);
    assert.deepEqual(labels, [
      'Image',
      'Captured',
      'Capture',
      'Farm',
      'Animal',
      'Status',
      'Grade',
      'Ribeye area',
      'Fat',
    ]);
    assert.equal(elements(html, 'time')[0]!.attrs.datetime, '2025-09-09T14:18:32Z');
    const time = /<time [^>]*>(.*?)<\/time>/.exec(html)?.[1] ?? '';
    assert.equal(time.replace(/<[^>]*>/g, ''), '2025-09-09 10:18 EDT');
    // The date is one piece a narrow cell keeps whole.
    assert.equal(elements(html, 'span', 'local-date')[0]!.text, '2025-09-09');
    assert.equal(elements(html, 'img', 'thumb')[0]!.attrs.src, graded.thumbUrl);
    assert.ok(html.includes('81.4 cm²') && html.includes('(no pixel spacing)'));
    assert.ok(
      html.includes('waiting for grading') &&
        html.includes('(not graded yet)') &&
        html.includes('unknown time'),
    );
    assert.equal(elements(html, 'a').find((a) => a.attrs.href === '/scans/a1b2') !== undefined, true);
    assert.ok(html.includes('data-live-status'));
  });

  it('makes the SSE event from the same row markup', () => {
    const event = scanRowEvent(graded, '17');
    assert.equal(event.event, 'scan');
    assert.equal(event.id, '17');
    const data = event.data as { id: string; html: string; capturedAt: string; label: string };
    assert.equal(data.id, 'a1b2');
    assert.equal(data.capturedAt, '2025-09-09T14:18:32.000Z');
    assert.equal(data.label, 'Scan cap_1757423584 graded');
    const table = String(ScansTable({ rows: [graded] }));
    assert.ok(table.includes(data.html), 'the event carries exactly the row the list renders');
  });
});
