import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { MAX_EXTRA_FILES, validateWebhookBody } from '@cti/contracts';
import { createLogger, silentLogger } from '@cti/runtime';
import { type LocalS3, startS3rver } from '@cti/testkit';
import type { Clock } from './clock.ts';
import { createRelay, MAX_META_DEPTH, nestsDeeperThan } from './relay-core.ts';
import { makeCapture, putObject, uploadCapture, uploadFiles, uploadMeta } from './test-captures.ts';
import { fakeClock } from './test-clock.ts';
import { type Receiver, type ReceiverOptions, startReceiver } from './test-receiver.ts';

const secrets = ['relay-test-secret', 'older-secret'];
let s3: LocalS3;
before(async () => {
  s3 = await startS3rver({ buckets: ['cti-relay-core'] });
});
after(() => s3.close());

async function setup(
  t: { after: (fn: () => Promise<void>) => void },
  options: Partial<ReceiverOptions> = {},
  clock?: Clock,
  log = silentLogger(),
) {
  const receiver = await startReceiver({ secrets, ...options });
  t.after(() => receiver.close());
  const relay = createRelay({
    s3: s3.client,
    config: { webhookUrl: receiver.url, webhookSecrets: secrets, budgetMs: 30_000, httpTimeoutMs: 5000 },
    log,
    clock: clock ?? fakeClock().clock,
    source: 'test',
    baseMs: 10,
    capMs: 50,
  });
  return { receiver, relay };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a complete capture is delivered once, signed, with sizes and the meta.json hash', async (t) => {
  const { receiver, relay } = await setup(t);
  const capture = makeCapture({ extra: ['notes.txt'] });
  await uploadCapture(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey, eventId: 'evt-1' });
  assert.equal(outcome.kind, 'delivered');
  assert.equal(outcome.kind === 'delivered' && outcome.scanId?.length, 36);
  assert.equal(receiver.requests.length, 1);
  const [request] = receiver.requests;
  assert.ok(request?.signatureOk, 'signed with the first secret');
  const body = request.body as Record<string, unknown>;
  assert.ok(validateWebhookBody(body).ok);
  assert.equal(body.ingest_key, capture.dir);
  assert.deepEqual(body.objects, ['image.png', 'notes.txt', 'meta.json']);
  assert.equal(body.meta_sha256, sha(capture.metaBytes));
  assert.equal(body.meta_size_bytes, capture.metaBytes.length);
  const notes = capture.files.get('notes.txt') as Buffer;
  assert.deepEqual(body.object_details, [
    { name: 'image.png', size_bytes: capture.files.get('image.png')?.length, sha256: null },
    { name: 'notes.txt', size_bytes: notes.length, sha256: sha(notes) },
    { name: 'meta.json', size_bytes: capture.metaBytes.length, sha256: sha(capture.metaBytes) },
  ]);
  assert.deepEqual(
    { ...(body.relay as object), emitted_at: 'x' },
    { source: 'test', event_id: 'evt-1', emitted_at: 'x' },
  );
});

test('a 200 saying content_differs (same ingest_key, other content) is delivered but flagged and warned about', async (t) => {
  const lines: { level: number; msg: string; captureId?: string; ingestKey?: string }[] = [];
  const log = createLogger({
    name: 'relay-test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const receiver = await startReceiver({
    secrets,
    reply: () => ({ status: 200, body: { scan_id: 'scan-first', replayed: true, content_differs: true } }),
  });
  t.after(() => receiver.close());
  const relay = createRelay({
    s3: s3.client,
    config: { webhookUrl: receiver.url, webhookSecrets: secrets, budgetMs: 30_000, httpTimeoutMs: 5000 },
    log,
    clock: fakeClock().clock,
    source: 'test',
  });
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.deepEqual(outcome, {
    kind: 'delivered',
    ingestKey: capture.dir,
    status: 200,
    scanId: 'scan-first',
    replayed: true,
    contentDiffers: true,
    attempts: 1,
  });
  assert.equal(receiver.requests.length, 1, 'a settled answer: not retried');
  const warnings = lines.filter((l) => l.level === 40);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.captureId, capture.meta.capture_id);
  assert.equal(warnings[0]?.ingestKey, capture.dir);
  assert.match(warnings[0]?.msg ?? '', /different content/);
});

