-- Migration 31: the triggers' functions find their tables whatever the session's search_path (a
-- data-only restore loads scans with them on), rebuilds of the two counts tables, and a compaction
-- that writes nothing when there is nothing to fold.
--
-- pg_restore --data-only (and `pg_dump --data-only | psql`) empties search_path before loading, and
-- the functions below name their tables without a schema: the COPY of `animals` failed inside
-- 0006's trigger (`relation "scans" does not exist`), that of `scans` inside 0027's (`relation
-- "device_farm_captures" does not exist`), that of `grading_results` inside 0010's. A data-only
-- restore into a migrated database worked only with --disable-triggers (a superuser), which loads
-- the dumped counts as they were. Each function now carries its own search_path, set to the schema it lives in (the
-- migrations' tables', `public` on every install so far) and pg_temp last, so no temporary table
-- can stand in for one of them. ALTER FUNCTION … SET rather than schema-qualified bodies: the bodies
-- stay byte for byte what 0006–0030 reviewed and tested (re-creating a dozen of them to add
-- `public.` is a dozen chances to change one), and no schema name is written into them. The cost is
-- a GUC save and restore around each call: ~5–10 µs here (100,000 calls of a one-query function,
-- load 10). The statement triggers pay it once a statement; the row triggers among them once per
-- animal, device move, change of a scan's farm, device or created_at, and grading result (twice:
-- grading_results_refresh_scan and refresh_scan_latest_grading) — an ingest or a grading a few µs
-- on milliseconds; a restore of 1,000,000 grading results some 10–20 s more.
-- The notify_* trigger functions name no table (pg_notify, json_build_object: pg_catalog, always
-- searched) and are left alone: notify_scan_change fires once per scan row written.
-- A later migration that re-creates one of these functions (CREATE OR REPLACE resets its settings)
-- must set search_path again: `data-only-restore.test.ts` checks every function of the schema.
--
-- What a data-only restore then does to the counts (apps/server/README.md, "Restoring data into a
-- migrated database"): `scan_status_counts` and `device_farm_captures` are dumped too, and derived
-- from `scans`. Loaded with the scans while the triggers count those scans, each count would be
-- there twice (and the dumped deltas' ids can collide with the ones the triggers took, failing the
-- load). The documented restore leaves their rows (and scan_status_counts_id_seq) out of the list
-- it restores: the triggers count the scans as they load, exactly. Rows loaded with triggers off
-- (--disable-triggers, session_replication_role = replica, a partial restore) are put right by
-- rebuild_scan_status_counts() and rebuild_device_farm_captures() below, which recount from `scans`.

-- 0028's compaction, also in 0030: reading its oldest max_rows rows first, it now deletes and writes
-- back nothing when no (farm, status) among them has two rows and none is at 0 — the table is
-- already folded — and returns 0 ("nothing folded", as while another session compacts). `serve`
-- calls it every minute: on an idle database (or one written less than once a minute per farm and
-- status) each call deleted every row and inserted it again (one row per farm and status: a
-- thousand dead tuples and their WAL a minute on 200 farms, and a new id for each). A full window
-- of distinct pairs (more pairs than max_rows, which serve's batch is sized to exceed) is a no-op
-- only when the whole table has no pair twice and none at 0; otherwise it is folded as before
-- (0030's behaviour there, unchanged). The check reads the window once more than before: a
-- backlog's batch of 100,000 rows (200 farms) 40–100 ms more on the ~0.5–1.4 s of its fold (load 9).
CREATE OR REPLACE FUNCTION compact_scan_status_counts(max_rows integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  seen bigint;
  foldable boolean;
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
  -- The window grouped as the fold groups it (NULLs equal): one row a pair and none at 0 is folded.
  -- (A GROUP BY, hashed: count(DISTINCT (farm_id, status)) sorts the rows, 3–6 times slower.)
  SELECT coalesce(sum(g.k), 0), coalesce(bool_or(g.k > 1 OR g.z), false)
    INTO seen, foldable
    FROM (SELECT count(*) AS k, bool_or(w.n = 0) AS z
            FROM (SELECT c.farm_id, c.status, c.n FROM scan_status_counts c ORDER BY c.id LIMIT max_rows) w
           GROUP BY w.farm_id, w.status) g;
  IF NOT foldable THEN
    IF seen < max_rows THEN
      RETURN 0; -- those rows are the whole table
    END IF;
    -- A full window of distinct pairs (more pairs than max_rows): the rest of the table decides.
    IF NOT EXISTS (SELECT 1 FROM scan_status_counts c GROUP BY c.farm_id, c.status
                    HAVING count(*) > 1 OR bool_or(c.n = 0)) THEN
      RETURN 0;
    END IF;
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

-- Recounts scan_status_counts from `scans`: one row per (farm, status); returns how many it wrote.
-- Writes to `scans` wait for it (SHARE lock: their triggers' deltas would be lost or doubled), and
-- reads of the counts and a compaction (TRUNCATE's ACCESS EXCLUSIVE lock); reads of `scans` go on.
-- One pass over the scans (1,000,000: ~0.6 s, as 0028's fill).
CREATE FUNCTION rebuild_scan_status_counts() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  written bigint;
BEGIN
  LOCK TABLE scans IN SHARE MODE;
  TRUNCATE scan_status_counts;
  INSERT INTO scan_status_counts (farm_id, status, n)
  SELECT farm_id, status, count(*) FROM scans GROUP BY farm_id, status;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;

-- Recounts device_farm_captures from `scans` as 0024 filled it: per device and farm, its scans and
-- the newest one's created_at; returns how many rows it wrote. Locks as above.
CREATE FUNCTION rebuild_device_farm_captures() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  written bigint;
BEGIN
  LOCK TABLE scans IN SHARE MODE;
  TRUNCATE device_farm_captures;
  INSERT INTO device_farm_captures (device_id, farm_id, n, last_created_at)
  SELECT device_id, farm_id, count(*), max(created_at) FROM scans WHERE farm_id IS NOT NULL
   GROUP BY device_id, farm_id;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END $$;

DO $$
DECLARE
  f regprocedure;
BEGIN
  FOREACH f IN ARRAY ARRAY[
    'cti_link_scans_to_animal()',              -- 0006: animals → scans
    'refresh_scan_latest_grading(uuid)',       -- 0010, 0029: grading_results → scans
    'grading_results_refresh_scan()',          -- 0010: calls the one above
    'record_device_farm_move()',               -- 0023, 0024, 0025: devices → device_farm_moves
    'count_device_farm_capture()',             -- 0024: scans → device_farm_captures
    'uncount_device_farm_captures()',          -- 0024
    'clear_device_farm_captures()',            -- 0024
    'count_device_farm_captures_inserted()',   -- 0027
    'count_scan_status_inserted()',            -- 0028: scans → scan_status_counts
    'count_scan_status_updated()',             -- 0028
    'count_scan_status_deleted()',             -- 0028
    'clear_scan_status_counts()',              -- 0028
    'compact_scan_status_counts(integer)',     -- 0030, above
    'rebuild_scan_status_counts()',            -- above
    'rebuild_device_farm_captures()'           -- above
  ]::regprocedure[] LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f,
                   (SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE p.oid = f));
  END LOOP;
END $$;
