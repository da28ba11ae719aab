import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryExhaustedError, retry } from './retry.ts';

class Transient extends Error {}

function fakeTime() {
  let t = 0;
  const waits: number[] = [];
  return {
    now: () => t,
    wait: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

test('retries transient failures and returns the first success', async () => {
  const time = fakeTime();
  let calls = 0;
  const result = await retry(
    async () => {
      calls++;
      if (calls < 3) throw new Transient('flaky');
      return 'ok';
    },
    { isRetryable: (e) => e instanceof Transient, random: () => 0.5, baseMs: 100, ...time },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(time.waits, [50, 100]);
});

test('a permanent failure is rethrown at once', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new Error('422 rejected');
      },
      { isRetryable: (e) => e instanceof Transient },
    ),
    /422 rejected/,
  );
  assert.equal(calls, 1);
});

test('the budget bounds total time and the last wait is trimmed to it', async () => {
  const time = fakeTime();
  const error = await retry(
    async () => {
      throw new Transient('down');
    },
    { isRetryable: () => true, budgetMs: 5000, baseMs: 1000, random: () => 0.999, ...time },
  ).catch((e: unknown) => e);
  assert.ok(error instanceof RetryExhaustedError);
  assert.match(error.message, /down/);
  assert.equal(
    time.waits.reduce((a, b) => a + b, 0),
    5000,
  );
});

test('maxAttempts bounds attempts', async () => {
  let calls = 0;
  const time = fakeTime();
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new Transient('x');
      },
      { isRetryable: () => true, maxAttempts: 4, ...time },
    ),
    RetryExhaustedError,
  );
  assert.equal(calls, 4);
});
