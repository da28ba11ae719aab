-- Migration 30: a primary key for scan_status_counts (review r23), so it has a replica identity, and
-- a compaction in statements of bounded size, oldest rows first.
--
-- 0028 made scan_status_counts without a key (its rows are deltas: nothing needed one), the only table
-- of the schema without one. A table without a replica identity that a publication covers for DELETE
-- (`CREATE PUBLICATION … FOR ALL TABLES`, as logical replication, a managed service's blue/green
-- upgrade or a logical read replica sets up) refuses every DELETE: compact_scan_status_counts() then
-- failed every minute ("cannot delete from table … does not have a replica identity", 55000), so the
-- deltas were never folded and each overview read summed all of them (1,000,000 rows: ~0.3 s). With the
-- key the compaction's deletes replicate by key, and its sums and the triggers' deltas as inserts.
--
-- An identity column: the triggers and the compaction insert (farm_id, status, n) as before and get
-- the next number (a sequence: no row lock, nothing a writer waits on). Adding it rewrites the table
-- under an exclusive lock, so writes to `scans` (their triggers append here) and the counts' reads
-- wait for it. Compacted first, under that lock, the table is a few rows per farm and status: ~0.1 s
-- (1,000,000 uncompacted rows would take ~7 s to rewrite; a compaction of them ~2–3 s).
LOCK TABLE scan_status_counts IN ACCESS EXCLUSIVE MODE;
SELECT compact_scan_status_counts();
ALTER TABLE scan_status_counts ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;

-- 0028's compaction folded the whole table in one statement. After a backlog (deltas pile up while the
-- compaction fails: 1,000,000 rows fold in ~2–3 s), that statement can outlast `serve`'s
-- statement_timeout (80 % of CTI_DB_REPLY_TIMEOUT_S, 24 s by default): cancelled every minute, the
-- backlog would never go and every read would keep summing it. Now one call folds at most `max_rows`
-- rows, the oldest (lowest id) first; their sums are appended as new rows, folded again by a later
-- call. Any set of committed rows may be folded on its own (the sum of the set replaces it), so a
-- partial fold is as exact as a whole one, and leaves at most one row per (farm, status) it folded: a
-- full statement shrinks the table while max_rows exceeds the number of such pairs (200 farms: ~1,000).
-- `serve` calls it until a call folds fewer than max_rows, which then folded every row left
-- (apps/server/src/access/scan-counts-query.ts). Without an argument: 100,000 rows (0.5–0.9 s here, load 7).
DROP FUNCTION compact_scan_status_counts();
CREATE FUNCTION compact_scan_status_counts(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  folded bigint;
BEGIN
  IF max_rows IS NULL OR max_rows < 1 THEN
    RAISE EXCEPTION 'compact_scan_status_counts: max_rows must be at least 1, not %', coalesce(max_rows::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Try-lock LOCK_NAMESPACE / LOCK_SCAN_COUNTS_COMPACT (packages/db/src/advisory-locks.ts), as in 0028.
  IF NOT pg_try_advisory_xact_lock(1129597252, 4) THEN
    RETURN 0;
  END IF;
  WITH gone AS (
         DELETE FROM scan_status_counts
          WHERE id IN (SELECT id FROM scan_status_counts ORDER BY id LIMIT max_rows)
         RETURNING farm_id, status, n),
       kept AS (
         INSERT INTO scan_status_counts (farm_id, status, n)
         SELECT farm_id, status, sum(n) FROM gone GROUP BY farm_id, status HAVING sum(n) <> 0
         RETURNING 1)
  SELECT count(*) INTO folded FROM gone;
  RETURN folded;
END $$;
