import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describeUnwritable, invokingUser } from '../startup/data-dir.ts';
import { isReadOnlyMount } from '../startup/read-only-mount.ts';
import {
  OutboxCorruptError,
  OutboxDbError,
  OutboxDiskFullError,
  OutboxMissingError,
} from './outbox-errors.ts';
import { migrateOutboxDb, OUTBOX_SCHEMA_VERSION, OutboxSchemaOlderError } from './outbox-migrations.ts';
import {
  copyToTemp,
  damagedOnReadOnlyVolume,
  onReadOnlyVolume,
  readOnlyVolumeNote,
} from './read-only-volume.ts';
import { inodesShort, type StatfsFn, type VolumeSpace, volumeSpace } from './volume-space.ts';

/**
 * Schema v1. `seq` gives the commit order the uploader drains in (oldest first) — not `captured_at`,
 * which a Pi without RTC may have wrong. `ord` orders objects inside a capture (image, mask, other,
 * meta.json last). `stats` keeps counters that must survive retention deleting old rows.
 */
const SCHEMA_V1 = `
CREATE TABLE captures (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  capture_id TEXT NOT NULL UNIQUE,
  device_code TEXT NOT NULL,
  captured_at TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'quarantined')),
  quarantine_reason TEXT,
  uploaded_at INTEGER
);
CREATE INDEX captures_state_seq ON captures (state, seq);
CREATE INDEX captures_uploaded_at ON captures (uploaded_at) WHERE state = 'uploaded';
CREATE TABLE objects (
  capture_id TEXT NOT NULL REFERENCES captures (capture_id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  ord INTEGER NOT NULL,
  key TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploading', 'uploaded', 'quarantined')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_error_at INTEGER,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  uploaded_at INTEGER,
  PRIMARY KEY (capture_id, name)
);
CREATE TABLE stats (
  name TEXT PRIMARY KEY,
  value TEXT
);
`;

export type OutboxDb = Database.Database;

/** stats row set when the schema is made, deleted once the spool was re-imported (recoverAtOpen). */
export const REIMPORT_PENDING_STAT = 'reimport_pending';

/**
 * `create`: the service, which makes the database at its first start. `existing`: a process that
 * changes an outbox the service made (`cti-agent outbox retry`). `readonly`: one that only reads it
 * (list, show, offline status). The last two refuse a missing file with OutboxMissingError.
 */
export type OutboxAccess = 'create' | 'existing' | 'readonly';

export type { StatfsFn };

/** WAL pages after which a commit checkpoints (SQLite's default is 1000, ~4 MB). */
export const WAL_AUTOCHECKPOINT_PAGES = 64;
/** Size the WAL file is cut back to when it restarts after a checkpoint. */
export const WAL_SIZE_LIMIT_BYTES = 512 * 1024;

/** An I/O error with less than this free on the volume is taken for a full disk. */
const FULL_MARGIN_BYTES = 1024 * 1024;

export interface OpenedOutboxDb {
  db: OutboxDb;
  /** The schema was made at this open: an empty or missing file, never a crash leftover. */
  created: boolean;
  /** A read-only open of a database on a read-only volume (see openOnReadOnlyVolume). */
  readOnlyVolume: ReadOnlyVolumeRead | null;
}

export interface ReadOnlyVolumeRead {
  /** What the reader is looking at, for the operator (the CLI prints it). */
  note: string;
  /** Removes the copy read, if one was made (the outbox's close does). */
  release(): void;
}

/**
 * Throws OutboxMissingError when `dbPath` does not exist, and an OutboxDbError saying how to run the
 * command when this user may not look (data_dir is 0750 cti:cti: `cti-agent outbox list` as the login
 * user got "does not exist" from existsSync's false on EACCES — review r22 F16). A command that writes
 * (`writes`: retry, discard, downgrade) is to run as the service user, so that what SQLite or the
 * command creates stays the service's; a reader may run as root.
 */
export function requireOutboxFile(dbPath: string, writes = false): void {
  try {
    statSync(dbPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new OutboxDbError(
        dbPath,
        `cannot be read as ${invokingUser()} (${code}): ${dirname(dbPath)} is the service's`,
        {
          cause: err,
          fix: writes
            ? 'run it as the service user: sudo -u cti cti-agent …'
            : 'run it with sudo (or as the service user: sudo -u cti cti-agent …)',
        },
      );
    }
    throw new OutboxMissingError(dbPath);
  }
}

/**
 * Opens the outbox database (creating it only with access `create`): WAL so readers (CLI, status)
 * never block the service, synchronous=FULL so a committed capture survives power loss, incremental
 * auto-vacuum so retention can give pages back without a full VACUUM.
 *
 * On a full volume a WAL database cannot be opened the usual way (SQLite must size its `-shm` file):
 * a read-only open then reads it through a private wal-index instead (see openOnFullDisk), and any
 * other open throws OutboxDiskFullError with the number of captures it holds. A read-only open on a
 * read-only volume reads it and says so (openOnReadOnlyVolume). A damaged file is an
 * OutboxCorruptError, anything else an OutboxDbError.
 */
