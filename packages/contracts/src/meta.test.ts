import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem, validateMeta } from './index.ts';
import { exampleMeta } from './testing.ts';

test('the spec example meta.json validates', () => {
  assert.deepEqual(validateMeta(exampleMeta()), { ok: true, value: exampleMeta() });
});

test('an unsupported major version is named instead of listing field errors', () => {
  const r = validateMeta(exampleMeta({ meta_version: '2.0.0' }));
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.problems.map(formatProblem), [
    '/meta_version: unsupported major version 2 (this build reads 1.x)',
  ]);
});
