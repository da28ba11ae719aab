import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeCapture, outboxTempDir, sha256 } from '../test-support/outbox-fixtures.ts';
import { createOutbox } from './outbox.ts';
import {
  DiskFloorError,
  DuplicateCaptureError,
  OutboxInputError,
  OutboxMissingError,
} from './outbox-errors.ts';

const dirs: Array<{ remove(): void }> = [];
after(() => {
  for (const d of dirs) d.remove();
});
function tempOutbox(options: Partial<Parameters<typeof createOutbox>[0]> = {}) {
  const t = outboxTempDir();
  dirs.push(t);
  return { t, outbox: createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, ...options }) };
}

test('a committed capture is in the spool byte-exact and in the database with keys and hashes', async () => {
  const { t, outbox } = tempOutbox();
  const input = fakeCapture(1);
  const result = await outbox.commitCapture(input);
  assert.deepEqual(
    result.objects.map((o) => o.key),
    [
      'raw/dev-test/2025/09/09/cap_t00001/image.png',
      'raw/dev-test/2025/09/09/cap_t00001/mask.png',
      'raw/dev-test/2025/09/09/cap_t00001/meta.json',
    ],
  );
  for (const file of input.files) {
    const onDisk = readFileSync(join(t.spoolDir, input.captureId, file.name));
    assert.ok(onDisk.equals(file.data));
    const row = result.objects.find((o) => o.name === file.name);
    assert.equal(row?.sha256, sha256(file.data));
    assert.equal(row?.sizeBytes, file.data.length);
  }
  const shown = outbox.show(input.captureId);
  assert.equal(shown?.state, 'pending');
  assert.deepEqual(
    shown?.objects.map((o) => [o.name, o.state, o.attempts]),
    [
      ['image.png', 'pending', 0],
      ['mask.png', 'pending', 0],
      ['meta.json', 'pending', 0],
    ],
  );
  const summary = outbox.summary();
  assert.equal(summary.pendingCaptures, 1);
  assert.equal(
    summary.pendingBytes,
    input.files.reduce((n, f) => n + f.data.length, 0),
  );
  assert.ok(result.fsyncs >= 6, 'files, temp dir, spool dir and the WAL are fsynced');
  outbox.close();
});

test('a duplicate capture id is refused and the first one is untouched', async () => {
  const { outbox } = tempOutbox();
  await outbox.commitCapture(fakeCapture(2));
  await assert.rejects(outbox.commitCapture(fakeCapture(2)), DuplicateCaptureError);
  assert.equal(outbox.summary().pendingCaptures, 1);
  outbox.close();
});

test('bad input is refused with a reason before anything is written', async () => {
  const { t, outbox } = tempOutbox();
  const noMeta = fakeCapture(3);
  noMeta.files = noMeta.files.filter((f) => f.name !== 'meta.json');
  await assert.rejects(
    outbox.commitCapture(noMeta),
    (e: unknown) => e instanceof OutboxInputError && /meta\.json/.test(e.message),
  );
  const badName = fakeCapture(4);
  badName.files[0] = { name: '../evil', data: Buffer.from('x') };
  await assert.rejects(outbox.commitCapture(badName), OutboxInputError);
  await assert.rejects(outbox.commitCapture({ ...fakeCapture(5), captureId: 'nope' }), /capture_id/);
  assert.deepEqual(readdirSync(t.spoolDir), []);
  outbox.close();
});

test('below the disk floor a capture is refused with the reason, nothing is written', async () => {
  // The real statfs of the real volume: no disk here has a petabyte free.
  const { t, outbox } = tempOutbox({ minFreeBytes: 1e15 });
  const error = await outbox.commitCapture(fakeCapture(6)).catch((e: unknown) => e);
  assert.ok(error instanceof DiskFloorError);
  assert.equal(error.reason, 'below_floor');
  assert.ok(error.freeBytes > 0 && error.freeBytes < 1e15);
  assert.match(error.message, /floor/);
  assert.deepEqual(readdirSync(t.spoolDir), []);
  assert.equal(outbox.summary().pendingCaptures, 0);
  outbox.close();
});

test('the floor counts the capture itself: accepted while it fits above the floor, refused once it does not', async () => {
  let free = 10_000_000;
  const input = fakeCapture(7);
  const size = input.files.reduce((n, f) => n + f.data.length, 0);
  const { outbox } = tempOutbox({
    minFreeBytes: 10_000_000 - size,
    statfs: () => ({ bavail: free, bsize: 1 }),
  });
  await outbox.commitCapture(input);
  free -= 1;
  const error = await outbox.commitCapture(fakeCapture(8)).catch((e: unknown) => e);
  assert.ok(error instanceof DiskFloorError);
  assert.equal(error.neededBytes, size);
  assert.equal(outbox.summary().pendingCaptures, 1, 'the accepted capture is intact');
  outbox.close();
});

