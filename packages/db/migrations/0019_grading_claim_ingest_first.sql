-- Issue 11: fresh captures are graded before bulk regrades.
--
-- Workers claimed the oldest due job whatever its reason (ORDER BY run_after, id). A regrade of many
-- scans (`cti-server regrade --all` after a model upgrade, a calibration with "regrade", a device's
-- history) queues them all at once, and every capture ingested after it waited behind the whole
-- backlog: with a million scans at ~50 scans/s, a farmer's new scan was graded some five hours later
-- instead of seconds. The claim now takes due `ingest` jobs first (oldest first), then `regrade` jobs
-- (oldest first); a regrade waits while fresh captures arrive faster than the workers grade them,
-- which is what a background re-run is for.
--
-- The claim's ORDER BY ((reason <> 'ingest'), run_after, id) walks this index in order (no sort of the
-- queue: the planner reads the first due, claimable row). It replaces idx_grading_jobs_claim, which only
-- served the old order. Built without CONCURRENTLY (the migration runs in a transaction): it reads the
-- table once and indexes the queued rows only; writes to grading_jobs wait for that scan.
CREATE INDEX idx_grading_jobs_claim_ingest_first
  ON grading_jobs ((reason <> 'ingest'), run_after, id)
  WHERE status = 'queued';
DROP INDEX idx_grading_jobs_claim;
