-- Migration 2: additive schema for webhook ingest, the grading queue and RBAC scoping.
-- Owned by apps/server; every decision below is explained in docs/adr/0001-ingest-schema-decisions.md.
-- Only additions: new nullable columns, new tables, new indexes. Nothing from 0001 is altered.

-- Operator mapping: meta.json carries an operator *code* ("tech-abc"), scans.operator_id is a users.id.
-- A user may own one operator code; the server resolves code → user at ingest and always keeps the
-- raw code on the scan, so a code that matches no user (yet) is never lost.
ALTER TABLE users ADD COLUMN operator_code text;
ALTER TABLE users ADD CONSTRAINT users_operator_code_key UNIQUE (operator_code);
ALTER TABLE scans ADD COLUMN operator_code text;

-- Farmers see only their farms: the user ↔ farm link the spec lacks.
CREATE TABLE user_farms(
  user_id uuid NOT NULL REFERENCES users(id),
  farm_id uuid NOT NULL REFERENCES farms(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, farm_id)
);
CREATE INDEX idx_user_farms_farm ON user_farms(farm_id);

-- Overlays and masks written by grading: asset rows linked to the grading result that produced them.
-- An asset belongs to at most one grading result; `role` says what it is ('overlay', 'mask', ...).
CREATE TABLE grading_result_assets(
  grading_result_id uuid NOT NULL REFERENCES grading_results(id),
  asset_id uuid NOT NULL REFERENCES assets(id),
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (grading_result_id, asset_id),
  CONSTRAINT grading_result_assets_asset_key UNIQUE (asset_id),
  CONSTRAINT grading_result_assets_role_check CHECK (role ~ '^[a-z][a-z0-9_]{0,31}$')
);

-- The grading queue (a Postgres table, no broker). Ingest enqueues one job per newly inserted scan in
-- the same transaction; workers claim with
--   UPDATE grading_jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_at = now()
--   WHERE id = (SELECT id FROM grading_jobs WHERE status = 'queued' AND run_after <= now()
--               ORDER BY run_after, id FOR UPDATE SKIP LOCKED LIMIT 1)
--   RETURNING *;
-- A 'running' job whose locked_at is older than the worker's lease is put back to 'queued' by the
-- worker's reaper; a job that failed max_attempts times becomes 'failed' with last_error kept.
CREATE TABLE grading_jobs(
  id bigserial PRIMARY KEY,
  scan_id uuid NOT NULL REFERENCES scans(id),
  status text NOT NULL DEFAULT 'queued',
  attempts int NOT NULL DEFAULT 0,
  max_attempts int NOT NULL DEFAULT 5,
  run_after timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  locked_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT grading_jobs_scan_key UNIQUE (scan_id),
  CONSTRAINT grading_jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'failed')),
  CONSTRAINT grading_jobs_attempts_check CHECK (attempts >= 0 AND max_attempts >= 1),
  CONSTRAINT grading_jobs_lock_check CHECK (status <> 'running' OR (locked_by IS NOT NULL AND locked_at IS NOT NULL))
);
-- Claim order; partial so finished jobs do not slow the claim query down.
CREATE INDEX idx_grading_jobs_claim ON grading_jobs(run_after, id) WHERE status = 'queued';
-- The reaper's scan for expired leases.
CREATE INDEX idx_grading_jobs_running ON grading_jobs(locked_at) WHERE status = 'running';

-- ingestion_log: which request (X-Request-Id) and which stable error code, so a log row can be joined
-- to the server's JSON logs and grouped by reason without parsing the error text.
ALTER TABLE ingestion_log ADD COLUMN request_id text;
ALTER TABLE ingestion_log ADD COLUMN error_code text;
