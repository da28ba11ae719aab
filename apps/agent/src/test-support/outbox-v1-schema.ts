// Test support (not built): the outbox schema an earlier agent release made, to test upgrades from it.

/** The v1 schema as agents before schema v2 created it (frozen: never edit). */
export const RELEASED_V1 = `
CREATE TABLE captures (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, capture_id TEXT NOT NULL UNIQUE, device_code TEXT NOT NULL,
  captured_at TEXT NOT NULL, committed_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'quarantined')),
  quarantine_reason TEXT, uploaded_at INTEGER
);
CREATE INDEX captures_state_seq ON captures (state, seq);
CREATE INDEX captures_uploaded_at ON captures (uploaded_at) WHERE state = 'uploaded';
CREATE TABLE objects (
  capture_id TEXT NOT NULL REFERENCES captures (capture_id) ON DELETE CASCADE,
  name TEXT NOT NULL, ord INTEGER NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'uploading', 'uploaded', 'quarantined')),
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_error_at INTEGER,
  next_attempt_at INTEGER NOT NULL DEFAULT 0, uploaded_at INTEGER,
  PRIMARY KEY (capture_id, name)
);
CREATE TABLE stats (name TEXT PRIMARY KEY, value TEXT);
`;
