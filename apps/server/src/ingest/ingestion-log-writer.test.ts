import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { silentLogger } from '@cti/runtime';
import { createServerMetrics } from '../metrics.ts';
import { createIngestionLogWriter, type IngestionLogRow } from './ingestion-log-writer.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const row = (overrides: Partial<IngestionLogRow> = {}): IngestionLogRow => ({
  captureId: 'cap_1',
  ingestKey: 's3://b/raw/dev-1/2025/01/01/cap_1/',
  httpStatus: 201,
  bytesIn: 10,
  ms: 1,
  error: null,
  errorCode: null,
  requestId: 'req',
  ...overrides,
});

test('batches many rows; a row the database refuses is dropped and counted, the others are written', async () => {
  await db.sql`TRUNCATE ingestion_log`;
  const metrics = createServerMetrics({ dbPoolMax: 1, defaults: false });
  const writer = createIngestionLogWriter({ sql: db.sql, log: silentLogger(), metrics, maxBatch: 50 });
  for (let i = 0; i < 120; i++)
    writer.write(row({ requestId: `r${i}`, ...(i === 7 ? { httpStatus: 2 ** 40 } : {}) }));
  await writer.flush();
  const [count] =
    await db.sql`SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS d FROM ingestion_log`;
  assert.deepEqual({ ...count }, { n: 119, d: 119 });
  assert.match(await metrics.registry.metrics(), /cti_ingestion_log_dropped_total 1/);
  await writer.close();
});

test('NUL characters are replaced so the row can be stored', async () => {
  await db.sql`TRUNCATE ingestion_log`;
  const metrics = createServerMetrics({ dbPoolMax: 1, defaults: false });
  const writer = createIngestionLogWriter({ sql: db.sql, log: silentLogger(), metrics });
  writer.write(row({ captureId: 'cap_\u0000x', error: 'bad \u0000 byte' }));
  await writer.close();
  const [stored] = await db.sql`SELECT capture_id, error FROM ingestion_log`;
  assert.deepEqual({ ...stored }, { capture_id: 'cap_\uFFFDx', error: 'bad \uFFFD byte' });
});

test('a full buffer drops new rows and counts them', async () => {
  await db.sql`TRUNCATE ingestion_log`;
  const metrics = createServerMetrics({ dbPoolMax: 1, defaults: false });
  const writer = createIngestionLogWriter({
    sql: db.sql,
    log: silentLogger(),
    metrics,
    maxBuffered: 3,
    maxBatch: 10,
    flushIntervalMs: 1_000,
  });
  for (let i = 0; i < 5; i++) writer.write(row({ requestId: `r${i}` }));
  await writer.close();
  const rows = await db.sql`SELECT request_id FROM ingestion_log ORDER BY id`;
  assert.deepEqual(
    rows.map((r) => r.request_id),
    ['r0', 'r1', 'r2'],
  );
  assert.match(await metrics.registry.metrics(), /cti_ingestion_log_dropped_total 2/);
});
