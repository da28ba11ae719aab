import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startS3rver, waitFor } from '@cti/testkit';
import { fakeCapture, outboxIn } from '../test-support/outbox-fixtures.ts';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { createUploader } from '../uploader/uploader.ts';
import { createOutbox } from './outbox.ts';
import { DiskFloorError } from './outbox-errors.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const MiB = 1024 * 1024;
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('the capture was accepted'),
    (e: unknown) => {
      assert.ok(e instanceof DiskFloorError, String(e));
      return e;
    },
  );

/** An outbox with a 2 MiB floor on a fresh tmpfs volume of `size`, both cleaned up after the test. */
function floorOutbox(size: string) {
  const volume = mountSmallVolume(size);
  cleanups.push(volume.unmount);
  const outbox = outboxIn(volume.dir, { minFreeBytes: 2 * MiB });
  cleanups.push(outbox.close);
  return { volume, outbox };
}

test('at the disk floor, captures already uploaded make room (oldest first); once only the queue is left, the refusal says it holds the space', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const { volume, outbox } = floorOutbox('8m');
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket, concurrency: 2 });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  uploader.start();
  // ~0.2 MB each: about 28 fit above the floor. Before, the 24th was refused "let uploads drain".
  for (let n = 0; n < 45; n++) {
    await outbox.commitCapture(fakeCapture(n, { imageBytes: 180_000 }));
    await waitFor(() => outbox.summary().pendingCaptures === 0, { what: `capture ${n} uploaded` });
    // The check counts file bytes; blocks, directories and the WAL take a little more.
    assert.ok(volume.free() >= 1.8 * MiB, `free ${volume.free()} after capture ${n}`);
  }
  await uploader.stop();
  assert.equal(outbox.summary().uploadedTotal, 45);
  const kept = readdirSync(join(volume.dir, 'spool')).sort();
  assert.ok(kept.length >= 5 && kept.length < 45, `${kept.length} kept`);
  assert.equal(kept.at(-1), 'cap_t00044');
  assert.equal(kept[0], `cap_t000${45 - kept.length}`, 'the oldest uploads went first');
  assert.deepEqual(
    outbox.list({ state: 'uploaded', limit: 100 }).map((c) => c.captureId),
    kept,
    'rows and files removed together',
  );

  // Uploads stopped: the queue grows until every uploaded capture is gone and the queue holds the space.
  let n = 45;
  const error = await refusal(
    (async () => {
      for (; ; n++) await outbox.commitCapture(fakeCapture(n, { imageBytes: 180_000 }));
    })(),
  );
  const pending = n - 45;
  assert.equal(outbox.list({ state: 'uploaded' }).length, 0);
  assert.equal(outbox.summary().pendingCaptures, pending);
  assert.equal(error.held?.pendingCaptures, pending);
  assert.match(
    error.message,
    new RegExp(
      `^capture refused: \\d\\.\\d MB free on the spool disk, the floor is 2\\.1 MB and this capture needs 0\\.2 MB; ${pending} captures waiting to upload hold \\d+\\.\\d MB \\(they leave as uploads drain`,
    ),
  );
});

test('at the disk floor with an empty outbox, the refusal says other files fill the disk', {
  skip: tmpfsSkip,
}, async () => {
  const { volume, outbox } = floorOutbox('4m');
  writeFileSync(join(volume.dir, 'journal'), Buffer.alloc(volume.free() - 2 * MiB - 50_000));
  const error = await refusal(outbox.commitCapture(fakeCapture(1, { imageBytes: 180_000 })));
  assert.match(
    error.message,
    /; other files fill the disk \(the outbox holds no capture it could remove\): free space on it, or lower outbox\.min_free_mb/,
  );
  assert.deepEqual(readdirSync(join(volume.dir, 'spool')), []);
});

test('at the floor with captures given up but their files kept: the refusal says they hold the space, not "other files"', async () => {
  const { outboxTempDir } = await import('../test-support/outbox-fixtures.ts');
  const t = outboxTempDir('outbox-floor-discarded-');
  cleanups.push(t.remove);
  const outbox = createOutbox({ ...t, minFreeBytes: 0 });
  cleanups.push(outbox.close);
  for (const n of [1, 2]) await outbox.commitCapture(fakeCapture(n, { imageBytes: 180_000 }));
  for (const n of [1, 2]) outbox.store.quarantine(`cap_t0000${n}`, 'image.png', 'IntegrityError', 1);
  outbox.discard('cap_t00001'); // files kept in spool/discarded
  outbox.discard('cap_t00002', { deleteFiles: true }); // files gone: holds nothing
  const held = outbox.store.held();
  assert.deepEqual([held.discardedCaptures, held.pendingCaptures, held.quarantinedCaptures], [1, 0, 0]);
  const error = new DiskFloorError('below_floor', {
    freeBytes: 1 * MiB,
    minFreeBytes: 1 * MiB,
    neededBytes: 100_000,
    held,
  });
  assert.match(error.message, /1 capture given up still holds 0\.2 MB in spool\/discarded \(safe to delete/);
  assert.doesNotMatch(error.message, /other files fill the disk/);
});

test('no free inodes but megabytes free: uploaded captures go, then the refusal says inodes and `df -i`, not "filled up" with MB free (review r20 F7)', {
  skip: tmpfsSkip,
  timeout: 60_000,
}, async () => {
  const volume = mountSmallVolume('16m', { inodes: 300 });
  cleanups.push(volume.unmount);
  const outbox = outboxIn(volume.dir, { minFreeBytes: MiB });
  cleanups.push(outbox.close);
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  uploader.start();
  for (const n of [1, 2]) await outbox.commitCapture(fakeCapture(n));
  await waitFor(() => outbox.summary().uploadedTotal === 2, { what: 'two captures uploaded' });
  await uploader.stop();
  await outbox.commitCapture(fakeCapture(3)); // waiting to upload: never removed
  volume.fillInodes(5);
  assert.ok(volume.free() > 10 * MiB);

  // Before: written until ENOSPC, then "capture refused: the spool disk filled up while writing (… MB free)".
  const error = await refusal(outbox.commitCapture(fakeCapture(4)));
  assert.match(
    error.message,
    new RegExp(
      `^capture refused: the spool disk has no free inodes \\(\\d+ left, \\d+\\.\\d MB free\\)\\. Fix: free inodes on that volume \\(\`df -i ${volume.dir}/spool\`: `,
    ),
  );
  assert.equal(
    outbox.list({ state: 'uploaded' }).length,
    0,
    'the uploaded captures made what room they could',
  );
  assert.deepEqual(readdirSync(join(volume.dir, 'spool')), ['cap_t00003']);
});
