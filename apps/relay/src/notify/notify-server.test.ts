// The notification endpoint over real HTTP, in process: s3rver holds the captures, a
// signature-verifying receiver plays the server. Notification bodies are built in the formats Ceph
// RGW and MinIO send (test-events.ts); notify-server.e2e.test.ts drives it from a real RGW.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, silentLogger } from '@cti/runtime';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { systemClock } from '../clock.ts';
import type { ServeConfig } from '../config.ts';
import { createRelay, type Relay } from '../relay-core.ts';
import { makeCapture, uploadCapture, uploadMeta } from '../test-captures.ts';
import { cephNotificationRecord, minioNotification } from '../test-events.ts';
import { type Receiver, startReceiver } from '../test-receiver.ts';
import { type NotifyServer, startNotifyServer } from './notify-server.ts';

const SECRET = 'notify-secret-0123456789';
const WEBHOOK_SECRET = 'webhook-secret-0123456789';
let s3: LocalS3;
let receiver: Receiver;
let server: NotifyServer;
let deadLetterDir: string;
let base: string;
let config: ServeConfig;
let relay: Relay;

before(async () => {
  [s3, receiver] = await Promise.all([
    startS3rver({ buckets: ['cti-notify'] }),
    startReceiver({
      secrets: [WEBHOOK_SECRET],
      // A capture of device "dev-refused" is refused for good (a 422, e.g. an unknown bucket).
      reply: (request) =>
        String(request.body.ingest_key).startsWith('raw/dev-refused/')
          ? { status: 422, body: { error: 'validation_failed', message: 'no' } }
          : undefined,
    }),
  ]);
  deadLetterDir = await mkdtemp(join(tmpdir(), 'relay-dead-'));
  config = {
    host: '127.0.0.1',
    port: 0,
    notifySecrets: ['old-notify-secret-0000', SECRET],
    maxBodyBytes: 64 * 1024,
    // Budgets that a loaded machine does not run out of: the first relay in this process (cold S3
    // client, first webhook connection) took 0.1-0.9 s at load 12, against 1.5 s here and a 1 s
    // webhook timeout, after which a second attempt was made. The budget running out is tested by
    // its own server below.
    budgetMs: 30_000,
    deadLetterDir,
    incompleteMaxAgeMs: 300_000,
  };
  relay = createRelay({
    s3: s3.client,
    config: {
      webhookUrl: receiver.url,
      webhookSecrets: [WEBHOOK_SECRET],
      budgetMs: 30_000,
      httpTimeoutMs: 10_000,
    },
    log: silentLogger(),
    clock: systemClock,
    source: 'notification',
    baseMs: 50,
    capMs: 200,
  });
  server = await startNotifyServer({ relay, config, log: silentLogger(), clock: systemClock });
  base = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.close();
  await Promise.all([s3?.close(), receiver?.close()]);
  await rm(deadLetterDir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}, to = base) =>
  fetch(`${to}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('Ceph RGW: the secret in the records’ opaqueData; a meta.json becomes one signed webhook', async () => {
  const capture = makeCapture();
  await uploadCapture(s3.client, 'cti-notify', capture);
  const res = await post('/notify', {
    Records: [
      cephNotificationRecord('cti-notify', capture.dir + 'image.png', SECRET),
      cephNotificationRecord('cti-notify', capture.metaKey, SECRET),
    ],
  });
  const body = (await res.json()) as { results: { key: string; outcome: { kind: string } }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.deepEqual(
    body.results.map((r) => r.outcome.kind),
    ['ignored', 'delivered'],
  );
  const sent = receiver.for(capture.dir);
  assert.equal(sent.length, 1);
  assert.ok(sent[0]?.signatureOk);
  assert.equal((sent[0]!.body.relay as { source: string }).source, 'notification');
});

test('MinIO: the secret as Authorization (auth_token), URL-encoded keys; or in the endpoint URL', async () => {
  const capture = makeCapture({ deviceCode: 'dev-minio' });
  await uploadCapture(s3.client, 'cti-notify', capture);
  const byHeader = await post('/notify', minioNotification('cti-notify', capture.metaKey), {
    authorization: `Bearer ${SECRET}`,
  });
  assert.equal(byHeader.status, 200);
  const byQuery = await post(`/notify?token=${SECRET}`, minioNotification('cti-notify', capture.metaKey));
  assert.equal(byQuery.status, 200);
  const byPath = await post(`/notify/${SECRET}`, minioNotification('cti-notify', capture.metaKey));
  assert.equal(byPath.status, 200);
  const rotated = await post(
    '/notify?token=old-notify-secret-0000',
    minioNotification('cti-notify', capture.metaKey),
  );
  assert.equal(rotated.status, 200, 'every configured secret is accepted');
  assert.equal(receiver.for(capture.dir).length, 4, 'each notification relayed (the server sees replays)');
});

test('unauthenticated, oversized, malformed or misdirected notifications are refused and relay nothing', async () => {
  const capture = makeCapture({ deviceCode: 'dev-refusals' });
  await uploadCapture(s3.client, 'cti-notify', capture);
  const record = cephNotificationRecord('cti-notify', capture.metaKey, 'not-the-secret-at-all');
  const cases: [string, Promise<Response>, number][] = [
    ['no secret', post('/notify', { Records: [{ ...record, opaqueData: '' }] }), 401],
    ['wrong opaqueData', post('/notify', { Records: [record] }), 401],
    ['wrong token', post('/notify?token=nope', { Records: [record] }), 401],
    [
      'one record without it',
      post('/notify', { Records: [cephNotificationRecord('cti-notify', capture.metaKey, SECRET), record] }),
      401,
    ],
    ['too large', post(`/notify?token=${SECRET}`, 'x'.repeat(65 * 1024)), 413],
    ['not JSON', post(`/notify?token=${SECRET}`, '{"Records": ['), 400],
    ['not S3 records', post(`/notify?token=${SECRET}`, { hello: 'world' }), 400],
    ['wrong path', post('/elsewhere', { Records: [record] }), 404],
    // both used to be a 500: decodeURIComponent threw on the path, JSON.stringify on the depth
    ['a secret in the path that is not URL encoding', post('/notify/%ZZ', { Records: [record] }), 401],
    [
      'not S3 records, nested too deep to show',
      post(`/notify?token=${SECRET}`, `{"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`),
      400,
    ],
  ];
  for (const [what, response, status] of cases) {
    const res = await response;
    assert.equal(res.status, status, `${what}: ${await res.text()}`);
  }
  assert.equal(receiver.for(capture.dir).length, 0);
});

