import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAllValidators, compileValidator, validateMeta } from './index.ts';
import { exampleMeta } from './testing.ts';

// Its own file: compileAllValidators works on every validator made in the process so far.

test('compileAllValidators compiles every validator made so far: the package’s own schemas all compile', () => {
  compileAllValidators(); // meta.json, the webhook body, the heartbeat, the agent config
  assert.equal(validateMeta(exampleMeta()).ok, true);
});

test('a schema Ajv refuses is named by compileAllValidators and stays pending; the others validate', () => {
  const good = compileValidator<{ n: number }>({ type: 'object', properties: { n: { type: 'integer' } } });
  compileValidator({ type: 'object', properties: { a: { type: 'strnig' } } });
  assert.throws(() => compileAllValidators(), /schema is invalid: data\/properties\/a\/type/);
  assert.throws(() => compileAllValidators(), /strnig/);
  assert.deepEqual(good({ n: 1 }), { ok: true, value: { n: 1 } });
  assert.equal(good({ n: 'x' }).ok, false);
});