export function openOutboxDb(
  dbPath: string,
  access: OutboxAccess = 'create',
  statfs: StatfsFn = statfsSync,
): OpenedOutboxDb {
  // better-sqlite3 says "directory does not exist" (a TypeError) or SQLITE_CANTOPEN: name the file.
  if (access !== 'create') requireOutboxFile(dbPath, access !== 'readonly');
  // Asked up front (review r10 F1): with the `-shm` a running service (or a crash) leaves on the card,
  // SQLite reads it in place without an error, and the operator must still be told.
  if (access === 'readonly' && onReadOnlyVolume(dbPath)) return openOnReadOnlyVolume(dbPath);
  let db: OutboxDb | undefined;
  try {
    db = new Database(dbPath, { readonly: access === 'readonly', fileMustExist: access !== 'create' });
    if (access === 'readonly') return { db: checkVersion(db, dbPath), created: false, readOnlyVolume: null };
    return { db, created: initOutboxDb(db, dbPath), readOnlyVolume: null };
  } catch (err) {
    if (db?.open) db.close();
    // Removed between the check above and the open.
    if (access !== 'create') requireOutboxFile(dbPath, access !== 'readonly');
    if (!(err instanceof Database.SqliteError)) throw err;
    const full = fullVolume(err, dbPath, statfs);
    if (full && access === 'readonly') {
      const reader = openOnFullDisk(dbPath);
      if (reader) return { db: reader, created: false, readOnlyVolume: null };
    }
    if (full) {
      throw new OutboxDiskFullError(dbPath, { ...full, pendingCaptures: countPending(dbPath) }, err);
    }
    if (damaged(err)) {
      throw new OutboxCorruptError(dbPath, `cannot be opened: ${err.message}`, { cause: err });
    }
    const readOnly = unwritable(dbPath); // a WAL database needs its -shm file even to be read
    if (readOnly) {
      throw new OutboxDbError(
        dbPath,
        `is read-only for the agent: ${readOnly.problem} (${err.code}: ${err.message})`,
        {
          cause: err,
          fix: `${readOnly.fix}; do not move the file aside: it holds the upload queue`,
        },
      );
    }
    // SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, an I/O error on a volume with room…
    throw new OutboxDbError(dbPath, `cannot be opened: ${err.message}`, { cause: err });
  }
}

/**
 * The volume is full when SQLite says so (SQLITE_FULL), or when an I/O error (the `-shm` could not be
 * sized or made) comes with almost nothing free, or no free inode, on the database's volume.
 */
function fullVolume(
  err: { code: string },
  dbPath: string,
  statfs: StatfsFn,
): ({ volume: string } & VolumeSpace) | null {
  const volume = dirname(dbPath);
  let space: VolumeSpace;
  try {
    space = volumeSpace(volume, statfs);
  } catch {
    return err.code === 'SQLITE_FULL' ? { volume, freeBytes: 0, freeInodes: null } : null;
  }
  if (err.code === 'SQLITE_FULL') return { volume, ...space };
  const io = err.code.startsWith('SQLITE_IOERR') || err.code.startsWith('SQLITE_CANTOPEN');
  return io && (space.freeBytes < FULL_MARGIN_BYTES || inodesShort(space)) ? { volume, ...space } : null;
}

/** Why the database or its directory cannot be written (EROFS, EACCES), null when they can. */
function unwritable(dbPath: string): { problem: string; fix: string } | null {
  const dir = dirname(dbPath);
  for (const path of [dir, dbPath]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const described = describeUnwritable(dir, err, path);
      if (described) return described;
    }
  }
  // An ext4 card in emergency_ro passes access(W_OK); only its writes fail with EROFS.
  return isReadOnlyMount(dir) ? describeUnwritable(dir, { code: 'EROFS' }, dir) : null;
}

const damaged = (err: { code: string }) =>
  err.code === 'SQLITE_NOTADB' || err.code.startsWith('SQLITE_CORRUPT');

/**
 * Reads a database on a read-only volume (a card the kernel remounted read-only: list, show, export
 * and status must still work; review r8 F6) and says so. In place when SQLite can: with the `-shm`
 * file a running service or a crash leaves. Without it SQLite cannot open a WAL database even to
 * read (it must make the `-shm`), and better-sqlite3 takes no `immutable=1` URI: then `outbox.db`
 * and its `-wal` are copied to a private temp directory (copyToTemp) and the copy is read
 * (query_only). Nothing can write a read-only volume, so the copy is exactly what is on the card;
 * only there: a copy taken beside a running writer could be torn.
 */
