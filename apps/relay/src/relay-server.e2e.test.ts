// End to end with real peers: s3rver and Ceph RGW (withS3Peers: the whole suite against each), the
// built cti-server (spawned) and Postgres with the real migrations (a fresh database from
// @cti/db/testing). Assertions are on rows in the database.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { silentLogger } from '@cti/runtime';
import { ALL_S3_PEERS, waitFor, withS3Peers } from '@cti/testkit';
import { type Clock, systemClock } from './clock.ts';
import { createHandler } from './lambda.ts';
import { createRelay } from './relay-core.ts';
import { makeCapture, type TestCapture, uploadCapture, uploadFiles, uploadMeta } from './test-captures.ts';
import { fakeClock } from './test-clock.ts';
import { eventBridgeObjectCreated } from './test-events.ts';
import { type CtiServer, startCtiServer, startRelayCli } from './test-processes.ts';

const SECRET = 'e2e-shared-secret';

withS3Peers(ALL_S3_PEERS, (peer) => {
  let BUCKET: string;
  let db: TestDatabase;
  let s3: { client: S3Client };
  let server: CtiServer;
  let dir: string;

  before(async () => {
    BUCKET = await peer().createBucket();
    s3 = { client: peer().client };
    db = await createTestDatabase();
    server = await startCtiServer({ databaseUrl: db.url, secrets: [SECRET], buckets: [BUCKET] });
    dir = await mkdtemp(join(tmpdir(), 'relay-e2e-'));
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  function relayWith({ secret = SECRET, url = server.webhookUrl, clock = systemClock as Clock } = {}) {
    return createRelay({
      s3: s3.client,
      config: { webhookUrl: url, webhookSecrets: [secret], budgetMs: 60_000, httpTimeoutMs: 5000 },
      log: silentLogger(),
      clock,
      source: 'e2e',
      baseMs: 100,
      capMs: 1000,
    });
  }

  const uri = (c: TestCapture) => `s3://${BUCKET}/${c.dir}`;

  async function scans(c: TestCapture) {
    return db.sql<{ id: string; capture_id: string; status: string }[]>`
    select id, capture_id, status::text from scans where ingest_key = ${uri(c)}`;
  }

  /** ingestion_log rows for a capture (the server writes them in batches: wait for `atLeast`). */
  async function logRows(c: TestCapture, atLeast = 0) {
    return waitFor(
      async () => {
        const rows = await db.sql<{ http_status: number; error: string | null }[]>`
        select http_status, error from ingestion_log where capture_id = ${c.meta.capture_id} order by id`;
        return rows.length >= atLeast ? rows : undefined;
      },
      { what: `${atLeast} ingestion_log row(s) for ${c.meta.capture_id}` },
    );
  }

  test('a capture uploaded with meta.json last becomes exactly one scan', async () => {
    const capture = makeCapture({ extra: ['notes.txt'] });
    await uploadCapture(s3.client, BUCKET, capture);
    const outcome = await relayWith().relayObject({ bucket: BUCKET, key: capture.metaKey });
    assert.equal(outcome.kind, 'delivered');
    const [scan, ...more] = await scans(capture);
    assert.equal(more.length, 0);
    assert.equal(outcome.kind === 'delivered' && outcome.scanId, scan?.id);
    assert.equal(scan?.status, 'ingested');
    const assets =
      await db.sql`select object_key from assets where object_key like ${`${capture.dir}%`} order by object_key`;
    assert.deepEqual(
      assets.map((a) => a.object_key.slice(capture.dir.length)),
      ['image.png', 'meta.json', 'notes.txt'],
    );
  });

  test('Lambda: meta.json before the image waits within the budget, then exactly one scan', async () => {
    const capture = makeCapture();
    let scansWhileWaiting = -1;
    const { clock } = fakeClock(async (_ms, n) => {
      if (n !== 1) return;
      scansWhileWaiting = (await scans(capture)).length;
      await uploadFiles(s3.client, BUCKET, capture);
    });
    await uploadMeta(s3.client, BUCKET, capture);
    const handle = createHandler({
      getRelay: async () => relayWith({ clock }),
      log: silentLogger(),
      budgetMs: 60_000,
    });
    const result = await handle(eventBridgeObjectCreated(BUCKET, capture.metaKey), {
      getRemainingTimeInMillis: () => 120_000,
    });
    assert.equal(result.results[0]?.outcome.kind, 'delivered');
    assert.equal(scansWhileWaiting, 0);
    assert.equal((await scans(capture)).length, 1);
    assert.equal((await logRows(capture, 1)).length, 1, 'one webhook');
  });

  test('the same event delivered 5 times gives one scan and counts the device once', async () => {
    const capture = makeCapture({ deviceCode: 'dev-replay' });
    await uploadCapture(s3.client, BUCKET, capture);
    const handle = createHandler({
      getRelay: async () => relayWith(),
      log: silentLogger(),
      budgetMs: 60_000,
    });
    const event = eventBridgeObjectCreated(BUCKET, capture.metaKey);
    const results = await Promise.all(Array.from({ length: 5 }, () => handle(event)));
    const scanIds = new Set(
      results.map(({ results: [first] }) => first?.outcome.kind === 'delivered' && first.outcome.scanId),
    );
    const rows = await scans(capture);
    assert.equal(rows.length, 1);
    assert.deepEqual([...scanIds], [rows[0]?.id], 'all five answered with the one scan id');
    const replays = results.filter(
      ({ results: [first] }) => first?.outcome.kind === 'delivered' && first.outcome.replayed,
    );
    assert.equal(replays.length, 4, 'the server saw four replays');
    const [device] = await db.sql`select captures_count from devices where device_code = 'dev-replay'`;
    assert.equal(device?.captures_count, 1);
    assert.equal((await logRows(capture, 5)).length, 5);
  });

  test('server down: the relay keeps retrying, then delivers once the server is back', async () => {
    const capture = makeCapture();
    await uploadCapture(s3.client, BUCKET, capture);
    const { port } = server;
    await server.stop();
    let waits = 0;
    const clock: Clock = {
      now: Date.now,
      sleep: (ms, signal) => {
        waits++;
        return systemClock.sleep(ms, signal);
      },
    };
    const pending = relayWith({ url: `http://127.0.0.1:${port}/ingest/webhook`, clock }).relayObject({
      bucket: BUCKET,
      key: capture.metaKey,
    });
    await waitFor(() => waits >= 2, { what: 'two failed attempts' });
    server = await startCtiServer({ databaseUrl: db.url, secrets: [SECRET], buckets: [BUCKET], port });
    const outcome = await pending;
    assert.equal(outcome.kind, 'delivered');
    assert.ok(outcome.kind === 'delivered' && outcome.attempts >= 3);
    assert.equal((await scans(capture)).length, 1);
  });

  test('a server rejecting the signature: one attempt, no retry, the reason surfaced, no scan', async () => {
    const capture = makeCapture();
    await uploadCapture(s3.client, BUCKET, capture);
    const unauthorized = async () =>
      Number((await db.sql`select count(*) from ingestion_log where http_status = 401`)[0]?.count);
    const before = await unauthorized();
    const outcome = await relayWith({ secret: 'not-the-server-secret' }).relayObject({
      bucket: BUCKET,
      key: capture.metaKey,
    });
    assert.equal(outcome.kind, 'rejected');
    assert.equal(outcome.kind === 'rejected' && outcome.status, 401);
    assert.match(outcome.kind === 'rejected' ? outcome.reason : '', /^HTTP 401 \w*signature\w*: /);
    assert.equal((await scans(capture)).length, 0);
    await waitFor(async () => (await unauthorized()) === before + 1, { what: 'the 401 in ingestion_log' });
    // A retry would have been logged as a second 401 by now (the log writer flushed the first one).
    assert.equal(await unauthorized(), before + 1);
  });

  test('cti-relay watch: meta.json first waits for the image, restarts neither miss nor repeat', async () => {
    const stateFile = join(dir, 'watch-state.json');
    const env = {
      CTI_WEBHOOK_URL: server.webhookUrl,
      CTI_WEBHOOK_SECRETS: SECRET,
      ...peer().env,
      CTI_RELAY_BUCKET: BUCKET,
      CTI_RELAY_STATE_FILE: stateFile,
      CTI_RELAY_POLL_MS: '100',
      LOG_LEVEL: 'info',
    };
    const early = makeCapture({ deviceCode: 'dev-watch' });
    await uploadMeta(s3.client, BUCKET, early);
    let watch = startRelayCli(['watch'], env);
    const pendingIn = async () => JSON.parse(await readFile(stateFile, 'utf8')).pending[early.metaKey];
    await waitFor(pendingIn, { what: 'the out-of-order capture to be pending' });
    assert.equal((await scans(early)).length, 0, 'no scan while the image is missing');
    assert.equal((await logRows(early)).length, 0, 'no webhook while the image is missing');
    await uploadFiles(s3.client, BUCKET, early);
    await waitFor(async () => (await scans(early)).length === 1, { what: 'the scan once the image exists' });

    assert.equal(await watch.stop(), 0, 'SIGTERM stops the watcher cleanly');
    const later = makeCapture({ deviceCode: 'dev-zzz' });
    const lexicallyEarlier = makeCapture({ deviceCode: 'dev-aaa', capturedAt: '2024-02-29T12:00:00Z' });
    await uploadCapture(s3.client, BUCKET, later);
    await uploadCapture(s3.client, BUCKET, lexicallyEarlier);
    watch = startRelayCli(['watch'], env);
    try {
      for (const c of [later, lexicallyEarlier]) {
        await waitFor(async () => (await scans(c)).length === 1, {
          what: `the scan of ${c.meta.capture_id}`,
        });
      }
    } finally {
      await watch.stop();
    }
    for (const c of [early, later, lexicallyEarlier]) {
      assert.equal((await logRows(c, 1)).length, 1, `${c.meta.capture_id} was sent exactly once`);
    }
  });
});
