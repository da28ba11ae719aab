-- Issue 11, the grading worker's failure semantics (docs/adr/0003-grading-worker.md §4).
--
-- An S3 or database outage does not use up a grading job's attempts: the worker requeues the job with
-- the attempt refunded. Unbounded, that retried for ever an answer that never changes for one job (a
-- 403 for a key that is gone, a bucket that does not exist): the scan stayed un-graded and nobody was
-- told. The refund now holds only within CTI_GRADING_OUTAGE_ALLOWANCE_S of the job's first such
-- failure, stamped here by the requeue (the database's clock, in the row: jobs move between workers and
-- survive restarts); past it the job fails for good with s3_unavailable / database_unavailable.
-- NULL: the job never met an outage. Never cleared while the job lives; a regrade is a new job.
ALTER TABLE grading_jobs ADD COLUMN outage_since timestamptz;
