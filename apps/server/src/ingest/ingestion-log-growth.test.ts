// ingestion_log's growth (review r21 F4): requests without a verified signature write at most
// CTI_INGESTION_LOG_UNVERIFIED_PER_MIN rows a minute; verified ones always one; rows past
// CTI_INGESTION_LOG_DAYS are pruned. Real Postgres with the real migrations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { createTestApp, signedInit, type TestApp } from '../test-helpers.ts';
import { pruneIngestionLog } from './ingestion-log-retention.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

const logRows = async (sql: TestDatabase['sql']) => {
  const rows = await sql<{ code: string | null; n: number }[]>`
    SELECT error_code AS code, count(*)::int AS n FROM ingestion_log GROUP BY 1 ORDER BY 1`;
  return Object.fromEntries(rows.map((r) => [r.code ?? 'ok', r.n]));
};

describe('requests without a verified signature', () => {
  let now = Date.now();
  let app: TestApp;
  before(() => {
    app = createTestApp(
      db.sql,
      { ingestionLog: { retentionDays: 90, unverifiedPerMinute: 5 } },
      { clock: () => now },
    );
  });
  after(async () => {
    await app?.close();
    await db.sql`TRUNCATE ingestion_log`;
  });
  const post = (init: RequestInit) => app.app.request('/ingest/webhook', init);
  const unsigned: RequestInit = {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  };

  test('a flood writes one minute of rows, every request still answered and counted; signed requests all logged', async () => {
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await post(unsigned)).status);
    assert.deepEqual(new Set(statuses), new Set([401]));
    const signed = (capture: string) =>
      signedInit(exampleWebhookBody({ meta_json: exampleMeta({ capture_id: capture }) }), {
        timestamp: Math.floor(now / 1000),
      });
    assert.equal((await post(signed('cap_1757423584'))).status, 201);
    assert.equal((await post(signed('cap_1757423584'))).status, 200);
    // Verified, then refused by the schema: a row like any verified request.
    const bad = signedInit({ not: 'a webhook' }, { timestamp: Math.floor(now / 1000) });
    assert.equal((await post(bad)).status, 422);
    await app.ingestionLog.flush();
    assert.deepEqual(await logRows(db.sql), { invalid_webhook: 1, missing_timestamp: 5, ok: 2 });
    assert.match(await app.metrics.registry.metrics(), /cti_ingestion_log_unverified_skipped_total 7/);
    const outcomes = await app.metrics.ingestOutcomes.get();
    const unauthorized = outcomes.values.find((v) => v.labels.reason === 'missing_timestamp');
    assert.equal(unauthorized?.value, 12, 'the metric counts every refused request');
  });

  test('a minute later the next minute of rows', async () => {
    now += 60_000;
    for (let i = 0; i < 8; i++) assert.equal((await post(unsigned)).status, 401);
    await app.ingestionLog.flush();
    assert.equal((await logRows(db.sql)).missing_timestamp, 10);
  });
});

describe('retention', () => {
  after(async () => {
    await db.sql`TRUNCATE ingestion_log`;
  });

  const insert = (ageDays: number, n = 1) => db.sql`
    INSERT INTO ingestion_log (capture_id, ingest_key, http_status, created_at)
    SELECT 'cap_' || g, '', 201, now() - make_interval(days => ${ageDays}) FROM generate_series(1, ${n}) g`;

  test('rows older than the retention go, oldest first, across batches; newer rows and a late-written old row stay correct', async () => {
    await insert(10); // the lowest id, yet recent: a row written late stays, and does not stop the pruning
    await insert(200, 12_000);
    await insert(91);
    await insert(89, 3);
    const pruned = await pruneIngestionLog(db.sql, { days: 90 });
    assert.equal(pruned, 12_001);
    const ages = await db.sql<{ days: number; n: number }[]>`
      SELECT round(extract(epoch FROM now() - created_at) / 86400)::int AS days, count(*)::int AS n
        FROM ingestion_log GROUP BY 1 ORDER BY 1`;
    assert.deepEqual(
      ages.map((r) => [r.days, r.n]),
      [
        [10, 1],
        [89, 3],
      ],
    );
    assert.equal(await pruneIngestionLog(db.sql, { days: 90 }), 0);
  });

  test('a retention under a day is refused, naming it', async () => {
    await assert.rejects(pruneIngestionLog(db.sql, { days: 0 }), /retention days must be ≥ 1, got 0/);
  });
});
