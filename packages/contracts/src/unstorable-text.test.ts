import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unstorableTextProblems } from './unstorable-text.ts';

test('every NUL in strings and property names, in document order, with escaped pointers', () => {
  const value = { a: 'x\u0000', 'b\u0000': { 'c/d': ['ok', 'y\u0000'] }, e: 'fine', f: '\u0000' };
  assert.deepEqual(unstorableTextProblems(value), [
    { pointer: '/a', message: 'must not contain the NUL character (U+0000)' },
    { pointer: '', message: 'property names must not contain U+0000' },
    { pointer: '/b\u0000/c~1d/1', message: 'must not contain the NUL character (U+0000)' },
    { pointer: '/f', message: 'must not contain the NUL character (U+0000)' },
  ]);
  assert.deepEqual(unstorableTextProblems({ ok: ['a', 1, null, { b: true }] }), []);
  assert.deepEqual(unstorableTextProblems('a\u0000', { pointer: '/meta_json' }), [
    { pointer: '/meta_json', message: 'must not contain the NUL character (U+0000)' },
  ]);
});

test('maxDepth: one problem where the nesting crosses it; 100 000 levels do not overflow the stack', () => {
  let deep: unknown = 'x\u0000';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.deepEqual(unstorableTextProblems({ a: [[1]] }, { maxDepth: 2 }), [
    { pointer: '/a/0', message: 'must not nest objects or arrays more than 2 levels deep' },
  ]);
  assert.equal(unstorableTextProblems(deep, { maxDepth: 64 }).length, 1);
  assert.equal(unstorableTextProblems(deep)[0]?.pointer, `${'/0'.repeat(100_000)}`);
});

test('unpaired UTF-16 surrogates in strings and property names; a pair is a character', () => {
  assert.deepEqual(
    unstorableTextProblems({ a: 'x\ud800y', 'k\udc00': 'ok', b: 'cow \u{1F404}', c: '\udbff' }),
    [
      { pointer: '/a', message: 'must not contain an unpaired surrogate (U+D800): it is not a character' },
      { pointer: '', message: 'property names must not contain an unpaired surrogate (U+DC00)' },
      { pointer: '/c', message: 'must not contain an unpaired surrogate (U+DBFF): it is not a character' },
    ],
  );
  assert.deepEqual(unstorableTextProblems('\u0000\ud800').length, 2, 'each problem once');
});
