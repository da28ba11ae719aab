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

test('every float8 reaches Node exactly, whatever extra_float_digits the database or role sets', async () => {
  // A DBA's `ALTER DATABASE … SET extra_float_digits = 0` (older tools' habit) rounds float8 output to
  // 15 digits: measurements would lose their last bits and the CSV/GeoJSON lines Postgres writes would
  // no longer be the bytes csv.ts writes (csv-sql.ts). The pool asks for the shortest exact digits.
  const name = db.url.slice(db.url.lastIndexOf('/') + 1).split('?')[0]!;
  await db.sql.unsafe(`ALTER DATABASE "${name}" SET extra_float_digits = 0`);
  const sql = createDatabaseClient({ url: db.url, max: 1, connectTimeoutSeconds: 5 });
  try {
    const [row] = await sql<{ sum: number; text: string }[]>`
      SELECT 0.1::float8 + 0.2::float8 AS sum, (0.1::float8 + 0.2::float8)::text AS text`;
    assert.equal(row!.sum, 0.1 + 0.2);
    assert.equal(row!.text, String(0.1 + 0.2));
  } finally {
    await sql.end({ timeout: 5 });
    await db.sql.unsafe(`ALTER DATABASE "${name}" RESET extra_float_digits`);
  }
});
