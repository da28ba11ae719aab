import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { createDatabaseClient } from './database-client.ts';
import { isConnectionLost } from './database-errors.ts';

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

test('a backend terminated mid-query fails that query only: the reconnected connection runs the next one', async () => {
  // pg_terminate_backend on a busy backend: Postgres sends FATAL 57P01 (an ErrorResponse, kept until
  // the ReadyForQuery that never comes) and closes. postgres.js failed the query as CONNECTION_CLOSED
  // but kept that ErrorResponse, and its reconnected connection replayed it onto the first query it ran
  // (porsager/postgres#1223): a healthy connection answered one more 503. One pooled connection here,
  // so the next query must be the reconnected one.
  const sql = createDatabaseClient({
    url: db.url,
    max: 1,
    connectTimeoutSeconds: 5,
    applicationName: 'terminated-mid-query',
  });
  try {
    const sleeping = sql`SELECT pg_sleep(60)`.then(
      () => undefined,
      (err: unknown) => err,
    );
    const [busy] = await waitFor(
      async () => {
        const rows = await db.sql<{ pid: number }[]>`
          SELECT pid FROM pg_stat_activity
          WHERE application_name = 'terminated-mid-query' AND state = 'active' AND query LIKE '%pg_sleep%'`;
        return rows.length > 0 ? rows : undefined;
      },
      { what: 'the pg_sleep backend', timeoutMs: 10_000 },
    );
    const [terminated] = await db.sql<{ ok: boolean }[]>`SELECT pg_terminate_backend(${busy!.pid}) AS ok`;
    assert.equal(terminated!.ok, true);
    const lost = await sleeping;
    assert.ok(
      isConnectionLost(lost),
      `the terminated query failed as a lost connection, got ${String(lost)}`,
    );

    const [row] = await sql<{ one: number }[]>`SELECT 1 AS one`;
    assert.equal(row!.one, 1);
    const [pid] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    assert.notEqual(pid!.pid, busy!.pid, 'a new backend');
  } finally {
    await sql.end({ timeout: 5 });
  }
});