test('meta.json without its image: 503 after the budget, so the store re-sends; then one webhook', async (t) => {
  const impatient = await startNotifyServer({
    relay,
    config: { ...config, budgetMs: 1500 },
    log: silentLogger(),
    clock: systemClock,
  });
  t.after(() => impatient.close());
  const capture = makeCapture({ deviceCode: 'dev-early' });
  await uploadMeta(s3.client, 'cti-notify', capture);
  const notification = { Records: [cephNotificationRecord('cti-notify', capture.metaKey, SECRET)] };
  const early = await post('/notify', notification, {}, `http://127.0.0.1:${impatient.port}`);
  const answer = (await early.json()) as { results: { outcome: { kind: string; missing?: string[] } }[] };
  assert.equal(early.status, 503);
  const { metaLastModified, ...outcome } = answer.results[0]!.outcome as { metaLastModified?: string };
  assert.deepEqual(outcome, { kind: 'incomplete', ingestKey: capture.dir, missing: ['image.png'] });
  assert.ok(Math.abs(Date.now() - Date.parse(metaLastModified ?? '')) < 60_000, 'meta.json just stored');
  await uploadCapture(s3.client, 'cti-notify', capture);
  const again = await post('/notify', notification);
  assert.equal(again.status, 200);
  assert.equal(receiver.for(capture.dir).length, 1);
});

