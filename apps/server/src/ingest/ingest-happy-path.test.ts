import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MAX_CAPTURE_OBJECTS, MAX_EXTRA_FILES } from '@cti/contracts';
import {
  EXAMPLE_IMAGE_SHA256,
  EXAMPLE_MASK_SHA256,
  exampleMeta,
  exampleWebhookBody,
} from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import {
  countRows,
  createTestApp,
  listenTestApp,
  OLD_SECRET,
  sha256,
  signedInit,
  type TestApp,
  withRelayFields,
} from '../test-helpers.ts';

const SPEC_INGEST_KEY = 's3://cti-dev-406214277746/raw/dev-0001/2025/09/09/cap_1757423584/';
const SPEC_DIR = 'raw/dev-0001/2025/09/09/cap_1757423584/';

let db: TestDatabase;
let server: TestApp;

before(async () => {
  db = await createTestDatabase({ max: 10 });
  server = createTestApp(db.sql);
});
after(async () => {
  await server.close();
  await db.drop();
});
beforeEach(async () => {
  await server.ingestionLog.flush(); // rows of the previous test must not land after the truncate
  await db.sql`TRUNCATE scan_events, grading_jobs, scans, assets, devices, ingestion_log, user_farms, farms, users CASCADE`;
});

async function post(body: unknown, options = {}) {
  const res = await server.app.request('/ingest/webhook', signedInit(body, options));
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('the spec example (§5.3 body) through app.request()', () => {
  test('writes every §5.4 row with the right values', async () => {
    const res = await post(exampleWebhookBody());
    assert.equal(res.status, 201);
    assert.equal(res.body.replayed, false);
    assert.equal(res.body.ingest_key, SPEC_INGEST_KEY);
    assert.equal(res.body.capture_id, 'cap_1757423584');

    const [device] = await db.sql`SELECT * FROM devices`;
    assert.equal(device?.device_code, 'dev-0001');
    assert.equal(device?.s3_prefix_hint, 'raw/dev-0001/');
    assert.equal(device?.captures_count, 1);
    assert.ok(device?.last_upload_at instanceof Date);
    assert.ok(Date.now() - device.last_upload_at.getTime() < 60_000, 'last_upload_at is the ingest time');
    assert.equal(
      device?.last_seen_at.toISOString(),
      '2025-09-09T14:18:32.000Z',
      'last_seen_at is the capture time',
    );

    const assets = await db.sql`SELECT * FROM assets ORDER BY object_key`;
    assert.equal(
      assets.length,
      1,
      'meta.json has no hash in the bare spec body, so only image.jpg gets a row',
    );
    assert.equal(assets[0]?.bucket, 'cti-dev-406214277746');
    assert.equal(assets[0]?.object_key, `${SPEC_DIR}image.jpg`);
    assert.equal(assets[0]?.sha256, EXAMPLE_IMAGE_SHA256);
    assert.equal(assets[0]?.mime_type, 'image/jpeg');

    const [scan] = await db.sql`
      SELECT s.*, ST_X(gps) AS lon, ST_Y(gps) AS lat, ST_SRID(gps) AS srid FROM scans s`;
    assert.equal(scan?.id, res.body.scan_id);
    assert.equal(scan?.capture_id, 'cap_1757423584');
    assert.equal(scan?.ingest_key, SPEC_INGEST_KEY);
    assert.equal(scan?.device_id, device?.id);
    assert.equal(scan?.lon, -79.3832);
    assert.equal(scan?.lat, 43.6532);
    assert.equal(scan?.srid, 4326);
    assert.equal(scan?.captured_at.toISOString(), '2025-09-09T14:18:32.000Z');
    assert.equal(scan?.status, 'ingested');
    assert.equal(scan?.image_asset_id, assets[0]?.id);
    assert.equal(scan?.mask_asset_id, null);
    assert.equal(scan?.farm_id, null);
    assert.equal(scan?.operator_id, null, 'no user has operator code tech-abc');
    assert.equal(scan?.operator_code, 'tech-abc');
    assert.equal(scan?.scan_id, 'dev-0001.cap_1757423584');

    const events =
      await db.sql`SELECT event, meta FROM scan_events WHERE scan_id = ${scan?.id as string} ORDER BY id`;
    assert.deepEqual(
      events.map((e) => e.event),
      ['uploaded', 'ingested'],
    );
    assert.equal(events[0]?.meta.source, 'webhook');
    assert.equal(events[0]?.meta.request_id, res.body.request_id);
    assert.deepEqual(events[0]?.meta.objects, ['image.jpg', 'meta.json']);
    assert.deepEqual(events[0]?.meta.unhashed_objects, ['meta.json']);
    assert.equal(events[1]?.meta.farm_source, null);
    assert.equal(events[1]?.meta.operator_matched, false);

    const jobs = await db.sql`SELECT * FROM grading_jobs`;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]?.scan_id, scan?.id);
    assert.equal(jobs[0]?.status, 'queued');
    assert.equal(jobs[0]?.attempts, 0);

    await server.ingestionLog.flush();
    const logs = await db.sql`SELECT * FROM ingestion_log`;
    assert.equal(logs.length, 1);
    assert.equal(logs[0]?.capture_id, 'cap_1757423584');
    assert.equal(logs[0]?.ingest_key, SPEC_INGEST_KEY);
    assert.equal(logs[0]?.http_status, 201);
    assert.equal(logs[0]?.error, null);
    assert.equal(logs[0]?.request_id, res.body.request_id);
    assert.ok(logs[0]?.bytes_in > 500);
    assert.ok(logs[0]?.ms >= 0);
  });

  test('with the relay additive fields, meta.json gets its own asset row with sha256 and size', async () => {
    const body = withRelayFields(exampleWebhookBody(), 'spec');
    const res = await post(body);
    assert.equal(res.status, 201);
    const assets =
      await db.sql`SELECT object_key, sha256, size_bytes, mime_type FROM assets ORDER BY object_key`;
    assert.deepEqual(
      assets.map((a) => ({ ...a })),
      [
        {
          object_key: `${SPEC_DIR}image.jpg`,
          sha256: EXAMPLE_IMAGE_SHA256,
          size_bytes: '123456',
          mime_type: 'image/jpeg',
        },
        {
          object_key: `${SPEC_DIR}meta.json`,
          sha256: body.meta_sha256,
          size_bytes: '612',
          mime_type: 'application/json',
        },
      ],
    );
    const [uploaded] = await db.sql`SELECT meta FROM scan_events WHERE event = 'uploaded'`;
    assert.equal(uploaded?.meta.source, 'test-relay');
    assert.equal(uploaded?.meta.relay_event_id, 'evt-spec');
    assert.deepEqual(uploaded?.meta.unhashed_objects, []);
  });

  test('the largest capture meta.json v1 allows (image, mask, 64 extras of 128-character names): 201, an asset per object', async () => {
    const extra = Array.from(
      { length: MAX_EXTRA_FILES },
      (_, i) => `${`extra-${String(i).padStart(3, '0')}`.padEnd(124, 'x')}.bin`,
    );
    const meta = exampleMeta({
      mask_sha256: EXAMPLE_MASK_SHA256,
      files: { image_relpath: 'image.jpg', mask_relpath: 'mask.png', extra },
    });
    const metaHash = sha256('largest meta.json');
    const hashes: Record<string, string> = {
      'image.jpg': EXAMPLE_IMAGE_SHA256,
      'mask.png': EXAMPLE_MASK_SHA256,
      'meta.json': metaHash,
    };
    const names = ['image.jpg', 'mask.png', ...extra, 'meta.json'];
    const body = exampleWebhookBody({
      meta_json: meta,
      objects: names,
      object_details: names.map((name) => ({
        name,
        size_bytes: 4096,
        sha256: hashes[name] ?? sha256(name),
      })),
      meta_sha256: metaHash,
      meta_size_bytes: 4096,
    });
    const res = await post(body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await countRows(db.sql)).assets, MAX_CAPTURE_OBJECTS);
  });

  test('a replay answers 200 with the same scan id, adds a replayed event and changes nothing else', async () => {
    const body = withRelayFields(exampleWebhookBody(), 'spec');
    const first = await post(body);
    const before = await db.sql`SELECT * FROM devices`;
    const assetsBefore = await db.sql`SELECT * FROM assets ORDER BY id`;
    const scansBefore = await db.sql`SELECT * FROM scans`;
    const replay = await post(body, { secret: OLD_SECRET });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.replayed, true);
    assert.equal(replay.body.scan_id, first.body.scan_id);
    assert.deepEqual(
      await db.sql`SELECT * FROM devices`,
      before,
      'device (counters, last_seen_at) unchanged',
    );
    assert.deepEqual(await db.sql`SELECT * FROM assets ORDER BY id`, assetsBefore);
    assert.deepEqual(await db.sql`SELECT * FROM scans`, scansBefore);
    const events = await db.sql`SELECT event, meta FROM scan_events ORDER BY id`;
    assert.deepEqual(
      events.map((e) => e.event),
      ['uploaded', 'ingested', 'replayed'],
    );
    assert.equal(events[2]?.meta.request_id, replay.body.request_id);
    assert.equal((await db.sql`SELECT count(*)::int AS n FROM grading_jobs`)[0]?.n, 1);
    await server.ingestionLog.flush();
    const logs = await db.sql`SELECT http_status FROM ingestion_log ORDER BY id`;
    assert.deepEqual(
      logs.map((l) => l.http_status),
      [201, 200],
    );
  });
});

describe('the spec example through a real listening server', () => {
  test('201 then 200 over HTTP, with one scan and two log rows', async () => {
    const http = await listenTestApp(server);
    try {
      const body = withRelayFields(exampleWebhookBody(), 'http');
      const first = await fetch(`${http.url}/ingest/webhook`, signedInit(body));
      assert.equal(first.status, 201);
      assert.equal(first.headers.get('content-type'), 'application/json');
      const created = (await first.json()) as { scan_id: string };
      const second = await fetch(`${http.url}/ingest/webhook`, signedInit(body));
      assert.equal(second.status, 200);
      assert.equal(((await second.json()) as { scan_id: string }).scan_id, created.scan_id);
      assert.ok(second.headers.get('x-request-id'));
    } finally {
      await http.close();
    }
    await server.ingestionLog.flush();
    const counts = await countRows(db.sql);
    assert.equal(counts.scans, 1);
    assert.equal(counts.ingestionLog, 2);
    assert.equal(counts.scanEvents, 3);
  });
});
