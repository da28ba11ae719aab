import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import { createDatabaseClient } from '../db/database-client.ts';
import { apiClient } from '../test-api-client.ts';
import { createTestApp, listenTestApp, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// The export cap counts downloads in progress, over real sockets, with a pool of 2 (one export slot):
// a download is over when its last byte is handed over or its client is gone — not when its
// transaction's COMMIT comes back a moment later — so a script (or a user) fetching one file after
// another is never refused, while two at the same time still are.

const ROWS = 20_000; // more than socket buffers hold: a download that is not read stays in progress
/** The last 500 scans: one short file (one batch). */
const RECENT = `from=${new Date(Date.parse('2025-01-01T00:00:00Z') + (ROWS - 500) * 60_000).toISOString()}`;
let db: TestDatabase;
let pool: Sql;
let app: TestApp;
let server: Awaited<ReturnType<typeof listenTestApp>>;
let cookie: string;

before(async () => {
  db = await createTestDatabase();
  const farm = await seedFarm(db.sql, 'Slot Farm');
  const device = await seedDevice(db.sql, 'dev-slot', farm);
  await db.sql`
    INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, captured_at, status)
    SELECT 'dev-slot.cap_' || i, 'cap_' || i, 's3://b/raw/dev-slot/2025/01/01/cap_' || i || '/', ${device}, ${farm},
           timestamptz '2025-01-01' + i * interval '1 minute', 'ingested'
      FROM generate_series(1, ${ROWS}) i`;
  await seedUser(db.sql, 'admin@example.com', ['admin']);
  pool = createDatabaseClient({ url: db.url, max: 2, connectTimeoutSeconds: 5 });
  app = createTestApp(pool);
  const client = apiClient(app.app);
  assert.equal((await client.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
  cookie = client.cookie!;
  server = await listenTestApp(app);
});
after(async () => {
  await server?.close();
  await app?.close();
  await pool?.end({ timeout: 5 });
  await db?.drop();
});

const get = (file: string) => fetch(`${server.url}/api/v1/exports/${file}`, { headers: { cookie } });

describe('export slots (pool of 2: one download at a time)', () => {
  test('files fetched one after another, each read to the end, are all 200', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await get(`${i % 2 ? 'scans.geojson' : 'scans.csv'}?${RECENT}`);
      await res.arrayBuffer();
      answers.push(res.status);
    }
    assert.deepEqual(
      answers.filter((s) => s !== 200),
      [],
      answers.join(' '),
    );
  });

  test('a client that goes away after the first chunk frees its slot at once', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await get('scans.csv');
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      assert.ok((await reader.read()).value);
      await reader.cancel();
      const next = await get(`scans.geojson?${RECENT}`);
      await next.arrayBuffer();
      assert.equal(next.status, 200, `after cancelled download ${i + 1}`);
    }
  });

  test('while one download is being read, a second is still 503 exports_busy', async () => {
    const first = await get('scans.csv');
    assert.equal(first.status, 200);
    const reader = first.body!.getReader();
    assert.ok((await reader.read()).value);
    const second = await get('scans.geojson');
    assert.equal(second.status, 503);
    assert.equal(((await second.json()) as { error: string }).error, 'exports_busy');
    while (!(await reader.read()).done);
    const third = await get(`scans.geojson?${RECENT}`);
    await third.arrayBuffer();
    assert.equal(third.status, 200);
  });
});
