import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import {
  countRows,
  createTestApp,
  distinctWebhook,
  listenTestApp,
  shuffled,
  signedInit,
  type TestApp,
  withRelayFields,
} from '../test-helpers.ts';

let db: TestDatabase;
let server: TestApp;
let http: Awaited<ReturnType<typeof listenTestApp>>;

before(async () => {
  db = await createTestDatabase({ max: 10 });
  server = createTestApp(db.sql);
  http = await listenTestApp(server);
});
after(async () => {
  await http.close();
  await server.close();
  await db.drop();
});
beforeEach(async () => {
  await server.ingestionLog.flush();
  await db.sql`TRUNCATE scan_events, grading_jobs, scans, assets, devices, ingestion_log CASCADE`;
});

async function postOverHttp(init: RequestInit) {
  const res = await fetch(`${http.url}/ingest/webhook`, init);
  return {
    status: res.status,
    body: (await res.json()) as { scan_id?: string; replayed?: boolean; error?: string },
  };
}

test('200 concurrent identical webhooks → exactly one scan, captures_count 1, no duplicate assets', async () => {
  const init = signedInit(withRelayFields(exampleWebhookBody(), 'same'));
  const results = await Promise.all(Array.from({ length: 200 }, () => postOverHttp(init)));

  const statuses = results.map((r) => r.status);
  assert.equal(
    statuses.filter((s) => s === 201).length,
    1,
    `exactly one 201, got ${JSON.stringify(statuses)}`,
  );
  assert.equal(statuses.filter((s) => s === 200).length, 199);
  assert.equal(new Set(results.map((r) => r.body.scan_id)).size, 1, 'every answer names the same scan');

  const counts = await countRows(db.sql);
  assert.equal(counts.scans, 1);
  assert.equal(counts.assets, 2, 'image.jpg and meta.json, once each');
  assert.equal(counts.devices, 1);
  assert.equal(counts.gradingJobs, 1);
  const [device] = await db.sql`SELECT captures_count FROM devices`;
  assert.equal(device?.captures_count, 1);
  const events =
    await db.sql`SELECT event, count(*)::int AS n FROM scan_events GROUP BY event ORDER BY event`;
  assert.deepEqual(
    events.map((e) => [e.event, e.n]),
    [
      ['ingested', 1],
      ['replayed', 199],
      ['uploaded', 1],
    ],
  );
  await server.ingestionLog.flush();
  const logs = await db.sql`SELECT http_status, count(*)::int AS n FROM ingestion_log GROUP BY 1 ORDER BY 1`;
  assert.deepEqual(
    logs.map((l) => [l.http_status, l.n]),
    [
      [200, 199],
      [201, 1],
    ],
  );
});

test('50 distinct captures × 5 deliveries each, concurrently in random order → 50 scans', async () => {
  const captures = Array.from({ length: 50 }, (_, i) => signedInit(distinctWebhook(i)));
  const deliveries = shuffled(captures.flatMap((init) => [init, init, init, init, init]));
  const results = await Promise.all(deliveries.map((init) => postOverHttp(init)));

  assert.deepEqual([...new Set(results.map((r) => r.status))].sort(), [200, 201]);
  assert.equal(results.filter((r) => r.status === 201).length, 50);
  assert.equal(new Set(results.map((r) => r.body.scan_id)).size, 50);

  const counts = await countRows(db.sql);
  assert.equal(counts.scans, 50);
  assert.equal(counts.assets, 100);
  assert.equal(counts.devices, 8);
  assert.equal(counts.gradingJobs, 50);
  const devices = await db.sql`
    SELECT d.device_code, d.captures_count, count(s.id)::int AS scans
    FROM devices d JOIN scans s ON s.device_id = d.id GROUP BY d.id ORDER BY d.device_code`;
  for (const d of devices) assert.equal(d.captures_count, d.scans, `${d.device_code} counts each scan once`);
  assert.equal(
    devices.reduce((n, d) => n + d.captures_count, 0),
    50,
  );
  const [replayed] = await db.sql`SELECT count(*)::int AS n FROM scan_events WHERE event = 'replayed'`;
  assert.equal(replayed?.n, 200);
});
