import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { acquireOwnerLock, OWNER_LOCK_FILE } from './owner-lock.ts';
import { OwnerLockedError } from './startup-errors.ts';

test('a run that loses the lock in the same instant it recorded its own pid names no owner rather than itself', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-owner-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const loser = 4242;
  // The race as SQLite sees it: the winner recorded its pid, then the loser recorded its own over it,
  // then the winner took the write lock (a transaction never committed).
  const winner = acquireOwnerLock(dir, 1111);
  winner.release();
  const db = new Database(join(dir, OWNER_LOCK_FILE));
  db.prepare('UPDATE owner SET pid = ? WHERE id = 1').run(loser);
  db.exec('BEGIN IMMEDIATE');
  t.after(() => db.close());

  assert.throws(
    () => acquireOwnerLock(dir, loser),
    (err: unknown) =>
      err instanceof OwnerLockedError && err.pid === null && /\(pid unknown\)/.test(err.message),
  );
  // The ordinary case still names the owner it recorded.
  db.exec('COMMIT');
  db.prepare('UPDATE owner SET pid = ? WHERE id = 1').run(1111);
  db.exec('BEGIN IMMEDIATE');
  assert.throws(
    () => acquireOwnerLock(dir, loser),
    (err: unknown) => err instanceof OwnerLockedError && err.pid === 1111,
  );
});
