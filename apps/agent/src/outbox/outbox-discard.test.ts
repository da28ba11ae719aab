import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { startS3rver, waitFor } from '@cti/testkit';
import { fakeCapture, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { captureDir, readBucket } from '../test-support/outbox-store-check.ts';
import { runAgentCli, writeOutboxOnlyConfig } from '../test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { createUploader } from '../uploader/uploader.ts';
import { createOutbox } from './outbox.ts';
import { discardCapture } from './outbox-salvage.ts';

const runCli = (config: string, ...args: string[]) => runAgentCli(['--config', config, 'outbox', ...args]);
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The real `cti-agent` in its own process, as an operator runs it beside the service. */

test('a capture corrupted on the card: exported with the damage named, discarded while the service runs, gone from pending/quarantined/LED counts for good', {
  timeout: 120_000,
}, async () => {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const t = outboxTempDir('outbox-discard-');
  cleanups.push(t.remove);
  const dataDir = join(t.dir, 'data');
  mkdirSync(dataDir);
  const config = join(t.dir, 'agent.json');
  writeOutboxOnlyConfig(config, dataDir);
  // The service's side: its own outbox connection and uploader, running throughout.
  const outbox = createOutbox({ dbPath: join(dataDir, 'outbox.db'), spoolDir: join(dataDir, 'spool') });
  cleanups.push(outbox.close);
  const captures = Array.from({ length: 4 }, (_, i) => fakeCapture(i + 700));
  for (const c of captures) await outbox.commitCapture(c);
  const bad = captures[1]!;
  const image = outbox.spoolPath(bad.captureId, 'image.png');
  const corrupted = Buffer.from(bad.files[0]!.data);
  corrupted[7] = (corrupted[7] ?? 0) ^ 0x01; // one bit flipped on the SD card
  writeFileSync(image, corrupted);
  const uploader = createUploader({ outbox, s3: s3.client, bucket: s3.bucket, concurrency: 2 });
  cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
  uploader.start();
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'drain' });
  assert.equal(outbox.summary().quarantined, 1, 'the corrupted capture is quarantined');

  // Salvage first: the files as found, each checked against the sha256 recorded at capture.
  const salvage = join(t.dir, 'salvage');
  mkdirSync(salvage);
  const exported = await runCli(config, 'export', bad.captureId, salvage);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(
    exported.stdout,
    /image\.png +20000 B {2}CHANGED since capture: sha256 [0-9a-f]{64}, expected/,
  );
  assert.match(exported.stdout, /meta\.json +\d+ B {2}ok/);
  assert.deepEqual(readFileSync(join(salvage, bad.captureId, 'image.png')), corrupted);
  const record = JSON.parse(readFileSync(join(salvage, bad.captureId, 'outbox-record.json'), 'utf8'));
  assert.equal(record.capture.state, 'quarantined');
  assert.match(record.capture.quarantineReason, /image\.png: .*changed since capture/);
  const again = await runCli(config, 'export', bad.captureId, salvage);
  assert.deepEqual(
    [again.code, again.stderr],
    [2, `${join(salvage, bad.captureId)} already exists: choose another directory\n`],
  );
  assert.match(
    (await runCli(config, 'export', bad.captureId, join(t.dir, 'nope'))).stderr,
    /nope is not a directory/,
  );

  // Only a quarantined capture is given up: an uploaded one is refused, an unknown one not found.
  const uploaded = await runCli(config, 'discard', captures[0]!.captureId);
  assert.deepEqual(
    [uploaded.code, uploaded.stderr],
    [1, `capture ${captures[0]!.captureId} is uploaded: nothing to give up (retention removes it)\n`],
  );
  assert.equal((await runCli(config, 'discard', 'cap_nope')).code, 1);
  assert.equal((await runCli(config, 'discard')).code, 2);

  const discarded = await runCli(config, 'discard', bad.captureId, '--reason', 'SD card bit flip; salvaged');
  assert.equal(discarded.code, 0, discarded.stderr);
  const aside = join(dataDir, 'spool', 'discarded', bad.captureId);
  assert.match(
    discarded.stdout,
    new RegExp(`^${bad.captureId} {2}discarded .*: SD card bit flip; salvaged;`),
  );
  assert.ok(discarded.stdout.includes(`its files are in ${aside}: delete them when no longer needed`));
  assert.equal(existsSync(join(dataDir, 'spool', bad.captureId)), false);
  assert.deepEqual(readFileSync(join(aside, 'image.png')), corrupted, 'moved aside, not deleted');

  // The service's own connection sees it at once: nothing quarantined or pending (the LED and the
  // heartbeat read these), one discarded.
  const summary = outbox.summary();
  assert.deepEqual(
    [summary.pendingCaptures, summary.pendingBytes, summary.quarantined, summary.discarded],
    [0, 0, 0, 1],
  );
  const listed = await runCli(config, 'list', '--state', 'discarded');
  assert.match(
    listed.stdout,
    new RegExp(`^${bad.captureId} {2}discarded .*SD card bit flip.*image\\.png: .*changed since capture`),
  );
  assert.equal((await runCli(config, 'quarantine')).stdout, 'no quarantined captures\n');
  assert.match((await runCli(config, 'retry')).stdout, /^0 quarantined capture\(s\) requeued/);
  assert.equal((await runCli(config, 'discard', bad.captureId)).code, 1, 'already discarded');

  // The uploader goes on with new captures and never sends the discarded one.
  const later = fakeCapture(710);
  await outbox.commitCapture(later);
  await waitFor(() => outbox.show(later.captureId)?.state === 'uploaded', { what: 'a later capture' });
  uploader.wakeNow();
  await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'idle' });
  const stored = await readBucket(s3.client, s3.bucket);
  assert.equal(
    [...stored.keys()].some((k) => k.startsWith(captureDir(bad.captureId))),
    false,
  );
  assert.equal(outbox.show(bad.captureId)?.state, 'discarded');
  // Still exportable from where it was moved.
  const fromAside = join(t.dir, 'salvage2');
  mkdirSync(fromAside);
  assert.equal((await runCli(config, 'export', bad.captureId, fromAside)).code, 0);
  assert.deepEqual(readFileSync(join(fromAside, bad.captureId, 'image.png')), corrupted);
});

