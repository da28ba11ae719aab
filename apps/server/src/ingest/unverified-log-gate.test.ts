import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createUnverifiedLogGate } from './unverified-log-gate.ts';

test('a minute of rows at once, then the refill rate; a clock stepped back refills nothing', () => {
  let now = 1_000_000;
  const gate = createUnverifiedLogGate({ perMinute: 6, clock: () => now });
  const takes = (n: number) => Array.from({ length: n }, () => gate.take()).filter(Boolean).length;
  assert.equal(takes(10), 6, 'the burst is one minute of rows');
  now += 10_000; // one row per 10 s
  assert.equal(takes(3), 1);
  now -= 3_600_000; // an NTP step back
  assert.equal(takes(3), 0);
  now += 30_000;
  assert.equal(takes(5), 3);
  now += 3_600_000; // idle for an hour: still at most a minute's worth
  assert.equal(takes(10), 6);
});

test('perMinute 0 writes no row for an unverified request', () => {
  const gate = createUnverifiedLogGate({ perMinute: 0, clock: () => 0 });
  assert.equal(gate.take(), false);
});
