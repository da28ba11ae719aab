import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { createLogger } from '@cti/runtime';
import {
  countRows,
  createTestApp,
  listenTestApp,
  signedInit,
  type TestApp,
  withRelayFields,
} from '../test-helpers.ts';

// The same ingest_key delivered again with different content (an agent that re-used a capture id, a
// meta.json rewritten after its first delivery). The first delivery stays the truth (a replay changes
// nothing, ADR 0001 §2) and the answer is still 200 replayed (the spec's retry-safe webhook; a 4xx
// would dead-letter it) — but the difference is recorded, logged and counted.

let db: TestDatabase;
let server: TestApp;
const lines: Record<string, unknown>[] = [];
let conflictsBefore = 0;

before(async () => {
  db = await createTestDatabase({ max: 10 });
  const log = createLogger({
    name: 'cti-server',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  server = createTestApp(db.sql, {}, { log });
});
after(async () => {
  await server.close();
  await db.drop();
});
beforeEach(async () => {
  await server.ingestionLog.flush();
  await db.sql`TRUNCATE scan_events, grading_jobs, scans, assets, devices, ingestion_log CASCADE`;
  lines.length = 0;
  conflictsBefore = await conflictsCounted();
});

const post = async (body: unknown) => {
  const res = await server.app.request('/ingest/webhook', signedInit(body));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const conflictLines = () => lines.filter((l) => l.msg?.toString().includes('different content'));

/** Conflicts counted since this test began (the metrics registry lives as long as the app). */
const conflictCount = async () => (await conflictsCounted()) - conflictsBefore;

async function conflictsCounted(): Promise<number> {
  const metric = await server.metrics.ingestOutcomes.get();
  return metric.values
    .filter((v) => v.labels.outcome === 'replayed' && v.labels.reason === 'content_differs')
    .reduce((n, v) => n + v.value, 0);
}

test('same ingest_key, different meta_json: 200 replayed, first kept, both hashes on the event, a warning and a metric', async () => {
  const first = withRelayFields(exampleWebhookBody(), 1);
  const changed = withRelayFields(
    exampleWebhookBody({
      meta_json: exampleMeta({ operator_id: 'tech-other', image_sha256: 'e'.repeat(64) }),
    }),
    2,
  );
  const a = await post(first);
  assert.equal(a.status, 201);
  const scansBefore = await db.sql`SELECT * FROM scans`;
  const b = await post(changed);
  assert.equal(b.status, 200);
  assert.equal(b.body.replayed, true);
  assert.equal(b.body.scan_id, a.body.scan_id);
  assert.equal(b.body.content_differs, true, 'the relay is told the content differed');
  assert.deepEqual(await db.sql`SELECT * FROM scans`, scansBefore, 'the first delivery stays the truth');

  const [uploaded] = await db.sql`SELECT meta FROM scan_events WHERE event = 'uploaded'`;
  const [replayed] = await db.sql`SELECT meta FROM scan_events WHERE event = 'replayed'`;
  const stored = uploaded?.meta.content_sha256;
  const delivered = replayed?.meta.content_sha256;
  assert.match(stored, /^[0-9a-f]{64}$/);
  assert.match(delivered, /^[0-9a-f]{64}$/);
  assert.notEqual(stored, delivered);
  assert.equal(replayed?.meta.stored_content_sha256, stored);
  assert.equal(replayed?.meta.content_differs, true);

  const warned = conflictLines();
  assert.equal(warned.length, 1, JSON.stringify(lines));
  assert.equal(warned[0]?.level, 40, 'a warning');
  assert.equal(warned[0]?.storedContentSha256, stored);
  assert.equal(warned[0]?.deliveredContentSha256, delivered);
  assert.equal(warned[0]?.ingestKey, a.body.ingest_key);
  assert.equal(await conflictCount(), 1);
});

test('a redelivery that differs only in relay trace fields, or adds the relay fields, is a plain replay', async () => {
  const bare = exampleWebhookBody();
  assert.equal((await post(bare)).status, 201);
  for (const body of [withRelayFields(bare, 'x'), withRelayFields(bare, 'y'), bare]) {
    const res = await post(body);
    assert.equal(res.status, 200);
    assert.equal(res.body.content_differs, false);
  }
  const replays = await db.sql`SELECT meta FROM scan_events WHERE event = 'replayed'`;
  assert.equal(replays.length, 3);
  for (const r of replays) assert.equal(r.meta.content_differs, false);
  assert.deepEqual(conflictLines(), []);
  assert.equal(await conflictCount(), 0);
});

test('concurrent conflicting deliveries: one scan, the others replayed, each difference counted once', async () => {
  const http = await listenTestApp(server);
  try {
    const bodies = Array.from({ length: 20 }, (_, i) =>
      withRelayFields(exampleWebhookBody({ meta_json: exampleMeta({ operator_id: `tech-${i % 2}` }) }), i),
    );
    const results = await Promise.all(
      bodies.map(async (body) => {
        const res = await fetch(`${http.url}/ingest/webhook`, signedInit(body));
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      }),
    );
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.equal(results.filter((r) => r.status === 200).length, 19);
    const counts = await countRows(db.sql);
    assert.equal(counts.scans, 1);
    assert.equal(counts.gradingJobs, 1);
    const [scan] = await db.sql`SELECT operator_code FROM scans`;
    const differing = results.filter((r) => r.body.content_differs === true).length;
    assert.equal(differing, 10, `the 10 bodies with the other operator than ${scan?.operator_code} differ`);
    assert.equal(conflictLines().length, 10);
    assert.equal(await conflictCount(), 10);
  } finally {
    await http.close();
  }
});