test('a pending capture is discarded only with --force; --delete-files removes its files', async () => {
  const t = outboxTempDir('outbox-discard-');
  cleanups.push(t.remove);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  const [kept, gone] = [fakeCapture(720), fakeCapture(721)];
  for (const c of [kept, gone]) await outbox.commitCapture(c);
  const cli = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false, access: 'existing' });
  cleanups.push(cli.close);
  assert.throws(
    () => cli.discard(gone.captureId),
    /is pending, not quarantined: it may still upload\. Add --force/,
  );
  assert.equal(outbox.summary().pendingCaptures, 2);
  const { capture, filesAt } = cli.discard(gone.captureId, { force: true, deleteFiles: true });
  assert.equal(capture.state, 'discarded');
  assert.equal(capture.discardedDir, null);
  assert.equal(filesAt, null);
  assert.equal(existsSync(join(t.spoolDir, gone.captureId)), false);
  assert.equal(existsSync(join(t.spoolDir, 'discarded', gone.captureId)), false);
  const summary = outbox.summary();
  const keptBytes = kept.files.reduce((n, f) => n + f.data.byteLength, 0);
  assert.deepEqual([summary.pendingCaptures, summary.pendingBytes, summary.discarded], [1, keptBytes, 1]);
  assert.throws(() => cli.exportCapture(gone.captureId, t.dir), /files were deleted when it was discarded/);
});

test('discard completes one a crash interrupted after the move, and puts the files back when the capture changed meanwhile', async () => {
  const t = outboxTempDir('outbox-discard-');
  cleanups.push(t.remove);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  const [crashed, raced] = [fakeCapture(730), fakeCapture(731)];
  for (const c of [crashed, raced]) await outbox.commitCapture(c);
  for (const c of [crashed, raced])
    outbox.store.quarantine(c.captureId, 'image.png', 'image.png: IntegrityError', 1);
  // A crash between the move and the row update leaves the files aside and the row quarantined.
  const aside = join(t.spoolDir, 'discarded', crashed.captureId);
  mkdirSync(dirname(aside));
  renameSync(join(t.spoolDir, crashed.captureId), aside);
  // Export (what the docs say to do before a discard) finds the files where the discard moved them.
  const out = join(t.dir, 'salvaged');
  mkdirSync(out);
  const exported = outbox.exportCapture(crashed.captureId, out);
  assert.ok(
    exported.files.every((f) => f.check === 'ok'),
    JSON.stringify(exported.files),
  );
  assert.deepEqual(outbox.discard(crashed.captureId).filesAt, aside);
  assert.equal(outbox.show(crashed.captureId)?.discardedDir, aside);

  // The capture leaves 'quarantined' between the check and the update (an operator's retry, the
  // service then uploading it): nothing is discarded and its files are back where the uploader reads.
  const ctx = { store: outbox.store, spoolDir: t.spoolDir, clock: Date.now };
  const racing = {
    ...outbox.store,
    discard: (c: Parameters<typeof outbox.store.discard>[0]) => {
      outbox.retry(raced.captureId);
      return outbox.store.discard(c);
    },
  };
  assert.throws(
    () => discardCapture({ ...ctx, store: racing }, raced.captureId),
    new RegExp(`capture ${raced.captureId} changed to pending meanwhile; nothing was discarded`),
  );
  assert.equal(outbox.show(raced.captureId)?.state, 'pending');
  assert.deepEqual(readFileSync(join(t.spoolDir, raced.captureId, 'meta.json')), raced.files.at(-1)?.data);
  assert.equal(existsSync(join(t.spoolDir, 'discarded', raced.captureId)), false);
  assert.deepEqual([outbox.summary().pendingCaptures, outbox.summary().discarded], [1, 1]);
});

