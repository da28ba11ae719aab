import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScratchBuffer } from './scratch-buffer.ts';

test('take() returns the same memory from call to call, grown when asked for more', () => {
  const scratch = createScratchBuffer(Float64Array);
  const a = scratch.take(10);
  a[3] = 7;
  const b = scratch.take(6);
  assert.equal(b.length, 6);
  assert.equal(b[3], 7, 'the kept memory, holding what the last call left');
  assert.equal(b.buffer, a.buffer);
  const c = scratch.take(100);
  assert.equal(c.length, 100);
  assert.notEqual(c.buffer, a.buffer, 'grown');
  assert.equal(scratch.take(50).buffer, c.buffer);
});

test('above maxBytes, a fresh zeroed array each time and nothing kept', () => {
  const scratch = createScratchBuffer(Uint8Array, { maxBytes: 64 });
  const small = scratch.take(64);
  small.fill(9);
  const big = scratch.take(65);
  assert.ok(big.every((v) => v === 0));
  assert.notEqual(scratch.take(65).buffer, big.buffer);
  assert.equal(scratch.take(64).buffer, small.buffer, 'the kept array is still the small one');
  // maxBytes counts bytes, not elements: 9 float64 = 72 bytes.
  const floats = createScratchBuffer(Float64Array, { maxBytes: 64 });
  assert.notEqual(floats.take(9).buffer, floats.take(9).buffer);
  assert.equal(floats.take(8).buffer, floats.take(8).buffer);
});
