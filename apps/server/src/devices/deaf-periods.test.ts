import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDeafPeriod, type DeafPeriod, forgetDeafPeriods } from './deaf-periods.ts';

// The periods a fleet check keeps of the times its process could not hear devices (review r11 F1).

const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, s));
const period = (from: number | null, to: number): DeafPeriod => ({
  from: from === null ? null : at(from),
  to: at(to),
});

test('a period starting where the last ended joins it; a later one is added', () => {
  const start = [period(null, 0)];
  assert.deepEqual(addDeafPeriod(start, period(0, 30)), [period(null, 30)]);
  assert.deepEqual(addDeafPeriod(start, period(10, 30)), [period(null, 0), period(10, 30)]);
});

test('past 32 periods the two oldest merge (the time between counts as deaf)', () => {
  let deaf: DeafPeriod[] = [];
  for (let i = 0; i < 33; i++) deaf = addDeafPeriod(deaf, period(i * 10, i * 10 + 5));
  assert.equal(deaf.length, 32);
  assert.deepEqual(deaf.slice(0, 2), [period(0, 15), period(20, 25)]);
});

test('a period is forgotten once more than the threshold of listening followed it, later deaf time not counted', () => {
  const deaf = [period(null, 0), period(40, 50)];
  // Listening after the start-up period: 0→40 and 50→now.
  assert.deepEqual(forgetDeafPeriods(deaf, at(70), 60_000), deaf, '40 + 20 s: not more than 60');
  assert.deepEqual(forgetDeafPeriods(deaf, at(71), 60_000), [period(40, 50)], '40 + 21 s');
  assert.deepEqual(forgetDeafPeriods(deaf, at(111), 60_000), [], '61 s after the last one');
});