test('opening sweeps temp dirs and capture dirs that never got a row; committed ones stay', async () => {
  const t = outboxTempDir();
  dirs.push(t);
  let outbox = createOutbox({
    dbPath: t.dbPath,
    spoolDir: t.spoolDir,
    hooks: {
      afterFilesWritten: ({ captureId }) => {
        if (captureId === 'cap_t00008') throw new Error('simulated crash before the DB commit');
      },
    },
  });
  await outbox.commitCapture(fakeCapture(7));
  await assert.rejects(outbox.commitCapture(fakeCapture(8)), /simulated crash/);
  outbox.close();
  // The in-process failure already cleans up; re-create the crash leftovers a killed process leaves.
  const { mkdirSync, utimesSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(t.spoolDir, 'cap_t00009'));
  writeFileSync(join(t.spoolDir, 'cap_t00009', 'image.png'), 'half');
  mkdirSync(join(t.spoolDir, '.tmp-cap_t00010-abcd'));
  // Left by a process that died a while ago: a directory changed in the last seconds is left alone.
  const before = new Date(Date.now() - 60_000);
  for (const name of readdirSync(t.spoolDir)) utimesSync(join(t.spoolDir, name), before, before);
  outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.deepEqual(readdirSync(t.spoolDir), ['cap_t00007']);
  assert.equal(outbox.show('cap_t00008'), null);
  assert.equal(outbox.summary().pendingCaptures, 1);
  outbox.close();
});

test('a capture directory without a row changed in the last seconds is not swept: it may be a commit in progress', async () => {
  const t = outboxTempDir();
  dirs.push(t);
  createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir }).close();
  const { mkdirSync, writeFileSync } = await import('node:fs');
  // What a commit leaves between its rename into the spool and its row: files, no row yet.
  mkdirSync(join(t.spoolDir, 'cap_t00011'));
  writeFileSync(join(t.spoolDir, 'cap_t00011', 'meta.json'), '{}');
  mkdirSync(join(t.spoolDir, '.tmp-cap_t00012-abcd'));
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.deepEqual(readdirSync(t.spoolDir).sort(), ['.tmp-cap_t00012-abcd', 'cap_t00011']);
  outbox.close();
});

test('retention removes only captures uploaded long enough ago', async () => {
  let now = 1_000_000;
  const { t, outbox } = tempOutbox({ clock: () => now });
  for (const n of [11, 12, 13]) await outbox.commitCapture(fakeCapture(n));
  const finish = (id: string) => {
    outbox.store.advance(id, null, 'image.png', now);
    outbox.store.advance(id, 'image.png', 'mask.png', now);
    outbox.store.advance(id, 'mask.png', 'meta.json', now);
    outbox.store.advance(id, 'meta.json', null, now);
  };
  finish('cap_t00011');
  now += 8 * 86_400_000;
  finish('cap_t00012');
  now += 1000;
  assert.equal(await outbox.prune({ olderThanMs: 7 * 86_400_000 }), 1);
  assert.deepEqual(readdirSync(t.spoolDir).sort(), ['cap_t00012', 'cap_t00013']);
  assert.equal(outbox.show('cap_t00011'), null);
  assert.equal(outbox.show('cap_t00013')?.state, 'pending');
  const summary = outbox.summary();
  assert.equal(summary.uploadedTotal, 2, 'the counter survives retention');
  assert.equal(summary.pendingCaptures, 1);
  assert.equal(summary.lastSuccessAt, now - 1000);
  assert.ok(existsSync(join(t.spoolDir, 'cap_t00013', 'meta.json')));
  outbox.close();
});

test('list filters by state in commit order', async () => {
  const { outbox } = tempOutbox();
  for (const n of [21, 22, 23]) await outbox.commitCapture(fakeCapture(n));
  outbox.store.quarantine('cap_t00022', 'image.png', 'test reason', 1);
  assert.deepEqual(
    outbox.list().map((c) => c.captureId),
    ['cap_t00021', 'cap_t00022', 'cap_t00023'],
  );
  assert.deepEqual(
    outbox.list({ state: 'pending', limit: 1 }).map((c) => c.captureId),
    ['cap_t00021'],
  );
  assert.deepEqual(
    outbox.quarantined().map((c) => [c.captureId, c.quarantineReason]),
    [['cap_t00022', 'test reason']],
  );
  outbox.close();
});

