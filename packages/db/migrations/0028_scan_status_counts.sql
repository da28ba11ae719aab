-- Migration 28: the scans' counts by farm and status, kept by triggers, for the overview and
-- /api/v1/scans/counts.
--
-- The admin's overview counted every scan by status on each load (a pass over all scans: 0.5–0.8 s on
-- the 1,000,000-scan bench seed). `scan_status_counts` holds, per farm (NULL: scans without a farm) and
-- status, signed numbers of scans whose sum is the count: a caller's total is the sum over the farms
-- they may read (apps/server/src/access/scan-counts-query.ts; the admin's counts on that seed: ~3 ms).
-- Scans of the last 24 hours and those ahead of the clock are still counted from `scans`, over the
-- sort key's indexes (a range of a day's scans, not a pass).
--
-- Insert-only deltas, not one counter row per (farm, status) updated in place: every ingest and every
-- status change by the grading worker of a farm would update the same few rows, and each writer would
-- hold its row until commit, so ingests and gradings of one farm (on different devices, which share no
-- other lock) would wait for each other, and two transactions touching (farm, ingested) and
-- (farm, graded) in opposite orders could deadlock. A delta row conflicts with nothing (no key): a
-- statement on `scans` appends, per (farm, status) it changed, one row with the change (+ inserted,
-- − deleted, − old and + new for an update) in the same transaction, so the totals read in a snapshot
-- always match that snapshot's scans, and a rolled-back transaction leaves no delta.
-- Reads sum the rows; compact_scan_status_counts() folds them into one row per (farm, status)
-- (`cti-server serve` calls it every minute), in one statement that deletes the rows it sees and
-- inserts their sums: a delta still uncommitted is not seen and stays, a reader sees either the rows
-- or their sum, never both.
--
-- Per statement with transition tables, like 0027: a statement changing many scans (a backfill, a
-- regrade of a farm, a restore) appends a row per (farm, status), not per scan. UPDATE has no column
-- list (Postgres refuses one with transition tables) and fires on every update of scans; it sums
-- the old rows as −1 and the new ones as +1 and keeps only the (farm, status) pairs that changed, so
-- an update that changes neither farm nor status (grading's latest_* columns, a review) appends nothing.
-- Cost (apps/server/scripts/bench-count-triggers.ts): ~20–60 µs more a one-row INSERT or UPDATE
-- (an ingest costs Postgres ~4–5 ms of CPU, `pnpm bench:ingest`).
-- A TRUNCATE of scans empties the table with TRUNCATE: that waits for a compaction in progress,
-- whose sum a DELETE (with a snapshot from before the compaction committed) would have left behind.
CREATE TABLE scan_status_counts (
  farm_id uuid, -- NULL: scans without a farm (only admins read them)
  status scan_status, -- scans.status is nullable too
  n bigint NOT NULL
);
CREATE INDEX idx_scan_status_counts_farm ON scan_status_counts (farm_id);

CREATE FUNCTION count_scan_status_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scan_status_counts (farm_id, status, n)
  SELECT farm_id, status, count(*) FROM new_scans GROUP BY farm_id, status;
  RETURN NULL;
END $$;

CREATE FUNCTION count_scan_status_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scan_status_counts (farm_id, status, n)
  SELECT farm_id, status, sum(d) FROM (
    SELECT farm_id, status, -1 AS d FROM old_scans
    UNION ALL
    SELECT farm_id, status, 1 FROM new_scans) t
   GROUP BY farm_id, status HAVING sum(d) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION count_scan_status_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scan_status_counts (farm_id, status, n)
  SELECT farm_id, status, -count(*) FROM old_scans GROUP BY farm_id, status;
  RETURN NULL;
END $$;

CREATE FUNCTION clear_scan_status_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE scan_status_counts;
  RETURN NULL;
END $$;

CREATE TRIGGER scans_count_status_insert AFTER INSERT ON scans
  REFERENCING NEW TABLE AS new_scans FOR EACH STATEMENT EXECUTE FUNCTION count_scan_status_inserted();
CREATE TRIGGER scans_count_status_update AFTER UPDATE ON scans
  REFERENCING OLD TABLE AS old_scans NEW TABLE AS new_scans
  FOR EACH STATEMENT EXECUTE FUNCTION count_scan_status_updated();
CREATE TRIGGER scans_count_status_delete AFTER DELETE ON scans
  REFERENCING OLD TABLE AS old_scans FOR EACH STATEMENT EXECUTE FUNCTION count_scan_status_deleted();
CREATE TRIGGER scans_clear_status_counts AFTER TRUNCATE ON scans
  FOR EACH STATEMENT EXECUTE FUNCTION clear_scan_status_counts();

-- Folds the deltas into one row per (farm, status), dropping pairs at 0; returns how many rows it
-- read (0 when another session is compacting: transaction-level try-lock LOCK_NAMESPACE "CTID" /
-- LOCK_SCAN_COUNTS_COMPACT = 4, packages/db/src/advisory-locks.ts). Correct without the lock too (a
-- second DELETE skips the rows the first deleted), which only spares it the wait.
CREATE FUNCTION compact_scan_status_counts() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1129597252, 4) THEN
    RETURN 0;
  END IF;
  WITH gone AS (DELETE FROM scan_status_counts RETURNING farm_id, status, n),
       kept AS (
         INSERT INTO scan_status_counts (farm_id, status, n)
         SELECT farm_id, status, sum(n) FROM gone GROUP BY farm_id, status HAVING sum(n) <> 0
         RETURNING 1)
  SELECT count(*) INTO folded FROM gone;
  RETURN folded;
END $$;

-- The triggers exist (and hold scans' lock) before the count is taken: a scan written meanwhile waits
-- for this transaction and is then counted by them. One pass over the scans (1,000,000: ~0.6 s).
INSERT INTO scan_status_counts (farm_id, status, n)
SELECT farm_id, status, count(*) FROM scans GROUP BY farm_id, status;