test('a capture the server rejects for good: 200 (no re-send) and a dead letter that `cti-relay replay` reads', async () => {
  const capture = makeCapture({ deviceCode: 'dev-refused' });
  await uploadCapture(s3.client, 'cti-notify', capture);
  const res = await post('/notify', {
    Records: [cephNotificationRecord('cti-notify', capture.metaKey, SECRET)],
  });
  assert.equal(res.status, 200);
  const [file, ...more] = await readdir(deadLetterDir);
  assert.equal(more.length, 0);
  const letter = JSON.parse(await readFile(join(deadLetterDir, file!), 'utf8'));
  assert.equal(letter.requestPayload.Records[0].s3.object.key, capture.metaKey);
  assert.equal(letter.responsePayload.outcome.kind, 'rejected');
  assert.match(letter.responsePayload.outcome.reason, /^HTTP 422 validation_failed/);
});

type LogLine = { level: number; msg: string; key?: string; ageBy?: string; field?: string };

/** A logger whose JSON lines land in `lines`. */
function capturedLog(level = 'info') {
  const lines: LogLine[] = [];
  const log = createLogger({
    name: 'relay-test',
    level,
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

/**
 * A notify server of its own (dead letters in a fresh directory, its log captured) whose clock starts
 * `aheadMs` ahead of the system's (the store's) and moves on by `advance(ms)`: the relay's wait for an
 * unsettled record without waiting.
 */
async function separateServer(
  t: { after(fn: () => unknown): void },
  { aheadMs = 0, incompleteMaxAgeMs = config.incompleteMaxAgeMs, unsettledLimit = 10_000 } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'relay-dead-'));
  let offsetMs = aheadMs;
  const clock = { ...systemClock, now: () => Date.now() + offsetMs };
  const { log, lines } = capturedLog();
  const notify = await startNotifyServer({
    relay,
    config: { ...config, budgetMs: 1500, deadLetterDir: dir, incompleteMaxAgeMs },
    log,
    clock,
    unsettledLimit,
  });
  t.after(async () => {
    await notify.close();
    await rm(dir, { recursive: true, force: true });
  });
  const send = (body: unknown) => post('/notify', body, {}, `http://127.0.0.1:${notify.port}`);
  const advance = (ms: number) => {
    offsetMs += ms;
  };
  const letters = async () => {
    const files = await readdir(dir);
    return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8'))));
  };
  return { dir, send, advance, lines, letters };
}

const deadLettered = (lines: LogLine[]) =>
  lines.filter((l) => l.msg.startsWith('notification dead-lettered'));

test('a capture incomplete longer than incompleteMaxAgeMs (by the relay’s clock too): 200 and one dead letter naming what is missing', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-stuck' });
  await uploadMeta(s3.client, 'cti-notify', capture);
  const notification = { Records: [cephNotificationRecord('cti-notify', capture.metaKey, SECRET)] };
  const { dir, send, advance } = await separateServer(t);
  const first = await send(notification);
  assert.equal(first.status, 503, 'just stored, just seen');
  advance(301_000); // the max age is 300 s, and both clocks agree it has passed
  for (const round of [1, 2, 3]) {
    const res = await send(notification);
    assert.equal(res.status, 200, `re-send ${round}: ${await res.text()}`);
  }
  const files = await readdir(dir);
  assert.equal(files.length, 1, 'a re-send overwrites its dead letter');
  assert.match(files[0] ?? '', /^cti-notify_raw_dev-stuck_.*_meta\.json-[0-9a-f]{16}\.json$/);
  const letter = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
  assert.equal(letter.requestPayload.Records[0].s3.object.key, capture.metaKey);
  assert.equal(letter.responsePayload.outcome.kind, 'incomplete');
  assert.deepEqual(letter.responsePayload.outcome.missing, ['image.png']);
  assert.equal(receiver.for(capture.dir).length, 0);
});

