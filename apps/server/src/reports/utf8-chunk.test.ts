import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8Chunk } from './utf8-chunk.ts';

test('utf8Chunk grows past its first size and keeps every byte of multi-byte text', () => {
  const chunk = utf8Chunk(1024);
  const lines = Array.from({ length: 500 }, (_, i) => `${i},Ferme Château-Rivière 🐄,"a ""b"""\r\n`);
  for (const line of lines) chunk.write(line);
  const expected = Buffer.from(lines.join(''), 'utf8');
  assert.ok(expected.length > 1024 * 16, 'the test writes well past the first size');
  assert.equal(chunk.length, expected.length);
  assert.deepEqual(Buffer.from(chunk.take()), expected);
});

test('utf8Chunk hands out a copy and starts again: later writes never change a chunk taken', () => {
  const text = utf8Chunk(0);
  text.write('é'.repeat(5000));
  const first = text.take();
  assert.equal(text.length, 0);
  text.write('x'.repeat(100));
  assert.equal(new TextDecoder().decode(first), 'é'.repeat(5000));
  assert.equal(new TextDecoder().decode(text.take()), 'x'.repeat(100));
  assert.equal(text.take().length, 0);
});
