import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createLogger, silentLogger } from '@cti/runtime';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { type Clock, systemClock } from '../clock.ts';
import { createRelay } from '../relay-core.ts';
import { makeCapture, putObject, uploadCapture, uploadFiles, uploadMeta } from '../test-captures.ts';
import { fakeClock } from '../test-clock.ts';
import { type Receiver, startReceiver } from '../test-receiver.ts';
import { createWatcher } from './watcher.ts';

const secrets = ['watch-secret'];
let s3: LocalS3;
let receiver: Receiver;
let dir: string;
before(async () => {
  s3 = await startS3rver({ buckets: Array.from({ length: 12 }, (_, i) => `cti-watch-${i}`) });
  receiver = await startReceiver({ secrets });
  dir = await mkdtemp(join(tmpdir(), 'relay-watch-'));
});
after(async () => {
  await receiver.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

// Each test gets its own bucket, so a fresh cursor never sees another test's captures.
let buckets = 0;
function freshBucket(): string {
  return `cti-watch-${buckets++}`;
}

/**
 * A fake clock 5 s ahead, so no LastModified stored during a (short) test is ahead of it: the
 * watermark is bounded by the relay's clock, and a frozen clock would hold it below the uploads that
 * a grace-0 test needs it to pass.
 */
async function clockAhead(): Promise<Clock> {
  const { clock } = fakeClock();
  await clock.sleep(5_000);
  return clock;
}

function watcherFor({
  bucket = freshBucket(),
  stateFile = join(dir, `${bucket}-${Math.random()}.json`),
  clock = fakeClock().clock as Clock,
  graceMs = 60_000,
  fetch = globalThis.fetch,
  secret = secrets[0] as string,
  retryRejected = false,
  log = silentLogger(),
} = {}) {
  const relay = createRelay({
    s3: s3.client,
    fetch,
    config: { webhookUrl: receiver.url, webhookSecrets: [secret], budgetMs: 5000, httpTimeoutMs: 5000 },
    log: silentLogger(),
    clock,
    source: 'local',
    baseMs: 10,
  });
  const config = { bucket, prefix: 'raw/', stateFile, pollMs: 50, graceMs };
  return {
    watcher: createWatcher({ s3: s3.client, relay, config, log, clock, retryRejected }),
    stateFile,
    bucket,
  };
}

test('each new capture is relayed once, however often the bucket is polled', async () => {
  const { watcher, bucket } = watcherFor();
  const a = makeCapture();
  const b = makeCapture();
  await uploadCapture(s3.client, bucket, a);
  await watcher.pollOnce();
  await uploadCapture(s3.client, bucket, b);
  await watcher.pollOnce();
  await watcher.pollOnce();
  assert.equal(receiver.for(a.dir).length, 1);
  assert.equal(receiver.for(b.dir).length, 1);
});

test('meta.json before the image: pending without a webhook, then exactly one once the image exists', async () => {
  const { clock } = fakeClock();
  const { watcher, bucket } = watcherFor({ clock });
  const capture = makeCapture();
  await uploadMeta(s3.client, bucket, capture);
  await watcher.pollOnce();
  const pending = (await watcher.state()).pending[capture.metaKey];
  assert.equal(pending?.last, 'incomplete, missing image.png');
  await clock.sleep(120_000);
  await watcher.pollOnce();
  assert.equal((await watcher.state()).pending[capture.metaKey]?.attempts, 2, 'still pending, checked again');
  assert.equal(receiver.for(capture.dir).length, 0);
  await uploadFiles(s3.client, bucket, capture);
  await watcher.pollOnce();
  assert.equal(receiver.for(capture.dir).length, 0, 'not before its retry time');
  await clock.sleep(120_000);
  await watcher.pollOnce();
  await watcher.pollOnce();
  assert.equal(receiver.for(capture.dir).length, 1);
  assert.equal((await watcher.state()).pending[capture.metaKey], undefined);
});

test('a restart resumes from the cursor: no miss (even lexically earlier keys), no repeat', async () => {
  const first = watcherFor();
  const bucket = first.bucket;
  const seen = makeCapture({ deviceCode: 'dev-mmm' });
  await uploadCapture(s3.client, bucket, seen);
  await first.watcher.pollOnce();
  // While the watcher is down: one key sorts after everything seen, one before.
  const later = makeCapture({ deviceCode: 'dev-zzz' });
  const earlier = makeCapture({ deviceCode: 'dev-aaa', capturedAt: '2024-01-01T00:00:00Z' });
  await uploadCapture(s3.client, bucket, later);
  await uploadCapture(s3.client, bucket, earlier);
  const second = watcherFor({ bucket: first.bucket, stateFile: first.stateFile });
  await second.watcher.pollOnce();
  assert.deepEqual(
    [seen, later, earlier].map((c) => receiver.for(c.dir).length),
    [1, 1, 1],
  );
  const saved = JSON.parse(await readFile(first.stateFile, 'utf8'));
  assert.equal(saved.settled[later.metaKey].outcome, 'delivered');
});

test('an overwritten meta.json (new ETag) is relayed again; a rejected one is settled with its reason', async () => {
  const { watcher, bucket } = watcherFor();
  const capture = makeCapture();
  await uploadCapture(s3.client, bucket, capture);
  await watcher.pollOnce();
  await putObject(s3.client, bucket, capture.metaKey, Buffer.from(JSON.stringify(capture.meta)));
  await watcher.pollOnce();
  assert.equal(receiver.for(capture.dir).length, 2);
  const broken = makeCapture();
  await uploadFiles(s3.client, bucket, broken);
  await putObject(s3.client, bucket, broken.metaKey, Buffer.from('{"meta_version":"2.0.0"}'));
  await watcher.pollOnce();
  await watcher.pollOnce();
  const settled = (await watcher.state()).settled[broken.metaKey];
  assert.equal(settled?.outcome, 'rejected');
  assert.match(settled?.reason ?? '', /unsupported major version 2/);
});

test('the cursor forgets settled keys older than watermark − grace without re-relaying them', async () => {
  const { watcher, stateFile, bucket } = watcherFor({ clock: await clockAhead(), graceMs: 0 });
  const old = makeCapture();
  await uploadCapture(s3.client, bucket, old);
  await watcher.pollOnce();
  const oldModified = Date.parse((await watcher.state()).settled[old.metaKey]?.lastModified ?? '');
  // S3 LastModified has one-second resolution: re-upload until the new capture is strictly newer.
  const fresh = makeCapture();
  await waitFor(
    async () => {
      await uploadCapture(s3.client, bucket, fresh);
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: fresh.metaKey }));
      return (head.LastModified?.getTime() ?? 0) > oldModified;
    },
    { intervalMs: 200, what: 'a strictly newer LastModified' },
  );
  await watcher.pollOnce();
  assert.deepEqual(Object.keys((await watcher.state()).settled), [fresh.metaKey], 'the old key was pruned');
  const restarted = watcherFor({ bucket, stateFile, clock: await clockAhead(), graceMs: 0 });
  await restarted.watcher.pollOnce();
  assert.deepEqual(
    [old, fresh].map((c) => receiver.for(c.dir).length),
    [1, 1],
  );
});