test('a database moved aside (or lost): the new one re-imports the complete spool captures as pending, in commit order, and deletes nothing', async () => {
  const { t, outbox } = tempOutbox();
  const captures = [31, 32, 33].map((n) => fakeCapture(n)); // ≤ 4: the old sweep took them for a crash's
  for (const c of captures) await outbox.commitCapture(c);
  const before = captures.map((c) => outbox.show(c.captureId)!);
  outbox.close();
  const { mkdirSync, renameSync, utimesSync, writeFileSync } = await import('node:fs');
  // Commit order is the directories' time, not the ids: make 33 the oldest.
  utimesSync(join(t.spoolDir, 'cap_t00033'), 1_700_000_000, 1_700_000_000);
  mkdirSync(join(t.spoolDir, 'lost+found'));
  mkdirSync(join(t.spoolDir, 'cap_t00034')); // incomplete: no meta.json
  writeFileSync(join(t.spoolDir, 'cap_t00034', 'image.png'), 'half');
  renameSync(t.dbPath, `${t.dbPath}.damaged`); // what the corrupt-database fix says
  const reopened = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  const spoolAfter = ['cap_t00031', 'cap_t00032', 'cap_t00033', 'lost+found', 'unimported-cap_t00034'];
  assert.deepEqual(
    readdirSync(t.spoolDir).sort(),
    spoolAfter,
    'nothing deleted; the incomplete one kept aside',
  );
  assert.equal(readFileSync(join(t.spoolDir, 'unimported-cap_t00034', 'image.png'), 'utf8'), 'half');
  assert.deepEqual(
    reopened.list().map((c) => [c.captureId, c.state]),
    [
      ['cap_t00033', 'pending'],
      ['cap_t00031', 'pending'],
      ['cap_t00032', 'pending'],
    ],
  );
  for (const b of before) {
    const again = reopened.show(b.captureId)!;
    assert.equal(again.deviceCode, b.deviceCode);
    assert.equal(again.capturedAt, b.capturedAt);
    assert.deepEqual(
      again.objects.map((o) => [o.name, o.key, o.sha256, o.sizeBytes, o.state, o.attempts]),
      // attempts 1: the uploader HEADs first, so captures already in the store are not sent again
      b.objects.map((o) => [o.name, o.key, o.sha256, o.sizeBytes, 'pending', 1]),
    );
  }
  reopened.close();
  // Opened again: the database is no longer new, and the incomplete directory is still kept.
  const third = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.equal(third.summary().pendingCaptures, 3);
  assert.deepEqual(readdirSync(t.spoolDir).sort(), spoolAfter);
  third.close();
});

test('a re-import cut short (killed after the new schema, or the volume filled) resumes at the next start: nothing swept as a crash leftover', async () => {
  const { t, outbox } = tempOutbox();
  const captures = [51, 52, 53].map((n) => fakeCapture(n)); // ≤ 4: what the sweep would delete
  for (const c of captures) await outbox.commitCapture(c);
  outbox.close();
  const { renameSync, utimesSync } = await import('node:fs');
  for (const c of captures) utimesSync(join(t.spoolDir, c.captureId), 1_700_000_000, 1_700_000_000);
  renameSync(t.dbPath, `${t.dbPath}.lost`);
  // The open that makes the new database dies before its re-import: the schema is committed, no row.
  const { openOutboxDb } = await import('./outbox-db.ts');
  openOutboxDb(t.dbPath).db.close();
  const reopened = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.deepEqual(
    reopened.list().map((c) => [c.captureId, c.state]),
    captures.map((c) => [c.captureId, 'pending']),
  );
  assert.deepEqual(readdirSync(t.spoolDir).sort(), captures.map((c) => c.captureId).sort());
  reopened.close();
  // Done now: a later row-less directory is a crash's leftover again (swept when there are few).
  const { cpSync } = await import('node:fs');
  cpSync(join(t.spoolDir, 'cap_t00051'), join(t.spoolDir, 'cap_t00059'), { recursive: true });
  utimesSync(join(t.spoolDir, 'cap_t00059'), 1_700_000_000, 1_700_000_000);
  const third = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.ok(!existsSync(join(t.spoolDir, 'cap_t00059')));
  assert.equal(third.summary().pendingCaptures, 3);
  third.close();
});

