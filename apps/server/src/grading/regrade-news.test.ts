import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resultNews } from './regrade-news.ts';

const m = (reaCm2: number | null, fatMm: number | null = 4.6) => ({ grade: 'M' as const, reaCm2, fatMm });

test('a first result is always news; R also rejects', () => {
  assert.deepEqual(resultNews('ingest', null, m(53)), {
    scanGraded: true,
    scanRejected: false,
    why: 'first_result',
  });
  assert.equal(resultNews('regrade', null, { ...m(null), grade: 'R' }).scanRejected, true);
  // An ingest job (a retry of it included) notifies whatever was there before.
  assert.equal(resultNews('ingest', m(53), m(53)).scanGraded, true);
});

test('a regrade notifies only past the tolerances, or when the grade or a figure’s presence changed', () => {
  assert.equal(resultNews('regrade', m(53.07), m(54.9, 5.5)).scanGraded, false);
  assert.equal(resultNews('regrade', m(53), m(55.1)).why, 'regrade_changed:rea_cm2');
  assert.equal(resultNews('regrade', m(53, 4.6), m(53, 5.7)).why, 'regrade_changed:fat_thickness_mm');
  assert.equal(resultNews('regrade', m(53), m(null)).why, 'regrade_changed:rea_cm2');
  assert.equal(resultNews('regrade', m(53), { ...m(53), grade: 'A' }).why, 'regrade_changed:grade');
});

test('a regrade sends scan_rejected only when the grade became R', () => {
  const r = { grade: 'R' as const, reaCm2: null, fatMm: null };
  assert.deepEqual(resultNews('regrade', r, r), {
    scanGraded: false,
    scanRejected: false,
    why: 'regrade_unchanged',
  });
  assert.deepEqual(resultNews('regrade', m(53), r), {
    scanGraded: true,
    scanRejected: true,
    why: 'regrade_changed:grade,rea_cm2,fat_thickness_mm',
  });
  assert.equal(resultNews('regrade', r, m(53)).scanRejected, false);
});