test('start/poke/stop: the polling loop relays without an explicit poll', async () => {
  const { watcher, bucket } = watcherFor({ clock: systemClock });
  await watcher.start();
  const capture = makeCapture();
  await uploadCapture(s3.client, bucket, capture);
  watcher.poke();
  await waitFor(() => receiver.for(capture.dir).length === 1, { what: 'the watcher to relay the capture' });
  await watcher.stop();
});

test('stop() lets an in-flight delivery finish and records it, so a restart does not re-send it', async () => {
  let inFlight = false;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slowFetch: typeof fetch = async (input, init) => {
    inFlight = true;
    await released;
    return fetch(input, init);
  };
  const { watcher, bucket, stateFile } = watcherFor({ clock: systemClock, fetch: slowFetch });
  const capture = makeCapture();
  await uploadCapture(s3.client, bucket, capture);
  await watcher.start();
  await waitFor(() => inFlight, { what: 'the webhook to be in flight' });
  const stopped = watcher.stop();
  release();
  await stopped;
  assert.equal(JSON.parse(await readFile(stateFile, 'utf8')).settled[capture.metaKey]?.outcome, 'delivered');
  await watcherFor({ bucket, stateFile }).watcher.pollOnce();
  assert.equal(receiver.for(capture.dir).length, 1);
});

test('a capture the server rejected stays settled until the watcher is started with retryRejected', async () => {
  const wrong = watcherFor({ secret: 'not-the-receiver-secret' });
  const { bucket, stateFile } = wrong;
  const capture = makeCapture();
  await uploadCapture(s3.client, bucket, capture);
  await wrong.watcher.pollOnce();
  await wrong.watcher.pollOnce();
  const settled = (await wrong.watcher.state()).settled[capture.metaKey];
  assert.equal(settled?.outcome, 'rejected');
  assert.match(settled?.reason ?? '', /^HTTP 401 bad_signature/);
  assert.equal(receiver.for(capture.dir).length, 1, 'a permanent rejection is not retried');
  await watcherFor({ bucket, stateFile }).watcher.pollOnce();
  assert.equal(receiver.for(capture.dir).length, 1, 'a plain restart keeps it settled');
  const fixed = watcherFor({ bucket, stateFile, retryRejected: true });
  await fixed.watcher.pollOnce();
  assert.equal((await fixed.watcher.state()).settled[capture.metaKey]?.outcome, 'delivered');
  assert.equal(receiver.for(capture.dir).filter((r) => r.signatureOk).length, 1);
});

