import type Database from 'better-sqlite3';
import { OutboxDbError } from './outbox-errors.ts';

/** The schema version this agent reads and writes (`PRAGMA user_version`). */
export const OUTBOX_SCHEMA_VERSION = 2;

/**
 * v1 → v2:
 * - captures: state `discarded` (an operator gave the capture up: `cti-agent outbox discard`) with
 *   when, why and where its files went. SQLite cannot change a CHECK in place, so the table is
 *   rebuilt (the documented 12-step way: foreign keys off, copy, drop, rename).
 * - pending_totals: the pending captures and the bytes still to send, kept by triggers in the same
 *   transaction as every change of state, so `summary()` (the LED, every 2 s) reads one row instead
 *   of scanning the backlog (review r7 F5: ~30 ms at 10,000 pending on the dev VM, more on a Pi).
 * - objects_next_attempt: a partial index so `nextWake` reads the earliest backoff, not every row.
 */
const V1_TO_V2 = `
CREATE TABLE captures_v2 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  capture_id TEXT NOT NULL UNIQUE,
  device_code TEXT NOT NULL,
  captured_at TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'quarantined', 'discarded')),
  quarantine_reason TEXT,
  uploaded_at INTEGER,
  discarded_at INTEGER,
  discard_reason TEXT,
  discarded_dir TEXT
);
INSERT INTO captures_v2 (seq, capture_id, device_code, captured_at, committed_at, state, quarantine_reason, uploaded_at)
  SELECT seq, capture_id, device_code, captured_at, committed_at, state, quarantine_reason, uploaded_at FROM captures;
DROP TABLE captures;
ALTER TABLE captures_v2 RENAME TO captures;
CREATE INDEX captures_state_seq ON captures (state, seq);
CREATE INDEX captures_uploaded_at ON captures (uploaded_at) WHERE state = 'uploaded';
CREATE INDEX objects_next_attempt ON objects (next_attempt_at) WHERE state != 'uploaded';
-- The objects of a capture that is not pending (quarantined, discarded) are parked at the end of
-- objects_next_attempt (next_attempt_at = PARKED_AT), where nextWake stops before them: a pile of
-- quarantined or discarded captures never slows the next-wake lookup. A capture made pending again
-- (retry) takes its objects back to 0.
UPDATE objects SET next_attempt_at = 9007199254740991
 WHERE state != 'uploaded'
   AND capture_id IN (SELECT capture_id FROM captures WHERE state IN ('quarantined', 'discarded'));
CREATE TRIGGER objects_park AFTER UPDATE OF state ON captures
WHEN NEW.state IN ('quarantined', 'discarded') AND OLD.state != NEW.state
BEGIN
  UPDATE objects SET next_attempt_at = 9007199254740991 WHERE capture_id = NEW.capture_id AND state != 'uploaded';
END;
CREATE TRIGGER objects_unpark AFTER UPDATE OF state ON captures
WHEN NEW.state = 'pending' AND OLD.state != 'pending'
BEGIN
  UPDATE objects SET next_attempt_at = 0 WHERE capture_id = NEW.capture_id AND state != 'uploaded';
END;

CREATE TABLE pending_totals (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  captures INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
INSERT INTO pending_totals (id, captures, bytes) VALUES (1,
  (SELECT count(*) FROM captures WHERE state = 'pending'),
  (SELECT coalesce(sum(o.size_bytes), 0) FROM objects o JOIN captures c USING (capture_id)
   WHERE c.state = 'pending' AND o.state != 'uploaded'));

-- A capture is inserted before its objects; each object adds its bytes.
CREATE TRIGGER pending_capture_insert AFTER INSERT ON captures WHEN NEW.state = 'pending'
BEGIN
  UPDATE pending_totals SET captures = captures + 1;
END;
CREATE TRIGGER pending_object_insert AFTER INSERT ON objects
WHEN NEW.state != 'uploaded' AND (SELECT state FROM captures WHERE capture_id = NEW.capture_id) = 'pending'
BEGIN
  UPDATE pending_totals SET bytes = bytes + NEW.size_bytes;
END;
-- A capture entering or leaving 'pending' (uploaded, quarantined, retried, discarded) carries the
-- bytes of its objects not yet uploaded.
CREATE TRIGGER pending_capture_state AFTER UPDATE OF state ON captures
WHEN (OLD.state = 'pending') != (NEW.state = 'pending')
BEGIN
  UPDATE pending_totals SET
    captures = captures + iif(NEW.state = 'pending', 1, -1),
    bytes = bytes + iif(NEW.state = 'pending', 1, -1) * (
      SELECT coalesce(sum(size_bytes), 0) FROM objects WHERE capture_id = NEW.capture_id AND state != 'uploaded');
END;
CREATE TRIGGER pending_object_state AFTER UPDATE OF state ON objects
WHEN (OLD.state = 'uploaded') != (NEW.state = 'uploaded')
  AND (SELECT state FROM captures WHERE capture_id = NEW.capture_id) = 'pending'
BEGIN
  UPDATE pending_totals SET bytes = bytes + iif(NEW.state = 'uploaded', -1, 1) * NEW.size_bytes;
END;
-- Retention deletes only uploaded captures; should a pending one ever go, its objects (deleted by
-- the cascade after this) take their bytes with them.
CREATE TRIGGER pending_capture_delete BEFORE DELETE ON captures WHEN OLD.state = 'pending'
BEGIN
  UPDATE pending_totals SET captures = captures - 1, bytes = bytes - (
    SELECT coalesce(sum(size_bytes), 0) FROM objects WHERE capture_id = OLD.capture_id AND state != 'uploaded');
END;
`;

/**
 * A read-only process (list, show, offline status) found an outbox an older agent made: it cannot
 * upgrade it, and nothing is wrong with it. (OutboxDbError's own advice — restore or move the file
 * aside — is for damaged files, not this.)
 */
export class OutboxSchemaOlderError extends OutboxDbError {
  constructor(dbPath: string, version: number) {
    super(dbPath, `has schema version ${version}`);
    this.message =
      `outbox database ${dbPath} has schema version ${version}, older than this agent's ${OUTBOX_SCHEMA_VERSION}; ` +
      'nothing was changed. Fix: start the service once (`sudo systemctl restart cti-agent`): it upgrades it';
  }
}

const readVersion = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number;

/**
 * Brings a v1 outbox (or a fresh one just given the v1 schema) to OUTBOX_SCHEMA_VERSION in one
 * IMMEDIATE transaction: a crash or a full disk leaves it at v1, untouched, and the next open
 * tries again. Foreign keys are off during the rebuild (a PRAGMA that has no effect inside a
 * transaction), or dropping the old captures table would cascade-delete every object.
 */
export function migrateOutboxDb(db: Database.Database): void {
  if (readVersion(db) >= OUTBOX_SCHEMA_VERSION) return;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      // Re-checked inside the write lock: the CLI and the service may open the file at once.
      if (readVersion(db) !== 1) return;
      // AUTOINCREMENT's high-water mark goes with the dropped table: keep it, so a seq is never reused.
      const highest = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'captures'`).pluck().get();
      db.exec(V1_TO_V2);
      if (highest !== undefined) {
        db.prepare(`DELETE FROM sqlite_sequence WHERE name = 'captures'`).run();
        db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('captures', ?)`).run(highest);
      }
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0)
        throw new Error(`foreign key check failed after the v2 rebuild: ${broken.length} rows`);
      db.pragma(`user_version = ${OUTBOX_SCHEMA_VERSION}`);
    }).immediate();
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}
