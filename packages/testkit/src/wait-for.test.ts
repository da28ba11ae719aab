import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait-for.ts';

test('returns the first truthy value', async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
});

test('times out naming what it waited for and the last error', async () => {
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 30, intervalMs: 5, what: 'the scan row' },
    ),
    /waiting for the scan row: not yet/,
  );
});
