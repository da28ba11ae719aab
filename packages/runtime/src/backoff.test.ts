import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, sleep } from './backoff.ts';

test('delay grows exponentially to the cap with full jitter', () => {
  const top = (attempt: number) =>
    backoffDelay(attempt, { baseMs: 1000, capMs: 300_000, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3].map(top), [999, 1999, 3999, 7999]);
  assert.equal(top(9), 299_999);
  assert.equal(top(5000), 299_999, 'huge attempt counts stay capped, never Infinity/NaN');
  assert.equal(backoffDelay(4, { random: () => 0 }), 0, 'full jitter reaches zero');
});

test('sleep rejects with the abort reason', async () => {
  const controller = new AbortController();
  const pending = sleep(10_000, controller.signal);
  controller.abort(new Error('stop'));
  await assert.rejects(pending, /stop/);
});
