import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { createDatabaseClient } from './database-client.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('genericPlans pools plan each statement once; the ordinary pool lets Postgres choose per call', async () => {
  const planned = createDatabaseClient({ url: db.url, max: 1, connectTimeoutSeconds: 5, genericPlans: true });
  const ordinary = createDatabaseClient({ url: db.url, max: 1, connectTimeoutSeconds: 5 });
  try {
    const [p] = await planned<{ plan_cache_mode: string }[]>`SHOW plan_cache_mode`;
    const [o] = await ordinary<{ plan_cache_mode: string }[]>`SHOW plan_cache_mode`;
    assert.equal(p!.plan_cache_mode, 'force_generic_plan');
    assert.equal(o!.plan_cache_mode, 'auto');
  } finally {
    await Promise.all([planned.end({ timeout: 5 }), ordinary.end({ timeout: 5 })]);
  }
});