test('a store clock behind the relay’s: a meta.json whose image is still on the wire is answered 503, not dead-lettered, and delivered once the image lands', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-skewed' });
  await uploadMeta(s3.client, 'cti-notify', capture);
  const notification = { Records: [cephNotificationRecord('cti-notify', capture.metaKey, SECRET)] };
  // meta.json's LastModified reads 10 min old to the relay: its clock is ahead, the store's behind.
  const { send, lines, letters } = await separateServer(t, { aheadMs: 600_000 });
  const early = await send(notification);
  assert.equal(early.status, 503, await early.text());
  assert.deepEqual(await letters(), []);
  await uploadCapture(s3.client, 'cti-notify', capture);
  const done = await send(notification);
  const body = (await done.json()) as { results: { outcome: { kind: string } }[] };
  assert.equal(done.status, 200);
  assert.equal(body.results[0]?.outcome.kind, 'delivered');
  assert.equal(receiver.for(capture.dir).length, 1);
  assert.deepEqual(await letters(), []);
  assert.deepEqual(deadLettered(lines), []);
});

test('a meta.json that does not exist: 503 while the relay has seen it for less than the max age (however old its eventTime), then a dead letter', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-vanished' });
  const record = cephNotificationRecord('cti-notify', capture.metaKey, SECRET);
  const notification = { Records: [{ ...record, eventTime: new Date(Date.now() - 301_000).toISOString() }] };
  const { send, advance, letters } = await separateServer(t);
  const fresh = await send(notification);
  assert.equal(fresh.status, 503, 'an old event the relay has only just seen');
  assert.deepEqual(await letters(), []);
  advance(301_000);
  const old = await send(notification);
  assert.equal(old.status, 200);
  const [letter, ...more] = await letters();
  assert.equal(more.length, 0);
  const { outcome } = letter.responsePayload;
  assert.equal(outcome.kind, 'failed');
  assert.match(outcome.reason, /meta\.json does not exist/);
});

test('a meta.json that does not exist, in a record without an eventTime: 503 (one warning naming it), then a dead letter by the relay’s clock', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-timeless' });
  const { eventTime: _, ...record } = cephNotificationRecord('cti-notify', capture.metaKey, SECRET);
  const notification = { Records: [record] };
  const { send, advance, lines, letters } = await separateServer(t);
  assert.equal((await send(notification)).status, 503, 'first seen');
  advance(200_000);
  assert.equal((await send(notification)).status, 503, 'seen 200 s ago: younger than the max age');
  assert.deepEqual(await letters(), []);
  advance(101_000);
  assert.equal((await send(notification)).status, 200, 'the queue behind it is no longer held');
  const [letter, ...more] = await letters();
  assert.equal(more.length, 0);
  assert.equal(letter.requestPayload.Records[0].s3.object.key, capture.metaKey);
  assert.equal(letter.responsePayload.outcome.kind, 'failed');
  assert.equal(letter.responsePayload.outcome.metaMissing, true);
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(
    warnings.map((l) => [l.key, l.field, l.msg]),
    [
      [
        capture.metaKey,
        'eventTime',
        "notification record without a usable store time: its age is measured by the relay's clock alone",
      ],
    ],
    'warned once, not on every re-send',
  );
  assert.deepEqual(
    deadLettered(lines).map((l) => [l.key, l.ageBy]),
    [[capture.metaKey, 'relay']],
  );
});

test('a store clock ahead of the relay’s delays the give-up until the store’s clock says so too (a warning says by how much)', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-ahead' });
  const record = cephNotificationRecord('cti-notify', capture.metaKey, SECRET);
  const notification = { Records: [{ ...record, eventTime: new Date(Date.now() + 600_000).toISOString() }] };
  const { send, advance, lines, letters } = await separateServer(t);
  assert.equal((await send(notification)).status, 503);
  advance(301_000);
  assert.equal((await send(notification)).status, 503, 'the relay has waited, the store’s time has not');
  advance(600_000);
  assert.equal((await send(notification)).status, 200);
  assert.equal((await letters()).length, 1);
  assert.deepEqual(
    lines
      .filter((l) => l.level === 40)
      .map((l) => [l.key, l.field, (l as { aheadS?: number }).aheadS! > 590]),
    [[capture.metaKey, 'eventTime', true]],
  );
  assert.deepEqual(
    deadLettered(lines).map((l) => l.ageBy),
    ['store'],
  );
});