test('an ordinary replay (content_differs false or absent) is not flagged', async (t) => {
  const { relay } = await setup(t, {
    reply: () => ({ status: 200, body: { scan_id: 'scan-1', replayed: true, content_differs: false } }),
  });
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(outcome.kind === 'delivered' && outcome.replayed, true);
  assert.equal(outcome.kind === 'delivered' && outcome.contentDiffers, false);
});

test('a capture with a mask and the 64 extra files meta.json v1 allows is delivered (the body holds 67 objects)', async (t) => {
  const { receiver, relay } = await setup(t);
  const extra = Array.from({ length: MAX_EXTRA_FILES }, (_, i) => `extra-${i}.txt`);
  const capture = makeCapture({ withMask: true, extra });
  await uploadCapture(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(outcome.kind, 'delivered', JSON.stringify(outcome));
  assert.equal((receiver.for(capture.dir)[0]!.body.objects as string[]).length, MAX_EXTRA_FILES + 3);
});

test('keys that are not a capture meta.json are ignored without a request', async (t) => {
  const { receiver, relay } = await setup(t);
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  for (const key of [`${capture.dir}image.png`, 'processed/cap_1/meta.json', 'raw/dev-1/notes.txt']) {
    const outcome = await relay.relayObject({ bucket: s3.bucket, key });
    assert.equal(outcome.kind, 'ignored', key);
  }
  assert.equal(receiver.requests.length, 0);
});

test('a meta.json under raw/ outside the capture layout is rejected with the reason and a warning naming the key', async (t) => {
  const lines: { level: number; key?: string; reason?: string; msg: string }[] = [];
  const log = createLogger({
    name: 'relay-test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const { receiver, relay } = await setup(t, {}, undefined, log);
  const keys = [
    'raw/DEV-UPPER/2026/12/06/cap_1/meta.json',
    'raw/dev-x/2026/12/6/cap_x/meta.json',
    'raw/dev-x/2026/12/06/cap_x/sub/meta.json',
    'raw/meta.json',
  ];
  for (const key of keys) {
    const outcome = await relay.relayObject({ bucket: s3.bucket, key });
    assert.equal(outcome.kind, 'rejected', key);
    assert.match(outcome.kind === 'rejected' ? outcome.reason : '', /^outside the raw capture layout: /);
  }
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(
    warnings.map((l) => l.key),
    keys,
  );
  assert.match(warnings[0]?.reason ?? '', /invalid device_code "DEV-UPPER"/);
  assert.equal(receiver.requests.length, 0);
});

test('meta.json before the image: no webhook while it is missing, then exactly one', async (t) => {
  const capture = makeCapture();
  let requestsWhenImageArrived = -1;
  const { clock, sleeps } = fakeClock(async (_ms, n) => {
    if (n !== 2) return;
    requestsWhenImageArrived = receiver.requests.length;
    await uploadFiles(s3.client, s3.bucket, capture);
  });
  const { receiver, relay } = await setup(t, {}, clock);
  await uploadMeta(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(outcome.kind, 'delivered');
  assert.equal(requestsWhenImageArrived, 0);
  assert.equal(sleeps.length, 3, 'listed three times before the image was there');
  assert.equal(receiver.requests.length, 1);
});

test('without a completion wait an incomplete capture reports what is missing', async (t) => {
  const { receiver, relay } = await setup(t);
  const capture = makeCapture({ withMask: true });
  await putObject(s3.client, s3.bucket, `${capture.dir}mask.png`, capture.files.get('mask.png') as Buffer);
  await uploadMeta(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject(
    { bucket: s3.bucket, key: capture.metaKey },
    { completionWaitMs: 0 },
  );
  const { metaLastModified, ...rest } = outcome as { metaLastModified?: string };
  assert.deepEqual(rest, { kind: 'incomplete', ingestKey: capture.dir, missing: ['image.png'] });
  // meta.json's LastModified: how long the capture has been waiting (serve gives up after a bound).
  assert.ok(Math.abs(Date.now() - Date.parse(metaLastModified ?? '')) < 60_000, metaLastModified);
  assert.equal(receiver.requests.length, 0);
});

test('invalid or oversized meta.json is rejected with the problem named, without a request', async (t) => {
  const { receiver, relay } = await setup(t);
  const capture = makeCapture();
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('{"meta_version": '), /not valid JSON/],
    [Buffer.from(JSON.stringify({ ...capture.meta, gps: { lat: 95, lon: 0 } })), /\/gps\/lat: must be <= 90/],
    [Buffer.from(JSON.stringify({ ...capture.meta, capture_id: 'cap_other' })), /\/ingest_key: must be/],
    [Buffer.alloc(300 * 1024, 32), /over the 262144 limit/],
    // The server refuses U+0000 (Postgres cannot store it): rejected here instead of relayed to a 422
    [
      Buffer.from(JSON.stringify({ ...capture.meta, operator_id: 'op\u00001' })),
      /\/operator_id: must not contain the NUL character \(U\+0000\)/,
    ],
    // 200 kB, under the limit: overflowed JSON.stringify and came back as a retryable "failed"
    [
      Buffer.from(
        `{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},${JSON.stringify(capture.meta).slice(1)}`,
      ),
      /meta.json nests objects or arrays 63 or more levels deep/,
    ],
  ];
  await uploadFiles(s3.client, s3.bucket, capture);
  for (const [bytes, reason] of cases) {
    await putObject(s3.client, s3.bucket, capture.metaKey, bytes);
    const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
    assert.equal(outcome.kind, 'rejected');
    assert.match(outcome.kind === 'rejected' ? outcome.reason : '', reason);
  }
  assert.equal(receiver.requests.length, 0);
});

test('the meta.json depth limit matches the server: a body container 64 levels deep is a 422', () => {
  const nested = (n: number) => JSON.parse(`{"deep":${'['.repeat(n)}${']'.repeat(n)}}`);
  // meta_json is body depth 1, so `deep`'s innermost array of n brackets is body depth n + 1
  assert.equal(nestsDeeperThan(nested(62), MAX_META_DEPTH), false);
  assert.equal(nestsDeeperThan(nested(63), MAX_META_DEPTH), true);
  assert.equal(nestsDeeperThan(nested(100_000), MAX_META_DEPTH), true);
});

test('a meta.json that vanished after its event is a retryable failure', async (t) => {
  const { relay } = await setup(t);
  const capture = makeCapture();
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(outcome.kind, 'failed');
  assert.match(outcome.kind === 'failed' ? outcome.reason : '', /does not exist/);
});

test('transient server errors are retried until delivered; a 422 is not retried', async (t) => {
  const flaky = await setup(t, {
    reply: (_r, n) =>
      n < 2 ? { status: 503, body: { error: 'db_unavailable' }, headers: { 'retry-after': '1' } } : undefined,
  });
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const delivered = await flaky.relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(delivered.kind === 'delivered' && delivered.attempts, 3);
  assert.equal(flaky.receiver.requests.length, 3);

  const strict = await setup(t, {
    reply: () => ({
      status: 422,
      body: { error: 'invalid_body', problems: [{ pointer: '/bucket', message: 'is not accepted' }] },
    }),
  });
  const rejected = await strict.relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.deepEqual(rejected, {
    kind: 'rejected',
    ingestKey: capture.dir,
    status: 422,
    reason: 'HTTP 422 invalid_body: /bucket: is not accepted',
  });
  assert.equal(strict.receiver.requests.length, 1);
});

test('a server that keeps failing exhausts the budget and reports failed', async (t) => {
  const { receiver, relay } = await setup(t, { reply: () => ({ status: 500, body: 'boom' }) });
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey }, { budgetMs: 2000 });
  assert.equal(outcome.kind, 'failed');
  assert.match(outcome.kind === 'failed' ? outcome.reason : '', /HTTP 500 "boom".*budget spent/);
  assert.ok(receiver.requests.length >= 2);
});

async function unusedPortUrl(): Promise<string> {
  const receiver: Receiver = await startReceiver({ secrets });
  await receiver.close();
  return receiver.url;
}

test('network errors are transient', async () => {
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const { clock, sleeps } = fakeClock();
  const relay = createRelay({
    s3: s3.client,
    config: {
      webhookUrl: await unusedPortUrl(),
      webhookSecrets: secrets,
      budgetMs: 3000,
      httpTimeoutMs: 2000,
    },
    log: silentLogger(),
    clock,
    source: 'test',
    baseMs: 100,
  });
  const outcome = await relay.relayObject({ bucket: s3.bucket, key: capture.metaKey });
  assert.equal(outcome.kind, 'failed');
  assert.match(outcome.kind === 'failed' ? outcome.reason : '', /network: .*ECONNREFUSED/);
  assert.ok(sleeps.length >= 1);
});