test('many capture directories without rows in an existing database are left in place, not swept', async () => {
  const { t, outbox } = tempOutbox();
  await outbox.commitCapture(fakeCapture(40));
  outbox.close();
  const { cpSync } = await import('node:fs');
  for (const n of [41, 42, 43, 44, 45])
    cpSync(join(t.spoolDir, 'cap_t00040'), join(t.spoolDir, `cap_t000${n}`), { recursive: true });
  const reopened = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.equal(readdirSync(t.spoolDir).length, 6);
  assert.equal(reopened.summary().pendingCaptures, 1);
  reopened.close();
});

test('access readonly/existing: a missing database is refused and nothing is created; readonly cannot write', async () => {
  const { t, outbox } = tempOutbox();
  await outbox.commitCapture(fakeCapture(1));
  outbox.store.quarantine('cap_t00001', 'image.png', 'AccessDenied', 5);
  for (const access of ['readonly', 'existing'] as const) {
    const missing = join(t.dbPath, '..', 'typo', 'outbox.db');
    assert.throws(
      () => createOutbox({ dbPath: missing, spoolDir: join(missing, '..', 'spool'), owner: false, access }),
      (err: Error) => err instanceof OutboxMissingError && err.dbPath === missing,
    );
    assert.equal(existsSync(join(missing, '..')), false, `${access} created the directory`);
  }
  const reader = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false, access: 'readonly' });
  assert.equal(reader.list().length, 1);
  assert.throws(() => reader.retry('cap_t00001'), { code: 'SQLITE_READONLY' });
  reader.close();
  const writer = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false, access: 'existing' });
  assert.equal(writer.retry('cap_t00001'), 1);
  writer.close();
  outbox.close();
});

test('a spool directory that cannot be made is refused at once naming it (recursive mkdir spins under /proc)', {
  skip: existsSync('/proc/self') ? false : 'no /proc here',
}, () => {
  assert.throws(() => tempOutbox({ spoolDir: '/proc/cti-x/spool' }), {
    code: 'ENOENT',
    message: /mkdir '\/proc\/cti-x'/,
  });
});

test('the WAL stays small while captures are committed and uploaded: checkpointed early and cut back (review r20 F1: at ~4 MB it took a nearly full card)', async () => {
  const { t, outbox } = tempOutbox({ minFreeBytes: 0 });
  let largest = 0;
  for (let n = 1; n <= 150; n++) {
    const { captureId } = await outbox.commitCapture(fakeCapture(n, { imageBytes: 1000 }));
    const steps = ['image.png', 'mask.png', 'meta.json'];
    for (const [i, name] of [null, ...steps].entries())
      outbox.store.advance(captureId, name, steps[i] ?? null, Date.now());
    largest = Math.max(largest, statSync(`${t.dbPath}-wal`).size);
  }
  assert.equal(outbox.summary().uploadedTotal, 150);
  // 64 pages of 4 KB, plus the transaction that crosses the mark; SQLite's default let it reach 4 MB.
  assert.ok(largest < 400_000, `the WAL reached ${largest} bytes`);
  outbox.close();
});

test('the oldest pending age is measured on a clock that does not step: NTP stepping the wall clock days forward or back leaves it right (review r20 F5)', async () => {
  let wall = Date.UTC(2026, 11, 1, 6, 0, 0); // a Pi with fake-hwclock, booted without network
  let mono = 1_000;
  const { t, outbox } = tempOutbox({ clock: () => wall, monotonic: () => mono, minFreeBytes: 0 });
  await outbox.commitCapture(fakeCapture(1));
  wall += 2_000;
  mono += 2_000;
  assert.equal(outbox.summary().oldestPendingAgeMs, 2_000);
  wall += 6 * 86_400_000 + 3_000; // NTP steps it to the real time
  mono += 3_000;
  assert.equal(outbox.summary().oldestPendingAgeMs, 5_000, 'not 6 days');
  wall -= 10 * 86_400_000; // a clock that ran ahead stepped back
  mono += 1_000;
  assert.equal(outbox.summary().oldestPendingAgeMs, 6_000, 'not 0');
  // A later capture pending behind an uploaded first one: its own commit time counts.
  await outbox.commitCapture(fakeCapture(2));
  for (const [name, next] of [
    [null, 'image.png'],
    ['image.png', 'mask.png'],
    ['mask.png', 'meta.json'],
    ['meta.json', null],
  ] as const)
    outbox.store.advance('cap_t00001', name, next, wall);
  mono += 500;
  assert.equal(outbox.summary().oldestPendingAgeMs, 500);
  outbox.close();
  // Committed by an earlier process: only the wall clock knows when.
  const again = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, clock: () => wall + 7_000 });
  assert.equal(again.summary().oldestPendingAgeMs, 7_000);
  again.close();
});
