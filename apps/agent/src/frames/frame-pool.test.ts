import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFramePool } from './frame-pool.ts';

test('a released buffer is handed out again for the same size, never for another size', () => {
  const pool = createFramePool();
  const a = pool.acquire(12);
  pool.release(a);
  assert.equal(pool.acquire(8).length, 8, 'another size gets a new buffer');
  assert.equal(pool.acquire(12), a);
  assert.deepEqual(pool.stats(), { allocated: 2, reused: 1, free: 0 });
});

test('foreign buffers and double releases are ignored (one buffer must never back two frames)', () => {
  const pool = createFramePool();
  pool.release(new Uint8Array(12));
  const a = pool.acquire(12);
  pool.release(a);
  pool.release(a);
  assert.equal(pool.stats().free, 1);
  assert.equal(pool.acquire(12), a);
  assert.notEqual(pool.acquire(12), a);
});

test('at most maxFree buffers wait in the pool; the surplus of a burst is left to the GC', () => {
  const pool = createFramePool({ maxFree: 2 });
  const bufs = [pool.acquire(4), pool.acquire(4), pool.acquire(4)];
  for (const b of bufs) pool.release(b);
  assert.equal(pool.stats().free, 2);
});
