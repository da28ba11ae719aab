import { accessSync, constants, statfsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeFree, inodesShort, volumeSpace } from '../outbox/volume-space.ts';
import { OwnerLockedError, StartupError } from './startup-errors.ts';

/**
 * The owner lock could not be taken for a reason other than another owner. `volumeFull`: the lock file
 * is new and SQLite needs a page for it (taking the lock on an existing file needs no space).
 */
export class OwnerLockError extends StartupError {
  readonly volumeFull: boolean;

  constructor(message: string, { cause, volumeFull }: { cause: unknown; volumeFull: boolean }) {
    super(message, { cause });
    this.name = 'OwnerLockError';
    this.volumeFull = volumeFull;
  }
}

/** The owner lock's file in the data directory (a small SQLite database; see acquireOwnerLock). */
export const OWNER_LOCK_FILE = 'agent.lock';

export interface OwnerLock {
  path: string;
  release(): void;
}

const isBusy = (err: unknown) => (err as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;

/**
 * Makes this process the one owner of `dataDir` (its outbox and spool) for as long as it lives, or
 * throws OwnerLockedError naming the pid of the process that is.
 *
 * The lock is SQLite's write lock on `<dataDir>/agent.lock`, held by a transaction that is never
 * committed: a POSIX record lock (fcntl) the kernel drops when the process ends however it ends
 * (kill -9, a crash, a power cut — locks live in memory, so nothing stale is left on disk to
 * misread). Node has no flock; a pid file with O_EXCL would need a liveness check that a reused pid
 * (frequent right after a Pi's reboot) fools. Rollback-journal mode lets a loser still read the
 * owner's pid while the write lock is held. The pid is committed first, then the lock taken again:
 * a process that wins in between has recorded its own pid before it holds the lock. Taking the lock
 * writes nothing, so it works on a full data volume too (the outbox then says the volume is full).
 *
 * @example
 * const lock = acquireOwnerLock('/var/lib/cti'); // throws OwnerLockedError if the service runs
 * // … open the outbox as owner …
 * lock.release();
 */
export function acquireOwnerLock(dataDir: string, pid = process.pid): OwnerLock {
  const path = join(dataDir, OWNER_LOCK_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 0 });
    // SQLite opens a file it may not write read-only without a word, and a read-only connection's
    // BEGIN IMMEDIATE locks nothing: two runs would both "own" the data directory (review r8 F5).
    requireWritable(path);
    recordPid(db, pid);
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    const recorded = db?.open && isBusy(err) ? readOwnerPid(db) : null;
    // Two runs started in the same instant: this one may have committed its pid after the winner did
    // (the winner had not yet taken the lock), and would then name itself. Its own pid names nobody.
    const owner = recorded === pid ? null : recorded;
    if (db?.open) db.close();
    if (isBusy(err)) throw new OwnerLockedError(dataDir, owner);
    throw new OwnerLockError(
      `cannot take the owner lock ${path}: ${(err as Error).message}. Fix: check that the agent's user ` +
        `(cti) can write ${dataDir}, that its volume is mounted read-write and not full (${fullCheck(dataDir)}); ` +
        'do not move or delete outbox.db or the spool: they hold the upload queue',
      { cause: err, volumeFull: volumeFull(dataDir, err) },
    );
  }
  const held = db;
  return {
    path,
    release: () => {
      if (held.open) held.close(); // closing ends the transaction and drops the lock
    },
  };
}

/**
 * Commits this process's pid for a loser to name. Best effort: on a full or read-only volume the
 * write fails and the lock is still taken (it needs no space); a loser then names the pid recorded
 * last, or none. SQLITE_BUSY (another process holds the lock) is rethrown.
 */
function recordPid(db: Database.Database, pid: number): void {
  try {
    db.pragma('journal_mode = DELETE');
    db.exec(
      'CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since TEXT NOT NULL)',
    );
    db.exec('BEGIN IMMEDIATE');
    db.prepare('INSERT OR REPLACE INTO owner (id, pid, since) VALUES (1, ?, ?)').run(
      pid,
      new Date().toISOString(),
    );
    // A loser reading the pid holds a shared lock for an instant: let the commit wait for it.
    db.pragma('busy_timeout = 2000');
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (isBusy(err)) throw err;
  } finally {
    db.pragma('busy_timeout = 0');
  }
}

/** Throws when this process may not write the lock file (e.g. made by a root run: root-owned, 0644). */
function requireWritable(path: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw Object.assign(
      new Error(
        `${path} is not writable by this user (uid ${process.getuid?.() ?? '?'}), so it cannot be locked — ` +
          `was it made by a run as root? \`sudo chown cti:cti ${path}\``,
        { cause: err },
      ),
      { code: 'EACCES' },
    );
  }
}

function readOwnerPid(db: Database.Database): number | null {
  try {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.pragma('busy_timeout = 1000');
    return (db.prepare('SELECT pid FROM owner WHERE id = 1').pluck().get() as number | undefined) ?? null;
  } catch {
    return null;
  }
}

/** `df -h`, or `df -i` when inodes are what ran out (review r20 F7: bytes free, no inode). */
function fullCheck(dataDir: string): string {
  try {
    const space = volumeSpace(dataDir);
    if (inodesShort(space)) return `\`df -i ${dataDir}\`: ${describeFree(space)}`;
  } catch {}
  return `\`df -h ${dataDir}\``;
}

function volumeFull(dataDir: string, err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') return true;
  if (!code.startsWith('SQLITE_IOERR') && !code.startsWith('SQLITE_CANTOPEN')) return false;
  try {
    const s = statfsSync(dataDir);
    return Number(s.bavail) * Number(s.bsize) < 1024 * 1024 || Number(s.ffree) === 0;
  } catch {
    return false;
  }
}
