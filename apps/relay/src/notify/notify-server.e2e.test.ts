// The self-hosted event path end to end with real peers: captures stored in Ceph RGW, RGW's
// persistent bucket notifications pushed to the built `cti-relay serve` (spawned), the built
// cti-server (spawned) on a fresh migrated database. Assertions are on scan rows.
// A cluster of its own (not the run's shared one): the tests kill and restart its gateway.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import {
  createLocalS3Client,
  createRgwTopic,
  notifyObjectCreated,
  type Rgw,
  startRgw,
  waitFor,
} from '@cti/testkit';
import { makeCapture, type TestCapture, uploadCapture, uploadFiles, uploadMeta } from '../test-captures.ts';
import { type CtiServer, type Spawned, startCtiServer, startRelayCli } from '../test-processes.ts';

const WEBHOOK_SECRET = 'e2e-webhook-secret-0123';
const NOTIFY_SECRET = 'e2e-notify-secret-0123456';
const BUCKET = 'cti-notified';
const QUIET_BUCKET = 'cti-not-notified';
let db: TestDatabase;
let rgw: Rgw;
let s3: S3Client;
let server: CtiServer;
let relay: Spawned;
let relayEnv: Record<string, string>;
let dir: string;

/** Start `cti-relay serve` and wait until it listens; the port is fixed so RGW's topic keeps working. */
async function startServe(port: number): Promise<Spawned> {
  const spawned = startRelayCli(['serve', '--port', String(port)], relayEnv);
  await waitFor(() => spawned.lines.some((l) => (l as { msg?: string }).msg?.startsWith('listening')), {
    what: 'cti-relay serve to listen',
  });
  return spawned;
}

