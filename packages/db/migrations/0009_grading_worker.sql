-- Migration 9: the grading worker (issue 11). Decisions: docs/adr/0002-grading-worker.md.
-- Additive: the one constraint removed (one job per scan, ever) is replaced by a narrower one (one
-- waiting or running job per scan), so regrades can queue a new job without touching history.

-- Regrades: a scan may have many jobs over time, at most one queued or running.
ALTER TABLE grading_jobs DROP CONSTRAINT grading_jobs_scan_key;
CREATE INDEX idx_grading_jobs_scan ON grading_jobs (scan_id);
CREATE UNIQUE INDEX idx_grading_jobs_one_active ON grading_jobs (scan_id) WHERE status IN ('queued', 'running');

-- Why the job exists ('ingest' or 'regrade'), and the model version it must be graded with (a
-- regrade pinned with --model-version; NULL = whatever version the worker runs). A worker only
-- claims jobs it can honour.
ALTER TABLE grading_jobs ADD COLUMN reason text NOT NULL DEFAULT 'ingest';
ALTER TABLE grading_jobs ADD CONSTRAINT grading_jobs_reason_check CHECK (reason IN ('ingest', 'regrade'));
ALTER TABLE grading_jobs ADD COLUMN model_version text;
-- The lease: a running job belongs to its worker until lease_expires_at, which the worker's
-- heartbeat keeps moving forward. Any worker puts a job whose lease ran out back in the queue (or
-- fails it after max_attempts). Stored per job, so workers with different lease settings agree.
ALTER TABLE grading_jobs ADD COLUMN lease_expires_at timestamptz;
UPDATE grading_jobs SET lease_expires_at = locked_at WHERE status = 'running';
ALTER TABLE grading_jobs ADD CONSTRAINT grading_jobs_lease_check
  CHECK (status <> 'running' OR lease_expires_at IS NOT NULL);
-- The stable code of the last failure ('sha256_mismatch', 's3_unavailable', 'lease_expired', ...)
-- next to its text, and when the job ended.
ALTER TABLE grading_jobs ADD COLUMN last_error_code text;
ALTER TABLE grading_jobs ADD COLUMN finished_at timestamptz;
DROP INDEX idx_grading_jobs_running;
CREATE INDEX idx_grading_jobs_lease ON grading_jobs (lease_expires_at) WHERE status = 'running';

-- Nothing is graded twice: a job writes at most one result, whatever crashes or races happen.
-- Results written by people (the dashboard's manual correction, model_name 'manual') have no job.
ALTER TABLE grading_results ADD COLUMN grading_job_id bigint REFERENCES grading_jobs (id);
ALTER TABLE grading_results ADD CONSTRAINT grading_results_job_key UNIQUE (grading_job_id);
-- (The latest result per scan — spec §7, newest created_at, ties by id — uses migration 0007's
-- idx_grading_results_latest.)

-- Per-device pixel spacing, set by an admin (`cti-server calibration set`): history rows, never
-- updated. The row that applies to a scan is the newest one of its device with valid_from at or
-- before the capture time whose image size matches (when it names one). A row with a NULL spacing
-- withdraws the calibration from valid_from on.
CREATE TABLE device_calibrations (
  id bigserial PRIMARY KEY,
  device_id uuid NOT NULL REFERENCES devices (id),
  pixel_spacing_mm numeric(8, 5),
  image_width int,
  image_height int,
  valid_from timestamptz NOT NULL DEFAULT now(),
  note text,
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT device_calibrations_spacing_check CHECK (pixel_spacing_mm > 0 AND pixel_spacing_mm <= 5),
  CONSTRAINT device_calibrations_size_check CHECK (
    (image_width IS NULL) = (image_height IS NULL) AND coalesce(image_width > 0 AND image_height > 0, true)
  )
);
CREATE INDEX idx_device_calibrations_device ON device_calibrations (device_id, valid_from DESC, id DESC);