test('incompleteMaxAgeMs 0 gives up at once, a record with a garbled eventTime too', async (t) => {
  const capture = makeCapture({ deviceCode: 'dev-impatient' });
  const record = cephNotificationRecord('cti-notify', capture.metaKey, SECRET);
  const { send, letters } = await separateServer(t, { incompleteMaxAgeMs: 0 });
  const res = await send({ Records: [{ ...record, eventTime: 'last tuesday' }] });
  assert.equal(res.status, 200, await res.text());
  const [letter, ...more] = await letters();
  assert.equal(more.length, 0);
  assert.equal(letter.responsePayload.outcome.kind, 'failed');
});

test('beyond unsettledLimit records the relay forgets the least recently re-sent one (a warning names it): its wait starts over', async (t) => {
  const a = makeCapture({ deviceCode: 'dev-crowd-a' });
  const b = makeCapture({ deviceCode: 'dev-crowd-b' });
  // No eventTime (and no meta.json): only the relay's clock ages these.
  const only = (capture: typeof a) => {
    const { eventTime: _, ...record } = cephNotificationRecord('cti-notify', capture.metaKey, SECRET);
    return { Records: [record] };
  };
  const { send, advance, lines, letters } = await separateServer(t, { unsettledLimit: 1 });
  assert.equal((await send(only(a))).status, 503);
  advance(200_000);
  assert.equal((await send(only(b))).status, 503, 'b pushes a out');
  advance(101_000);
  assert.equal((await send(only(a))).status, 503, 'a seen again: 0 s, not 301 s');
  assert.equal((await send(only(b))).status, 503, 'b in turn pushed out by a');
  assert.deepEqual(await letters(), []);
  const forgot = lines.filter((l) => l.msg.startsWith('too many unsettled notification records'));
  assert.deepEqual(
    forgot.map((l) => l.key),
    [a.metaKey, b.metaKey, a.metaKey],
  );
});

test('a notification with a rejected and an incomplete record, re-sent 3 times: 503 each time, one dead letter', async (t) => {
  const refused = makeCapture({ deviceCode: 'dev-refused' });
  const early = makeCapture({ deviceCode: 'dev-early-2' });
  await uploadCapture(s3.client, 'cti-notify', refused);
  await uploadMeta(s3.client, 'cti-notify', early);
  const { dir, send } = await separateServer(t);
  const notification = {
    Records: [
      cephNotificationRecord('cti-notify', refused.metaKey, SECRET),
      cephNotificationRecord('cti-notify', early.metaKey, SECRET),
    ],
  };
  for (const round of [1, 2, 3]) assert.equal((await send(notification)).status, 503, `round ${round}`);
  const files = await readdir(dir);
  assert.equal(files.length, 1, files.join(', '));
  assert.match(files[0] ?? '', /^cti-notify_raw_dev-refused_/);
});

test('a store hanging up mid-body is a quiet client abort, not a 500 logged as an error', async (t) => {
  const { log, lines } = capturedLog('debug');
  const quiet = await startNotifyServer({ relay, config, log, clock: systemClock });
  t.after(() => quiet.close());
  const socket = connect(quiet.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /notify?token=${SECRET} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"Records": [`,
  );
  await delay(100); // the headers reach the handler, which starts reading the body
  socket.destroy();
  await waitFor(() => lines.length > 0, { what: 'a log line about the aborted request' });
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [[20, 'client disconnected before its notification body was complete']],
  );
});
