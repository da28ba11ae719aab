import Database from 'better-sqlite3';
import { REIMPORT_PENDING_STAT, requireOutboxFile } from './outbox-db.ts';
import { OutboxDbError } from './outbox-errors.ts';
import { OUTBOX_SCHEMA_VERSION } from './outbox-migrations.ts';
import { PARKED_AT } from './outbox-store.ts';

/**
 * v2 → v1, the reverse of outbox-migrations.ts, for a rollback to an agent release that reads v1
 * (review r8 F8): it refuses v2, and moving the database aside loses the queue there (that release
 * has no re-import). v1 knows no `discarded` state: such captures become `quarantined` again, their
 * quarantine reason saying when and why they were given up and where their files are (never sent by
 * the older agent either; `retry` would re-check their files). The v2 triggers, pending totals and
 * next-attempt index go; parked objects get the next-attempt time v1 gave them (0).
 */
const V2_TO_V1 = `
DROP TRIGGER objects_park;
DROP TRIGGER objects_unpark;
DROP TRIGGER pending_capture_insert;
DROP TRIGGER pending_object_insert;
DROP TRIGGER pending_capture_state;
DROP TRIGGER pending_object_state;
DROP TRIGGER pending_capture_delete;
DROP TABLE pending_totals;
DROP INDEX objects_next_attempt;
UPDATE objects SET next_attempt_at = 0 WHERE next_attempt_at = ${PARKED_AT};
CREATE TABLE captures_v1 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  capture_id TEXT NOT NULL UNIQUE,
  device_code TEXT NOT NULL,
  captured_at TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'quarantined')),
  quarantine_reason TEXT,
  uploaded_at INTEGER
);
INSERT INTO captures_v1 (seq, capture_id, device_code, captured_at, committed_at, state, quarantine_reason, uploaded_at)
  SELECT seq, capture_id, device_code, captured_at, committed_at,
    iif(state = 'discarded', 'quarantined', state),
    iif(state = 'discarded',
      coalesce(quarantine_reason || '; ', '') || 'discarded ' ||
        strftime('%Y-%m-%dT%H:%M:%fZ', discarded_at / 1000.0, 'unixepoch') ||
        coalesce(': ' || discard_reason, '') ||
        coalesce('; files in ' || discarded_dir, '; files deleted') ||
        ' (given up; outbox downgraded to schema v1)',
      quarantine_reason),
    uploaded_at
  FROM captures;
DROP TABLE captures;
ALTER TABLE captures_v1 RENAME TO captures;
CREATE INDEX captures_state_seq ON captures (state, seq);
CREATE INDEX captures_uploaded_at ON captures (uploaded_at) WHERE state = 'uploaded';
`;

export interface DowngradeResult {
  /** The version found: 1 means there was nothing to do. */
  fromVersion: number;
  /** Discarded captures made quarantined again. */
  requarantined: number;
  captures: number;
}

const readVersion = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number;

/**
 * Converts the outbox at `dbPath` to schema v1 in one transaction (a crash leaves it at v2, whole).
 * The caller holds the data directory's owner lock (no service may be running: it would upgrade the
 * file again, or write beside the rebuild). Throws OutboxMissingError, or OutboxDbError naming what
 * to do for a version it does not know or a re-import that has not finished.
 */
export function downgradeOutbox(dbPath: string): DowngradeResult {
  requireOutboxFile(dbPath, true);
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const fromVersion = readVersion(db);
    const count = () => db.prepare('SELECT count(*) FROM captures').pluck().get() as number;
    if (fromVersion === 1) return { fromVersion, requarantined: 0, captures: count() };
    if (fromVersion !== OUTBOX_SCHEMA_VERSION) {
      throw new OutboxDbError(
        dbPath,
        `has schema version ${fromVersion}; downgrade converts version 2 to 1`,
        {
          fix: 'run it with the agent version that made the file',
        },
      );
    }
    db.pragma('foreign_keys = OFF'); // no effect inside a transaction; dropping captures must not cascade
    return db
      .transaction(() => {
        if (readVersion(db) !== OUTBOX_SCHEMA_VERSION)
          throw new Error('the schema version changed meanwhile');
        if (db.prepare('SELECT 1 FROM stats WHERE name = ?').get(REIMPORT_PENDING_STAT)) {
          throw new OutboxDbError(dbPath, 'is still re-importing the spool (a new database)', {
            fix: 'start this agent once (`sudo systemctl start cti-agent`) until it is ready, stop it, then downgrade: the older agent has no re-import',
          });
        }
        const requarantined = db
          .prepare(`SELECT count(*) FROM captures WHERE state = 'discarded'`)
          .pluck()
          .get() as number;
        const highest = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'captures'`).pluck().get();
        db.exec(V2_TO_V1);
        if (highest !== undefined) {
          db.prepare(`DELETE FROM sqlite_sequence WHERE name = 'captures'`).run();
          db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('captures', ?)`).run(highest);
        }
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0)
          throw new Error(`foreign key check failed after the v1 rebuild: ${broken.length} rows`);
        db.pragma('user_version = 1');
        return { fromVersion, requarantined, captures: count() };
      })
      .immediate();
  } finally {
    db.close();
  }
}