test('export into a full directory: one line naming it, nothing left there (it was a stack trace)', {
  skip: tmpfsSkip,
}, async () => {
  const t = outboxTempDir('outbox-export-full-');
  cleanups.push(t.remove);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  const capture = fakeCapture(740, { imageBytes: 200_000 });
  await outbox.commitCapture(capture);
  const volume = mountSmallVolume('1m');
  cleanups.push(volume.unmount);
  volume.fill();
  const before = readdirSync(volume.dir).sort();
  assert.throws(
    () => outbox.exportCapture(capture.captureId, volume.dir),
    (err: Error) =>
      err.name === 'OutboxSalvageError' &&
      err.message.startsWith(`cannot write the export into ${volume.dir}: its volume is full (ENOSPC)`),
  );
  assert.deepEqual(readdirSync(volume.dir).sort(), before, 'no partial export left');
});

test('discard --delete-files killed between the row update and the delete: the row still names the files, and discard --delete-files finishes it (review r8 F9)', {
  timeout: 60_000,
}, async () => {
  const t = outboxTempDir('outbox-discard-kill-');
  cleanups.push(t.remove);
  const dataDir = join(t.dir, 'data');
  const config = join(t.dir, 'agent.json');
  writeOutboxOnlyConfig(config, dataDir);
  const outbox = createOutbox({ dbPath: join(dataDir, 'outbox.db'), spoolDir: join(dataDir, 'spool') });
  cleanups.push(outbox.close);
  const [killed, older] = [fakeCapture(750), fakeCapture(751)];
  for (const c of [killed, older]) {
    await outbox.commitCapture(c);
    outbox.store.quarantine(c.captureId, 'image.png', 'image.png: IntegrityError', 1);
  }
  const aside = join(dataDir, 'spool', 'discarded', killed.captureId);

  const harness = join(import.meta.dirname, '..', 'test-support', 'discard-kill-harness.ts');
  const child = spawnSync(process.execPath, [harness, dataDir, killed.captureId], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stdout + child.stderr);
  assert.ok(existsSync(join(aside, 'image.png')), 'killed before the delete: the files are still there');

  const shown = await runCli(config, 'show', killed.captureId);
  assert.match(shown.stdout, new RegExp(`^${killed.captureId} {2}discarded `));
  assert.ok(shown.stdout.includes(`  files: ${aside}\n`), shown.stdout);
  assert.equal(outbox.store.held().discardedCaptures, 1, 'the floor counts what they hold');
  const plain = await runCli(config, 'discard', killed.captureId);
  assert.equal(plain.code, 1);
  assert.match(
    plain.stderr,
    /was already discarded at .*; its files are in .* \(--delete-files deletes them\)\n$/,
  );

  const finished = await runCli(config, 'discard', killed.captureId, '--delete-files');
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(finished.stdout, /its files were deleted/);
  assert.equal(existsSync(aside), false);
  assert.match((await runCli(config, 'show', killed.captureId)).stdout, /\n {2}files: deleted\n/);
  assert.equal(outbox.store.held().discardedCaptures, 0);
  const again = await runCli(config, 'discard', killed.captureId, '--delete-files');
  assert.deepEqual([again.code, /was already discarded at [^;]*\n$/.test(again.stderr)], [1, true]);

  // A row an older agent cleared before its delete was interrupted: the files aside are found too.
  outbox.discard(older.captureId);
  outbox.store.filesDeleted(older.captureId);
  const olderAside = join(dataDir, 'spool', 'discarded', older.captureId);
  assert.ok(existsSync(olderAside));
  assert.equal((await runCli(config, 'discard', older.captureId, '--delete-files')).code, 0);
  assert.equal(existsSync(olderAside), false);
});
