import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { OutboxDbError, OutboxMissingError } from './outbox-errors.ts';
import { migrateOutboxDb, OUTBOX_SCHEMA_VERSION, OutboxSchemaOlderError } from './outbox-migrations.ts';

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

/**
 * `create`: the service, which makes the database at its first start. `existing`: a process that
 * changes an outbox the service made (`cti-agent outbox retry`). `readonly`: one that only reads it
 * (list, show, offline status). The last two refuse a missing file with OutboxMissingError.
 */
export type OutboxAccess = 'create' | 'existing' | 'readonly';

/**
 * Opens the outbox database (creating it only with access `create`): WAL so readers (CLI, status)
 * never block the service, synchronous=FULL so a committed capture survives power loss, incremental
 * auto-vacuum so retention can give pages back without a full VACUUM.
 */
export function openOutboxDb(dbPath: string, access: OutboxAccess = 'create'): OutboxDb {
  // better-sqlite3 says "directory does not exist" (a TypeError) or SQLITE_CANTOPEN: name the file.
  if (access !== 'create' && !existsSync(dbPath)) throw new OutboxMissingError(dbPath);
  let db: OutboxDb | undefined;
  try {
    db = new Database(dbPath, { readonly: access === 'readonly', fileMustExist: access !== 'create' });
    return access === 'readonly' ? checkVersion(db, dbPath) : initOutboxDb(db, dbPath);
  } catch (err) {
    if (db?.open) db.close();
    // Removed between the check above and the open.
    if (access !== 'create' && !existsSync(dbPath)) throw new OutboxMissingError(dbPath);
    // better-sqlite3's SqliteError: SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_READONLY…
    if (err instanceof Database.SqliteError) {
      throw new OutboxDbError(dbPath, `cannot be opened: ${(err as Error).message}`, err);
    }
    throw err;
  }
}

function initOutboxDb(db: OutboxDb, dbPath: string): OutboxDb {
  db.pragma('busy_timeout = 5000');
  // auto_vacuum only takes effect before the first table exists.
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Re-checked inside the write lock: the CLI and the service may open a fresh file at once.
  db.transaction(() => {
    if (readVersion(db) !== 0) return;
    db.exec(SCHEMA_V1);
    db.pragma('user_version = 1');
  }).immediate();
  migrateOutboxDb(db); // v1 → current (outbox-migrations.ts); a fresh file goes through it too
  return checkVersion(db, dbPath);
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
    );
  }
  return db;
}