test('retryRejected relays a rejection older than watermark − grace, and status lists it until then', async () => {
  const clock = await clockAhead();
  const wrong = watcherFor({ clock, graceMs: 0, secret: 'not-the-receiver-secret' });
  const { bucket, stateFile } = wrong;
  const old = makeCapture();
  await uploadCapture(s3.client, bucket, old);
  await wrong.watcher.pollOnce();
  const oldModified = Date.parse((await wrong.watcher.state()).settled[old.metaKey]?.lastModified ?? '');
  // A newer upload moves the watermark past the rejection (grace 0): the rejection is now "old".
  const fresh = makeCapture();
  await waitFor(
    async () => {
      await uploadCapture(s3.client, bucket, fresh);
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: fresh.metaKey }));
      return (head.LastModified?.getTime() ?? 0) > oldModified;
    },
    { intervalMs: 200, what: 'a strictly newer LastModified' },
  );
  await wrong.watcher.pollOnce();
  const before = await wrong.watcher.state();
  assert.ok(Date.parse(before.watermark ?? '') > oldModified, 'the rejection is older than the floor');
  assert.deepEqual(
    [old, fresh].map((c) => before.settled[c.metaKey]?.outcome),
    ['rejected', 'rejected'],
  );
  // Requeued but not yet polled: listed as pending, so an interrupted redrive loses nothing.
  const fixed = watcherFor({ bucket, stateFile, clock, graceMs: 0, retryRejected: true });
  assert.deepEqual(
    Object.keys((await fixed.watcher.state()).pending).sort(),
    [old.metaKey, fresh.metaKey].sort(),
  );
  await fixed.watcher.pollOnce();
  const after = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.deepEqual(after.pending, {});
  assert.equal(after.settled[fresh.metaKey]?.outcome, 'delivered');
  assert.deepEqual(
    [old, fresh].map((c) => receiver.for(c.dir).filter((r) => r.signatureOk).length),
    [1, 1],
    'both rejections were relayed again',
  );
});

test('a meta.json stamped in the future (store clock ahead) does not move the watermark past the relay clock: later captures are relayed; one warning', async () => {
  const { clock } = fakeClock();
  const lines: { level: number; msg: string; key?: string }[] = [];
  const log = createLogger({
    name: 'watch-test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  const { watcher, bucket } = watcherFor({ clock, log });
  const ahead = makeCapture();
  await uploadCapture(s3.client, bucket, ahead);
  // s3rver's LastModified is the object file's mtime: the store's clock was a day ahead for this one.
  const tomorrow = new Date(clock.now() + 86_400_000);
  await utimes(join(s3.directory, bucket, `${ahead.metaKey}._S3rver_object`), tomorrow, tomorrow);
  await watcher.pollOnce();
  assert.equal(receiver.for(ahead.dir).length, 1);
  assert.ok(Date.parse((await watcher.state()).watermark ?? '') <= clock.now(), 'bounded by the relay clock');
  const later = makeCapture();
  await uploadCapture(s3.client, bucket, later);
  await watcher.pollOnce();
  assert.equal(receiver.for(later.dir).length, 1, 'uploaded after the future one, still relayed');
  assert.equal(receiver.for(ahead.dir).length, 1, 'the future one stays settled');
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(
    warnings.map((l) => l.key),
    [ahead.metaKey],
    'one warning naming the key, not one per poll',
  );
  assert.match(warnings[0]?.msg ?? '', /ahead of the relay's clock/);
});

test('a meta.json under raw/ outside the capture layout is settled as rejected (listed by status)', async () => {
  const { watcher, bucket } = watcherFor();
  const key = 'raw/DEV-UPPER/2026/12/06/cap_1/meta.json';
  await putObject(s3.client, bucket, key, Buffer.from('{}'));
  await watcher.pollOnce();
  const settled = (await watcher.state()).settled[key];
  assert.equal(settled?.outcome, 'rejected');
  assert.match(settled?.reason ?? '', /^outside the raw capture layout: invalid device_code "DEV-UPPER"/);
});

test('a burst is saved about once a second, not after every capture, and the last save holds every outcome', async () => {
  const { clock } = fakeClock();
  const bucket = freshBucket();
  const stateFile = join(dir, `${bucket}-burst.json`);
  let saves = 0;
  const relay = createRelay({
    s3: s3.client,
    fetch: globalThis.fetch,
    config: { webhookUrl: receiver.url, webhookSecrets: [secrets[0]!], budgetMs: 5000, httpTimeoutMs: 5000 },
    log: silentLogger(),
    clock,
    source: 'local',
    baseMs: 10,
  });
  const watcher = createWatcher({
    s3: s3.client,
    relay,
    config: { bucket, prefix: 'raw/', stateFile, pollMs: 50, graceMs: 60_000 },
    log: silentLogger(),
    clock,
    onSaved: () => saves++,
  });
  const captures = Array.from({ length: 40 }, () => makeCapture());
  for (const capture of captures) await uploadCapture(s3.client, bucket, capture);
  await watcher.pollOnce();
  // The fake clock stands still during the poll: one save at the first outcome, one at the end.
  assert.equal(saves, 2);
  const saved = JSON.parse(await readFile(stateFile, 'utf8'));
  for (const capture of captures) {
    assert.equal(saved.settled[capture.metaKey]?.outcome, 'delivered');
    assert.equal(receiver.for(capture.dir).length, 1);
  }
});
