import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import type { Sql } from 'postgres';
import { createDatabaseClient } from '../db/database-client.ts';
import { countRows, createTestApp, distinctWebhook, signedInit, type TestApp } from '../test-helpers.ts';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';

// The app talks to Postgres through a TCP proxy the test cuts and restores: a real outage for
// postgres.js (reset connections, then refused ones) while the shared cluster keeps running.

let db: TestDatabase;
let proxy: TcpProxy;
let appSql: Sql;
let server: TestApp;

before(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  appSql = createDatabaseClient({ url: url.href, max: 5, connectTimeoutSeconds: 2 });
  server = createTestApp(appSql);
});
after(async () => {
  await proxy.restore().catch(() => {});
  await server.close({ timeoutMs: 1_000 });
  await appSql.end({ timeout: 1 });
  await proxy.close();
  await db.drop();
});

const post = async (i: number) => {
  const res = await server.app.request('/ingest/webhook', signedInit(distinctWebhook(i)));
  return {
    i,
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { error?: string },
  };
};

/** Every scan is whole: its assets, both events, its job, and its device counted it once. */
async function assertNothingHalfWritten(sql: Sql) {
  const broken = await sql`
    SELECT s.capture_id FROM scans s
    WHERE s.image_asset_id IS NULL
       OR (SELECT count(*) FROM scan_events e WHERE e.scan_id = s.id AND e.event IN ('uploaded', 'ingested')) <> 2
       OR (SELECT count(*) FROM grading_jobs j WHERE j.scan_id = s.id) <> 1
       OR (SELECT count(*) FROM assets a WHERE a.object_key LIKE substring(s.ingest_key from '^s3://[^/]+/(.*)$') || '%') <> 2`;
  assert.deepEqual([...broken], [], 'scans missing a part');
  const miscounted = await sql`
    SELECT d.device_code FROM devices d
    WHERE d.captures_count <> (SELECT count(*) FROM scans s WHERE s.device_id = d.id)`;
  assert.deepEqual([...miscounted], [], 'devices whose captures_count disagrees with their scans');
  const orphans = await sql`
    SELECT a.object_key FROM assets a
    WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE a.object_key LIKE substring(s.ingest_key from '^s3://[^/]+/(.*)$') || '%')`;
  assert.deepEqual([...orphans], [], 'assets without their scan');
}

test('database outage: 503 + Retry-After, then success once it is back, nothing half-written', async () => {
  const warmup = await Promise.all([0, 1, 2, 3, 4].map(post));
  assert.deepEqual(
    warmup.map((r) => r.status),
    [201, 201, 201, 201, 201],
  );

  // Cut while a burst is in flight: each answer is 201 or 503, never a 500.
  const burst = Array.from({ length: 30 }, (_, k) => post(5 + k));
  await proxy.cut();
  const burstResults = await Promise.all(burst);
  for (const r of burstResults)
    assert.ok([201, 503].includes(r.status), `burst answer ${r.status} ${JSON.stringify(r.body)}`);

  // Fully down: new captures and replays alike are 503 with Retry-After.
  const down = await Promise.all([...Array.from({ length: 10 }, (_, k) => post(100 + k)), post(0), post(1)]);
  for (const r of down) {
    assert.equal(r.status, 503);
    assert.equal(r.body.error, 'database_unavailable');
    assert.equal(r.retryAfter, '7');
  }
  assert.equal((await server.app.request('/readyz')).status, 503);
  assert.equal(
    (await server.app.request('/healthz')).status,
    200,
    'liveness does not depend on the database',
  );

  await proxy.restore();
  // The relay retries everything that got a 503 (and replays the rest): all succeed now.
  const retried = [...burstResults, ...down].filter((r) => r.status === 503).map((r) => r.i);
  const again = await Promise.all(retried.map(post));
  for (const r of again)
    assert.ok([200, 201].includes(r.status), `after restore ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal((await server.app.request('/readyz')).status, 200);

  const counts = await countRows(db.sql);
  assert.equal(counts.scans, 5 + 30 + 10, 'every capture ingested exactly once');
  await assertNothingHalfWritten(db.sql);

  // The outage's own requests are logged too, once the database is back.
  const sent = warmup.length + burstResults.length + down.length + again.length;
  let logged = 0;
  await waitFor(
    async () => {
      logged = (await countRows(db.sql)).ingestionLog;
      return logged === sent;
    },
    { what: `${sent} ingestion_log rows`, timeoutMs: 30_000 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message} (have ${logged})`);
  });
  const [unavailable] = await db.sql`SELECT count(*)::int AS n FROM ingestion_log WHERE http_status = 503`;
  assert.ok((unavailable?.n ?? 0) >= down.length);
  const metrics = await (await server.app.request('/metrics')).text();
  assert.match(
    metrics,
    /cti_ingest_outcomes_total\{outcome="unavailable",reason="database_unavailable"\} \d+/,
  );
});

test('a backend terminated by the server (pg_terminate_backend) is retried as 503, then succeeds', async () => {
  const admin = db.sql;
  // The app's backends (application_name cti-server) all go. Its pool is idle now, so they are all the
  // dead connections it can hand out: no request of the app is in flight to open another while this
  // runs, and a backend opened after it is alive.
  const [killed] = await admin<{ app: number }[]>`
    SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS app
    FROM pg_stat_activity WHERE datname = ${db.name} AND application_name = 'cti-server'`;
  const pooled = killed!.app;
  assert.ok(pooled >= 1 && pooled <= 5, `the app's pool (max 5) had connections to terminate: ${pooled}`);
  // Each of them is found dead on its next use (unless the pool saw it close first): that request is a
  // 503, and a reconnected connection succeeds — it does not inherit the dead backend's error
  // (database-client.test.ts). Like the relay, retry until one succeeds.
  const answers: number[] = [];
  while (!answers.some((s) => s === 200 || s === 201) && answers.length < 20)
    answers.push((await post(500)).status);
  assert.ok(
    answers.slice(0, -1).every((s) => s === 503),
    `answers ${JSON.stringify(answers)}`,
  );
  assert.ok(
    answers.length <= pooled + 1,
    `at most one 503 per terminated pooled connection (${pooled}), got ${JSON.stringify(answers)}`,
  );
  assert.equal(answers.at(-1), 201);
  await assertNothingHalfWritten(db.sql);
});
