import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startsWithCalendarDate } from './calendar-date.ts';

test('a real calendar day, alone or starting a time, is one; an impossible or malformed one is not', () => {
  for (const ok of ['2025-03-02', '2024-02-29', '2024-02-29T23:59:59Z', '2000-12-31', '0001-01-01'])
    assert.equal(startsWithCalendarDate(ok), true, ok);
  for (const bad of [
    '2025-02-30',
    '2023-02-29',
    '2025-13-01',
    '2025-00-10',
    '2025-04-31',
    '2025-1-01',
    'March 7',
    '',
  ])
    assert.equal(startsWithCalendarDate(bad), false, bad);
});