before(async () => {
  [db, rgw] = await Promise.all([createTestDatabase(), startRgw()]);
  dir = await mkdtemp(join(tmpdir(), 'relay-notify-e2e-'));
  server = await startCtiServer({
    databaseUrl: db.url,
    secrets: [WEBHOOK_SECRET],
    buckets: [BUCKET, QUIET_BUCKET],
  });
  const credentials = { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
  s3 = createLocalS3Client({ endpoint: rgw.endpoint, credentials });
  relayEnv = {
    CTI_WEBHOOK_URL: server.webhookUrl,
    CTI_WEBHOOK_SECRETS: WEBHOOK_SECRET,
    S3_ENDPOINT: rgw.endpoint,
    AWS_ACCESS_KEY_ID: rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
    CTI_RELAY_NOTIFY_SECRETS: NOTIFY_SECRET,
    CTI_RELAY_DEAD_LETTER_DIR: join(dir, 'dead-letters'),
    // Short, so the stuck-capture test below sees a 503 round or two and then the dead letter.
    CTI_RELAY_NOTIFY_BUDGET_MS: '3000',
    CTI_RELAY_INCOMPLETE_MAX_AGE_S: '5',
    LOG_LEVEL: 'info',
  };
  relay = await startServe(0);
  const port = Number(
    (relay.lines.find((l) => (l as { msg?: string }).msg?.startsWith('listening')) as { port: number }).port,
  );
  await relay.stop();
  relay = await startServe(port);
  // What an operator does once (docs/self-hosted-storage.md): a persistent topic pushing to the
  // relay with the shared secret as OpaqueData, and the bucket's object-created events sent to it.
  const topic = await createRgwTopic({
    endpoint: rgw.endpoint,
    credentials,
    name: 'cti-relay',
    pushEndpoint: `http://127.0.0.1:${port}/notify`,
    persistent: true,
    opaqueData: NOTIFY_SECRET,
  });
  for (const bucket of [BUCKET, QUIET_BUCKET]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await notifyObjectCreated(s3, BUCKET, topic.topicArn);
});

after(async () => {
  await relay?.stop();
  await server?.stop();
  s3?.destroy();
  await rgw?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

const scanCount = async (captures: TestCapture[], bucket = BUCKET) => {
  const keys = captures.map((c) => `s3://${bucket}/${c.dir}`);
  const [row] = await db.sql`select count(*)::int as n from scans where ingest_key = any(${keys})`;
  return row?.n as number;
};
const allScans = (captures: TestCapture[], bucket = BUCKET) =>
  waitFor(async () => (await scanCount(captures, bucket)) === captures.length, {
    what: `${captures.length} scans`,
    // RGW's persistent queue starts delivering ~30 s after the gateway starts.
    timeoutMs: 120_000,
    intervalMs: 250,
  });

test('captures stored in RGW become scans through its notifications, once each', async () => {
  const captures = Array.from({ length: 3 }, (_, i) => makeCapture({ deviceCode: `dev-rgw-${i}` }));
  for (const c of captures) await uploadCapture(s3, BUCKET, c);
  await allScans(captures);
  const [row] = await db.sql`select count(*)::int as n from scans`;
  assert.equal(row?.n, 3);
});

/** Run `cti-relay replay …` to the end; its stdout result lines (log lines carry a level). */
async function replay(args: string[]) {
  const run = startRelayCli(['replay', ...args], relayEnv);
  // 'close', not 'exit': the exit can come before the last stdout chunk was read.
  const code = await new Promise<number | null>((resolve) => run.child.once('close', resolve));
  const results = run.lines.filter(
    (l) => typeof l === 'object' && l !== null && 'outcome' in l && !('level' in l),
  );
  return { code, results: results as { key: string; outcome: { kind: string; replayed?: boolean } }[] };
}

test('the relay restarted mid-stream: RGW 16.2 may stall its queue (ceph#56979); `replay --since` covers the gap, each capture once', async () => {
  const [before] = [makeCapture({ deviceCode: 'dev-before' })];
  await uploadCapture(s3, BUCKET, before!);
  await allScans([before!]);
  const outageStart = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  assert.equal(await relay.stop(), 0, 'SIGTERM stops serve cleanly');
  const port = Number(
    (relay.lines.find((l) => (l as { msg?: string }).msg?.startsWith('listening')) as { port: number }).port,
  );
  const during = Array.from({ length: 3 }, (_, i) => makeCapture({ deviceCode: `dev-during-${i}` }));
  for (const c of during) await uploadCapture(s3, BUCKET, c);
  // Down long enough for RGW to try (and fail to connect): that is what stalls a 16.2 queue.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  relay = await startServe(port);
  // The operator's step after a relay outage (docs/self-hosted-storage.md).
  const gap = await replay(['--bucket', BUCKET, '--since', outageStart]);
  assert.equal(gap.code, 0);
  // Whether RGW's own re-sends got there first (replayed) or the replay did, each capture is in.
  const duringKeys = new Set(during.map((c) => c.metaKey));
  const ofDuring = gap.results.filter((r) => duringKeys.has(r.key));
  assert.deepEqual(
    ofDuring.map((r) => r.outcome.kind),
    ['delivered', 'delivered', 'delivered'],
  );
  assert.equal(await scanCount(during), 3);
  // A stalled 16.2 queue resumes when radosgw restarts: the next test kills and restarts it and
  // needs its notifications to flow again.
});

test('the gateway crashed (kill -9) and restarted mid-stream: every capture arrives', async () => {
  const captures = Array.from({ length: 6 }, (_, i) => makeCapture({ deviceCode: `dev-crash-${i}` }));
  for (const [i, c] of captures.entries()) {
    if (i === 3) await rgw.restartGateway();
    // The agent retries a failed upload; so does this loop (the gateway may still be coming up).
    await waitFor(() => uploadCapture(s3, BUCKET, c).then(() => true), {
      what: `upload ${i}`,
      timeoutMs: 60_000,
    });
  }
  await allScans(captures);
});

test('a gap (objects stored with no notification) is covered by `cti-relay replay --bucket --since`', async () => {
  const old = makeCapture({ deviceCode: 'dev-gap-old' });
  await uploadCapture(s3, QUIET_BUCKET, old);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // LastModified has one-second resolution: the second that began after `old` was stored.
  const since = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const gap = [makeCapture({ deviceCode: 'dev-gap-1' }), makeCapture({ deviceCode: 'dev-gap-2' })];
  for (const c of gap) await uploadCapture(s3, QUIET_BUCKET, c);
  assert.equal(await scanCount(gap, QUIET_BUCKET), 0, 'no notification, no scan');
  const first = await replay(['--bucket', QUIET_BUCKET, '--since', since]);
  assert.equal(first.code, 0, JSON.stringify(first));
  assert.deepEqual(
    first.results.map((r) => r.outcome.kind),
    ['delivered', 'delivered'],
  );
  assert.equal(await scanCount(gap, QUIET_BUCKET), 2);
  assert.equal(await scanCount([old], QUIET_BUCKET), 0, 'older than --since: not relayed');
  const again = await replay(['--bucket', QUIET_BUCKET, '--since', since]);
  assert.deepEqual(
    again.results.map((r) => r.outcome.replayed),
    [true, true],
    'a second replay changes nothing',
  );
  assert.equal(await scanCount(gap, QUIET_BUCKET), 2);
});

test('a meta.json whose image never comes is dead-lettered after CTI_RELAY_INCOMPLETE_MAX_AGE_S: the captures queued behind it get one scan each and stop being re-sent; `replay FILE` ingests it once the image is there', async (t) => {
  const stuck = makeCapture({ deviceCode: 'dev-stuck' });
  await uploadMeta(s3, BUCKET, stuck);
  const behind = Array.from({ length: 4 }, (_, i) => makeCapture({ deviceCode: `dev-behind-${i}` }));
  for (const c of behind) await uploadCapture(s3, BUCKET, c);
  const deadLetters = join(dir, 'dead-letters');
  const letter = await waitFor(
    async () => (await readdir(deadLetters).catch(() => [])).find((f) => f.includes('dev-stuck')),
    // RGW re-sends a 503'd entry every few seconds; the capture is given up on once 5 s old.
    { what: 'the stuck capture to be dead-lettered', timeoutMs: 120_000, intervalMs: 250 },
  );
  await allScans(behind);
  const stuckKey = (l: unknown) => (l as { key?: string }).key === stuck.metaKey;
  const handled = () =>
    relay.lines.filter((l) => stuckKey(l) && (l as { msg?: string }).msg?.startsWith('relay ')).length;
  const handledAtLetter = handled();
  const replays = async () => {
    const keys = behind.map((c) => `s3://${BUCKET}/${c.dir}`);
    const [row] = await db.sql`
      select count(*)::int as n from scan_events e join scans s on s.id = e.scan_id
      where s.ingest_key = any(${keys}) and e.event = 'replayed'`;
    return row?.n as number;
  };
  const replaysAtLetter = await replays();
  t.diagnostic(
    `stuck capture relayed ${handledAtLetter}× before its dead letter; ${replaysAtLetter} replays of the ${behind.length} behind it`,
  );
  // Captures uploaded after the dead letter are acknowledged in their turn: once the last is a scan,
  // RGW's queue has moved past the stuck entry, which is neither relayed nor re-sent again.
  const after = Array.from({ length: 2 }, (_, i) => makeCapture({ deviceCode: `dev-after-${i}` }));
  for (const c of after) await uploadCapture(s3, BUCKET, c);
  await allScans(after);
  assert.equal(await scanCount(behind), behind.length, 'one scan each');
  assert.equal(handled(), handledAtLetter, 'the dead-lettered notification is not re-sent');
  assert.equal(await replays(), replaysAtLetter, 'the captures behind it are no longer re-sent');
  assert.equal(await scanCount([stuck]), 0);
  // The operator's way out (docs/self-hosted-storage.md): upload the missing file, replay the letter.
  await uploadFiles(s3, BUCKET, stuck);
  // One record: replay prints its bare outcome; exit 0 = delivered (or ignored), the scan says which.
  assert.equal((await replay([join(deadLetters, letter)])).code, 0);
  assert.equal(await scanCount([stuck]), 1);
});
