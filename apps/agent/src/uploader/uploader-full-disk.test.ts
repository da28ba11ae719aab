import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startS3rver, waitFor } from '@cti/testkit';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ext4Skip, mountExt4Volume } from '../test-support/ext4-volume.ts';
import { fakeCapture, outboxIn, spendSpaceReserve } from '../test-support/outbox-fixtures.ts';
import { assertSameObjects, expected, readBucket } from '../test-support/outbox-store-check.ts';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { createUploader } from './uploader.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A pino logger whose JSON lines are collected (a real stream, not a mock). */
function collectingLog() {
  const lines: Array<{ level: number; msg: string; err?: { message?: string } }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/**
 * An outbox in `dir` holding `captures` (floor 0), reopened with an empty WAL and its space reserve
 * spent: once the volume is filled, nothing the agent may free is left and every write fails.
 */
async function fullOutbox(dir: string, captures: ReturnType<typeof fakeCapture>[]) {
  const first = outboxIn(dir, { minFreeBytes: 0 });
  for (const c of captures) await first.commitCapture(c);
  first.close(); // checkpoints and removes the WAL: a checkpoint cannot free its space later
  const outbox = outboxIn(dir, { minFreeBytes: 0 });
  spendSpaceReserve(dir);
  return outbox;
}

test('the data volume full: the uploader backs off (one burst per backoff period), status names the error, and it drains once space is freed', {
  skip: tmpfsSkip,
  timeout: 90_000,
}, async (t) => {
  const volume = mountSmallVolume('4m');
  cleanups.push(volume.unmount);
  const captures = Array.from({ length: 6 }, (_, i) => fakeCapture(i, { imageBytes: 100_000 }));
  const outbox = await fullOutbox(volume.dir, captures);
  cleanups.push(outbox.close);
  const fillers = volume.fill(); // SQLite can no longer grow its WAL: the first progress write fails
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const registry = new Registry();
  const { log, lines } = collectingLog();
  const uploader = createUploader({
    outbox,
    s3: s3.client,
    bucket: s3.bucket,
    concurrency: 2,
    log,
    metrics: registry,
    backoffBaseMs: 200,
    backoffCapMs: 1000,
    random: () => 0.5, // delays 100, 200, 400, 500, 500 … ms
  });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  uploader.start();
  await sleep(3000);

  // Before: ~1 500 attempts and error lines (with a stack each) per second, lastError null.
  const errors = lines.filter((l) => l.level >= 50);
  assert.ok(errors.length >= 1 && errors.length <= 12, `${errors.length} error lines in 3 s`);
  assert.match(errors[0]?.msg ?? '', /could not record its progress/);
  const text = await registry.metrics();
  const attempts = Number(/cti_agent_upload_errors_total\{kind="transient"\} (\d+)/.exec(text)?.[1]);
  t.diagnostic(`full disk, 3 s: ${errors.length} error lines, ${attempts} failed capture attempts`);
  assert.ok(attempts >= 1 && attempts <= 40, `${attempts} failed capture attempts in 3 s`);
  const summary = outbox.summary();
  assert.equal(summary.pendingCaptures, 6);
  assert.match(summary.lastError?.message ?? 'null', /^outbox database: SQLITE_(FULL|IOERR)/);

  for (const path of fillers) rmSync(path, { force: true });
  await waitFor(() => outbox.summary().pendingCaptures === 0, {
    what: 'drain after freeing space',
    timeoutMs: 20_000,
  });
  await uploader.stop();
  assertSameObjects(await readBucket(s3.client, s3.bucket), expected(captures));
});

/**
 * Spool files ≤ 64 KiB are read synchronously: a capture upload that throws at its first progress
 * write and is claimed again at once never yields, and the whole agent froze (no button, local API
 * or watchdog ping). `random: () => 0` makes every backoff 0 ms, the worst case for a re-pump.
 */
for (const [volumeState, random] of [
  ['full', () => 0.5],
  ['full', () => 0],
  ['read-only', () => 0.5],
  ['read-only', () => 0],
] as const) {
  test(`small spool files on a ${volumeState} data volume (backoff jitter ${random()}): the event loop keeps turning — timers fire, an HTTP server answers`, {
    skip: volumeState === 'full' ? tmpfsSkip : ext4Skip,
    timeout: 60_000,
  }, async (t) => {
    const volume = volumeState === 'full' ? mountSmallVolume('4m') : mountExt4Volume(16);
    cleanups.push(volume.unmount);
    const captures = Array.from({ length: 6 }, (_, i) => fakeCapture(i, { imageBytes: 40_000 }));
    const outbox = await fullOutbox(volume.dir, captures);
    cleanups.push(outbox.close);
    if ('fill' in volume) volume.fill();
    else volume.failReadOnly();
    const s3 = await startS3rver();
    cleanups.push(s3.close);
    const registry = new Registry();
    const uploader = createUploader({
      outbox,
      s3: s3.client,
      bucket: s3.bucket,
      concurrency: 2,
      log: collectingLog().log,
      metrics: registry,
      backoffBaseMs: 200,
      backoffCapMs: 1000,
      random,
    });
    cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
    const http = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => http.close());
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/healthz`;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    cleanups.push(() => clearInterval(ticker));
    uploader.start();
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) {
      answers.push((await fetch(url, { signal: AbortSignal.timeout(5000) })).status);
      await sleep(200);
    }
    clearInterval(ticker);
    const text = await registry.metrics();
    const attempts = Number(/cti_agent_upload_errors_total\{kind="transient"\} (\d+)/.exec(text)?.[1] ?? 0);
    t.diagnostic(`${volumeState}: ${ticks} ticks of 50 ms in ~2 s, ${attempts} failed capture attempts`);
    assert.deepEqual(answers, Array(10).fill(200));
    assert.ok(ticks >= 10, `${ticks} ticks`);
    assert.ok(attempts >= 1, 'the uploader did try');
    assert.match(outbox.summary().lastError?.message ?? 'null', /^outbox database: SQLITE_/);
    assert.equal(outbox.summary().pendingCaptures, 6);
  });
}
