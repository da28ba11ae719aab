import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nulProblems } from './json-nul.ts';

test('every NUL in strings and property names, in document order, with escaped pointers', () => {
  const value = { a: 'x\u0000', 'b\u0000': { 'c/d': ['ok', 'y\u0000'] }, e: 'fine', f: '\u0000' };
  assert.deepEqual(nulProblems(value), [
    { pointer: '/a', message: 'must not contain the NUL character (U+0000)' },
    { pointer: '', message: 'property names must not contain U+0000' },
    { pointer: '/b\u0000/c~1d/1', message: 'must not contain the NUL character (U+0000)' },
    { pointer: '/f', message: 'must not contain the NUL character (U+0000)' },
  ]);
  assert.deepEqual(nulProblems({ ok: ['a', 1, null, { b: true }] }), []);
  assert.deepEqual(nulProblems('a\u0000', { pointer: '/meta_json' }), [
    { pointer: '/meta_json', message: 'must not contain the NUL character (U+0000)' },
  ]);
});

test('maxDepth: one problem where the nesting crosses it; 100 000 levels do not overflow the stack', () => {
  let deep: unknown = 'x\u0000';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.deepEqual(nulProblems({ a: [[1]] }, { maxDepth: 2 }), [
    { pointer: '/a/0', message: 'must not nest objects or arrays more than 2 levels deep' },
  ]);
  assert.equal(nulProblems(deep, { maxDepth: 64 }).length, 1);
  assert.equal(nulProblems(deep)[0]?.pointer, `${'/0'.repeat(100_000)}`);
});
