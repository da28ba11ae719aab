import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { fakeCapture, outboxTempDir, spendSpaceReserve } from '../test-support/outbox-fixtures.ts';
import { RELEASED_V1 } from '../test-support/outbox-v1-schema.ts';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { createOutbox } from './outbox.ts';
import { OutboxCorruptError, OutboxDbError, OutboxDiskFullError } from './outbox-errors.ts';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

test('a full data volume: opening for writing says so with the pending count (never "move it aside"), readers still see the queue, and nothing is lost once space is freed', {
  skip: tmpfsSkip,
}, async () => {
  const volume = mountSmallVolume('2m');
  cleanups.push(volume.unmount);
  const paths = { dbPath: join(volume.dir, 'outbox.db'), spoolDir: join(volume.dir, 'spool') };
  const outbox = createOutbox({ ...paths, minFreeBytes: 0 });
  for (const n of [1, 2, 3]) await outbox.commitCapture(fakeCapture(n, { imageBytes: 50_000 }));
  outbox.store.advance('cap_t00001', null, 'image.png', Date.now()); // an upload under way…
  outbox.close(); // …and the agent restarts: the clean close removed the -shm a WAL open must remake
  spendSpaceReserve(volume.dir); // nothing left that the agent may free (cli-full-card-uploads.test.ts starts with one)
  const fillers = volume.fill();

  for (const access of ['create', 'existing'] as const) {
    const error = (() => {
      try {
        createOutbox({ ...paths, access, owner: access === 'create' }).close();
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof OutboxDiskFullError, `${access}: ${error}`);
    assert.equal(error.pendingCaptures, 3);
    assert.equal(error.freeBytes, 0);
    assert.match(error.message, /cannot be opened: the data volume is full \(0\.0 MB free on /);
    assert.match(error.message, /It holds 3 captures waiting to upload: do NOT move or delete it/);
    assert.match(error.message, /Fix: free space on that volume .*sudo systemctl restart cti-agent/);
    assert.doesNotMatch(error.message, /move it aside/);
  }

  // `cti-agent status` and `outbox list|show` open read-only: they still read the queue.
  const reader = createOutbox({ ...paths, owner: false, access: 'readonly' });
  assert.deepEqual(
    reader.list().map((c) => c.captureId),
    ['cap_t00001', 'cap_t00002', 'cap_t00003'],
  );
  assert.equal(reader.summary().pendingCaptures, 3);
  assert.equal(reader.show('cap_t00001')?.objects[0]?.state, 'uploading');
  assert.throws(() => reader.retry(), { code: 'SQLITE_READONLY' }, 'the reader writes nothing');
  reader.close();

  for (const path of fillers) rmSync(path);
  const again = createOutbox({ ...paths, minFreeBytes: 0 });
  assert.equal(again.summary().pendingCaptures, 3);
  assert.equal(again.show('cap_t00001')?.objects[0]?.state, 'pending', 'the interrupted upload was reset');
  assert.deepEqual(readdirSync(paths.spoolDir), ['cap_t00001', 'cap_t00002', 'cap_t00003']);
  again.close();
});

test('a full volume before the database was ever made: the disk is named, and the next start makes it', {
  skip: tmpfsSkip,
}, () => {
  const volume = mountSmallVolume('1m');
  cleanups.push(volume.unmount);
  const paths = { dbPath: join(volume.dir, 'outbox.db'), spoolDir: join(volume.dir, 'spool') };
  createOutbox(paths).close();
  rmSync(paths.dbPath);
  const fillers = volume.fill();
  assert.throws(
    () => createOutbox(paths),
    (e: Error) =>
      e instanceof OutboxDiskFullError &&
      e.pendingCaptures === null &&
      /It holds the captures waiting to upload/.test(e.message),
  );
  for (const path of fillers) rmSync(path);
  const made = createOutbox(paths);
  assert.equal(made.summary().pendingCaptures, 0);
  made.close();
});

test('a damaged database: "move it aside" with how the spool is recovered; a full-disk error never says that', () => {
  const t = outboxTempDir();
  cleanups.push(t.remove);
  createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir }).close();
  writeFileSync(t.dbPath, 'this is not a SQLite database\n'.repeat(200));
  for (const access of ['create', 'readonly'] as const) {
    assert.throws(
      () => createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, access, owner: access === 'create' }),
      (e: Error) =>
        e instanceof OutboxCorruptError &&
        e instanceof OutboxDbError &&
        /cannot be opened: file is not a database\. Fix: restore it from a backup, or move it aside \(mv .*outbox\.db .*outbox\.db\.damaged\): the agent then starts a new outbox and re-imports the complete captures in the spool directory/.test(
          e.message,
        ),
    );
  }
});

test('a full volume holding an outbox the previous agent version made (schema v1): the error still counts what it holds', {
  skip: tmpfsSkip,
}, async () => {
  const volume = mountSmallVolume('2m');
  cleanups.push(volume.unmount);
  const dbPath = join(volume.dir, 'outbox.db');
  const v1 = new Database(dbPath);
  v1.pragma('journal_mode = WAL');
  v1.exec(RELEASED_V1);
  v1.pragma('user_version = 1');
  const insert = v1.prepare(
    `INSERT INTO captures (capture_id, device_code, captured_at, committed_at, state)
     VALUES (?, 'dev-test', '2025-09-09T14:00:00.000Z', 0, ?)`,
  );
  for (const [id, state] of [
    ['cap_v1a', 'pending'],
    ['cap_v1b', 'pending'],
    ['cap_v1c', 'uploaded'],
  ])
    insert.run(id, state);
  v1.close();
  volume.fill();
  const error = (() => {
    try {
      createOutbox({ dbPath, spoolDir: join(volume.dir, 'spool') }).close();
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof OutboxDiskFullError, String(error));
  assert.equal(error.pendingCaptures, 2);
  assert.match(error.message, /It holds 2 captures waiting to upload/);
});
