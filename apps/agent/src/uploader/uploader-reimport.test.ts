import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { after, test } from 'node:test';
import { startS3rver, waitFor } from '@cti/testkit';
import { createOutbox } from '../outbox/outbox.ts';
import { fakeCapture, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { assertSameObjects, expected, readBucket } from '../test-support/outbox-store-check.ts';
import { createUploader } from './uploader.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** An s3rver and an outbox whose `captures` were committed and all uploaded (the uploader stopped). */
async function uploadedOutbox(captures: ReturnType<typeof fakeCapture>[]) {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const t = outboxTempDir();
  cleanups.push(t.remove);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  for (const c of captures) await outbox.commitCapture(c);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket, retentionDays: null });
  uploader.start();
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'the captures uploaded' });
  await uploader.stop();
  return { s3, t, outbox };
}

test('a damaged database moved aside: the re-imported spool captures go out, those already stored are not stored again', {
  timeout: 60_000,
}, async () => {
  const captures = [1, 2, 3, 4].map((n) => fakeCapture(n));
  const first = await uploadedOutbox(captures.slice(0, 3));
  const { s3, t } = first;
  let outbox = first.outbox;
  await outbox.commitCapture(captures[3]!); // committed, never uploaded
  outbox.close();
  const storedBefore = s3.events.length;

  renameSync(t.dbPath, `${t.dbPath}.damaged`);
  outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  assert.equal(outbox.summary().pendingCaptures, 4);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket, retentionDays: null });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  const outcomes: string[] = [];
  uploader.events.on('object-uploaded', (e) => outcomes.push(`${e.captureId}/${e.name} ${e.outcome}`));
  uploader.start();
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'the re-imported captures drained' });
  await uploader.stop();
  assert.deepEqual(
    s3.events.slice(storedBefore).map((e) => e.key.split('/').slice(-2).join('/')),
    ['cap_t00004/image.png', 'cap_t00004/mask.png', 'cap_t00004/meta.json'],
    'only the capture never uploaded reached the store',
  );
  assert.equal(outcomes.filter((o) => o.endsWith('already_present')).length, 9);
  assertSameObjects(await readBucket(s3.client, s3.bucket), expected(captures));
});

test('captures found already stored count as uploaded but leave the last upload time alone: they arrived when first stored (review r13 F6)', {
  timeout: 60_000,
}, async () => {
  const first = await uploadedOutbox([1, 2].map((n) => fakeCapture(n)));
  const { s3, t } = first;
  first.outbox.close();

  // Its database lost: the spool is re-imported, and each capture is found already in the store.
  renameSync(t.dbPath, `${t.dbPath}.damaged`);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket, retentionDays: null });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  uploader.start();
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'the re-imported captures checked' });
  const checked = outbox.summary();
  assert.equal(checked.uploadedTotal, 2, 'both counted as uploaded');
  assert.equal(checked.lastSuccessAt, null, 'no upload time: nothing reached the store now');

  // A new capture sent now moves it.
  const before = Date.now();
  await outbox.commitCapture(fakeCapture(3));
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'the new capture uploaded' });
  const sent = outbox.summary();
  assert.equal(sent.uploadedTotal, 3);
  assert.ok(
    sent.lastSuccessAt !== null && sent.lastSuccessAt >= before,
    `lastSuccessAt ${sent.lastSuccessAt}`,
  );
});