function openOnReadOnlyVolume(dbPath: string): OpenedOutboxDb {
  let db: OutboxDb | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const note = readOnlyVolumeNote(dbPath, 'in place');
    return { db: checkVersion(db, dbPath), created: false, readOnlyVolume: { note, release() {} } };
  } catch (err) {
    if (db?.open) db.close();
    if (!(err instanceof Database.SqliteError)) throw err;
    if (damaged(err)) throw damagedOnReadOnlyVolume(dbPath, err);
  }
  const copy = copyToTemp(dbPath);
  try {
    db = new Database(copy.path, { fileMustExist: true });
    db.pragma('query_only = ON');
    const note = readOnlyVolumeNote(dbPath, 'snapshot');
    return { db: checkVersion(db, dbPath), created: false, readOnlyVolume: { note, release: copy.remove } };
  } catch (err) {
    if (db?.open) db.close();
    copy.remove();
    if (!(err instanceof Database.SqliteError)) throw err;
    if (damaged(err)) throw damagedOnReadOnlyVolume(dbPath, err);
    throw new OutboxDbError(
      dbPath,
      `is on a read-only volume and its copy in ${dirname(copy.path)} cannot be opened (${err.code}: ${err.message})`,
      {
        cause: err,
        fix: 'run the command again with TMPDIR=<a writable directory off the card, with room for the copy>',
      },
    );
  }
}

/**
 * Reads a WAL database on a full volume: with `locking_mode = EXCLUSIVE` set before the first read,
 * SQLite keeps the wal-index in memory and needs no `-shm` file (a read-only connection cannot take
 * that lock, so this one is read-write with `query_only`: it writes nothing). It holds the lock until
 * closed — the service cannot be running, since it could not open the database either. Null when even
 * this fails.
 */
function openOnFullDisk(dbPath: string, { anyVersion = false } = {}): OutboxDb | null {
  let db: OutboxDb | undefined;
  try {
    db = new Database(dbPath, { fileMustExist: true });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('query_only = ON');
    return anyVersion ? db : checkVersion(db, dbPath);
  } catch {
    if (db?.open) db.close();
    return null;
  }
}

/** Captures waiting to upload in a database on a full volume, null when it cannot be read. */
function countPending(dbPath: string): number | null {
  // Any schema version: `captures` is v1's as well, and a card that filled up before the service
  // upgraded an old outbox is the likeliest to hold one (review r8 F2).
  const db = openOnFullDisk(dbPath, { anyVersion: true });
  if (!db) return null;
  try {
    return db.prepare(`SELECT count(*) FROM captures WHERE state = 'pending'`).pluck().get() as number;
  } catch {
    return null;
  } finally {
    db.close();
  }
}

/**
 * The uploaded captures of a database on a full volume, oldest upload first (what the disk floor may
 * remove); null when it cannot be read. Read through openOnFullDisk: its exclusive lock also proves
 * that no other process has the database open.
 */
export function uploadedOnFullDisk(dbPath: string): string[] | null {
  const db = openOnFullDisk(dbPath, { anyVersion: true });
  if (!db) return null;
  try {
    return db
      .prepare(`SELECT capture_id FROM captures WHERE state = 'uploaded' ORDER BY uploaded_at, seq`)
      .pluck()
      .all() as string[];
  } catch {
    return null;
  } finally {
    db.close();
  }
}

/** Sets the connection up and makes the schema on an empty file; true when it did. */
function initOutboxDb(db: OutboxDb, dbPath: string): boolean {
  db.pragma('busy_timeout = 5000');
  // auto_vacuum only takes effect before the first table exists.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Checkpoint early and keep the WAL file small (review r20 F1): with SQLite's default of 1000
  // pages (~4 MB) the WAL took a nearly full card's last free space before its first checkpoint, and
  // from then on no upload could be recorded. Measured: see docs/agent-outbox.md § The SD card is full.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  db.pragma('foreign_keys = ON');
  // Re-checked inside the write lock: the CLI and the service may open a fresh file at once.
  const created = db
    .transaction(() => {
      if (readVersion(db) !== 0) return false;
      db.exec(SCHEMA_V1);
      // Durable until every spool capture is re-imported (outbox-recovery.ts): an open interrupted
      // after this commit must re-import again, not sweep the rest as crash leftovers.
      db.prepare(`INSERT INTO stats (name, value) VALUES (?, '1')`).run(REIMPORT_PENDING_STAT);
      db.pragma('user_version = 1');
      return true;
    })
    .immediate();
  migrateOutboxDb(db); // v1 → current (outbox-migrations.ts); a fresh file goes through it too
  checkVersion(db, dbPath);
  return created;
}

const readVersion = (db: OutboxDb) => db.pragma('user_version', { simple: true }) as number;

function checkVersion(db: OutboxDb, dbPath: string): OutboxDb {
  db.pragma('busy_timeout = 5000');
  const version = readVersion(db);
  // Older: a read-only open cannot upgrade it; the service (or a `retry`) does at its next open.
  if (version >= 1 && version < OUTBOX_SCHEMA_VERSION) throw new OutboxSchemaOlderError(dbPath, version);
  if (version !== OUTBOX_SCHEMA_VERSION) {
    throw new OutboxDbError(
      dbPath,
      `has schema version ${version}; this agent reads version ${OUTBOX_SCHEMA_VERSION}`,
      {
        fix: 'run the agent version that made it (or a newer one); do not move it aside: it holds the upload queue',
      },
    );
  }
  return db;
}
