import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { fakeCapture, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { RELEASED_V1 } from '../test-support/outbox-v1-schema.ts';
import { createOutbox, type Outbox } from './outbox.ts';
import { OutboxDbError } from './outbox-errors.ts';
import { PARKED_AT } from './outbox-store.ts';

const t = outboxTempDir('outbox-migrate-');
after(() => t.remove());

/** What the backlog really is, counted the slow way the v1 summary did. */
function recount(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT count(DISTINCT c.capture_id) AS captures, coalesce(sum(o.size_bytes), 0) AS bytes
         FROM captures c JOIN objects o USING (capture_id) WHERE c.state = 'pending' AND o.state != 'uploaded'`,
      )
      .get() as { captures: number; bytes: number };
  } finally {
    db.close();
  }
}

const totals = (outbox: Outbox) => {
  const s = outbox.summary();
  return { captures: s.pendingCaptures, bytes: s.pendingBytes };
};

test('a v1 outbox is upgraded in place: rows, objects and progress kept, seq not reused, totals right', async () => {
  const dbPath = `${t.dir}/v1.db`;
  const spoolDir = `${t.dir}/spool-v1`;
  const v1 = new Database(dbPath);
  v1.pragma('journal_mode = WAL');
  v1.exec(RELEASED_V1);
  v1.pragma('user_version = 1');
  const insertCapture = v1.prepare(
    `INSERT INTO captures (capture_id, device_code, captured_at, committed_at, state, quarantine_reason, uploaded_at)
     VALUES (?, 'dev-test', '2025-09-09T14:00:00.000Z', ?, ?, ?, ?)`,
  );
  const insertObject = v1.prepare(
    `INSERT INTO objects (capture_id, name, ord, key, sha256, size_bytes, state, attempts, next_attempt_at)
     VALUES (?, ?, ?, ?, 'x', ?, ?, ?, ?)`,
  );
  const rows: [string, string, string | null, [string, number, string][]][] = [
    [
      'cap_v1a',
      'uploaded',
      null,
      [
        ['image.png', 100, 'uploaded'],
        ['meta.json', 10, 'uploaded'],
      ],
    ],
    [
      'cap_v1b',
      'pending',
      null,
      [
        ['image.png', 200, 'uploaded'],
        ['meta.json', 20, 'uploading'],
      ],
    ],
    [
      'cap_v1c',
      'quarantined',
      'image.png: IntegrityError',
      [
        ['image.png', 300, 'quarantined'],
        ['meta.json', 30, 'pending'],
      ],
    ],
    [
      'cap_v1d',
      'pending',
      null,
      [
        ['image.png', 400, 'pending'],
        ['meta.json', 40, 'pending'],
      ],
    ],
  ];
  for (const [i, [id, state, reason, objects]] of rows.entries()) {
    insertCapture.run(id, 1000 + i, state, reason, state === 'uploaded' ? 5 : null);
    for (const [name, size, objectState] of objects)
      insertObject.run(
        id,
        name,
        name === 'meta.json' ? 9 : 0,
        `raw/${id}/${name}`,
        size,
        objectState,
        1,
        7777,
      );
  }
  // Retention removed the newest rows once: AUTOINCREMENT's mark (9) is above the highest seq (4).
  v1.prepare(`UPDATE sqlite_sequence SET seq = 9 WHERE name = 'captures'`).run();
  v1.close();

  assert.throws(
    () => createOutbox({ dbPath, spoolDir, owner: false, access: 'readonly' }),
    (err: Error) =>
      err instanceof OutboxDbError &&
      err.message ===
        `outbox database ${dbPath} has schema version 1, older than this agent's 2; nothing was changed. ` +
          'Fix: start the service once (`sudo systemctl restart cti-agent`): it upgrades it',
  );
  const outbox = createOutbox({ dbPath, spoolDir, clock: () => 5000 });
  assert.deepEqual(
    outbox.list({ limit: 10 }).map((c) => [c.seq, c.captureId, c.state, c.quarantineReason, c.discardedAt]),
    [
      [1, 'cap_v1a', 'uploaded', null, null],
      [2, 'cap_v1b', 'pending', null, null],
      [3, 'cap_v1c', 'quarantined', 'image.png: IntegrityError', null],
      [4, 'cap_v1d', 'pending', null, null],
    ],
  );
  // Dropping the old captures table cascaded to no object (foreign keys were off for the rebuild).
  assert.deepEqual(
    outbox.show('cap_v1b')?.objects.map((o) => [o.name, o.state, o.attempts]),
    [
      ['image.png', 'uploaded', 1],
      ['meta.json', 'pending', 1],
    ], // 'uploading' reset by the owner's open
  );
  assert.deepEqual(totals(outbox), { captures: 2, bytes: 20 + 400 + 40 });
  assert.deepEqual(totals(outbox), recount(dbPath));
  assert.equal(outbox.summary().quarantined, 1);
  assert.equal(outbox.summary().oldestPendingAgeMs, 5000 - 1001, 'the oldest pending is cap_v1b');
  await outbox.commitCapture(fakeCapture(1));
  assert.equal(outbox.show('cap_t00001')?.seq, 10, 'seq continues above the v1 high-water mark');
  assert.equal(outbox.store.nextWake(), 0);
  // The quarantined capture's objects were parked by the upgrade (nextWake stops before them).
  assert.deepEqual(
    outbox
      .show('cap_v1c')
      ?.objects.filter((o) => o.state !== 'uploaded')
      .map((o) => o.nextAttemptAt),
    outbox
      .show('cap_v1c')
      ?.objects.filter((o) => o.state !== 'uploaded')
      .map(() => PARKED_AT),
  );
  outbox.close();
  // Opening again is a no-op (already v2).
  const reopened = createOutbox({ dbPath, spoolDir, owner: false, access: 'readonly' });
  assert.equal(reopened.list({ limit: 10 }).length, 5);
  reopened.close();
});

test('the pending totals follow every change of state, from any connection, as a full recount does', async () => {
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  const cli = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false, access: 'existing' });
  const check = (step: string) => assert.deepEqual(totals(outbox), recount(t.dbPath), step);
  check('empty');
  for (let n = 1; n <= 8; n++) await outbox.commitCapture(fakeCapture(n));
  check('committed');
  const { store } = outbox;
  const id = (n: number) => `cap_t0000${n}`;
  store.advance(id(1), null, 'image.png', 1);
  store.advance(id(1), 'image.png', 'mask.png', 2);
  check('image uploaded');
  store.objectFailed(id(1), 'mask.png', 'HTTP 503', 3, 1000);
  store.advance(id(1), null, 'mask.png', 4);
  store.advance(id(1), 'mask.png', 'meta.json', 5);
  store.advance(id(1), 'meta.json', null, 6);
  check('capture uploaded');
  store.advance(id(2), null, 'image.png', 7);
  store.advance(id(2), 'image.png', 'mask.png', 8);
  store.quarantine(id(2), 'mask.png', 'mask.png: IntegrityError', 9);
  store.quarantine(id(3), null, 'AccessDenied', 9);
  check('quarantined, one half uploaded');
  assert.equal(cli.retry(id(2)), 1);
  check('retried from the CLI connection');
  store.quarantine(id(2), 'mask.png', 'mask.png: IntegrityError', 10);
  cli.discard(id(2));
  cli.discard(id(4), { force: true });
  check('discarded (one quarantined, one pending)');
  assert.equal(cli.retry(), 1);
  check('retry all');
  store.resetInterrupted(11);
  store.wakeAll();
  check('reset and woken');
  for (const n of [5, 6]) {
    store.advance(id(n), null, 'image.png', 12);
    store.advance(id(n), 'image.png', 'mask.png', 12);
    store.advance(id(n), 'mask.png', 'meta.json', 12);
    store.advance(id(n), 'meta.json', null, 12);
  }
  assert.equal(await outbox.prune({ olderThanMs: -1000 }), 3);
  check('retention');
  assert.deepEqual(totals(outbox).captures, 3); // 3, 7, 8
  cli.close();
  outbox.close();
});

test('objects of quarantined and discarded captures are parked out of the next-wake lookup; a retry takes them back', async () => {
  const p = outboxTempDir('outbox-park-');
  const outbox = createOutbox({ dbPath: p.dbPath, spoolDir: p.spoolDir });
  try {
    for (let n = 1; n <= 3; n++) await outbox.commitCapture(fakeCapture(n));
    const { store } = outbox;
    const times = (id: string) => outbox.show(id)?.objects.map((o) => o.nextAttemptAt);
    store.quarantine('cap_t00001', 'image.png', 'image.png: IntegrityError', 1);
    store.quarantine('cap_t00002', null, 'conflict', 1);
    store.discard({ id: 'cap_t00002', reason: 'gone', dir: null, now: 2, force: false });
    store.objectFailed('cap_t00003', 'image.png', 'ETIMEDOUT', 3, 60_000);
    assert.ok(times('cap_t00001')?.every((t) => t === PARKED_AT));
    assert.ok(times('cap_t00002')?.every((t) => t === PARKED_AT));
    // The pending capture's backoff, not the parked objects' 0s or their end-of-index value.
    assert.equal(store.nextWake(), 0, 'meta.json of cap_t00003 has no backoff');
    store.wakeAll();
    assert.ok(
      times('cap_t00001')?.every((t) => t === PARKED_AT),
      'a wake-up leaves parked objects',
    );
    outbox.retry();
    assert.ok(
      times('cap_t00001')?.every((t) => t === 0),
      'retried: back in the queue',
    );
    assert.ok(
      times('cap_t00002')?.every((t) => t === PARKED_AT),
      'a retry of all leaves discarded ones',
    );
  } finally {
    outbox.close();
    p.remove();
  }
});
