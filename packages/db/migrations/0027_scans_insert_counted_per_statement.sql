-- Migration 27: scans inserted together are counted into device_farm_captures once per statement.
--
-- Migration 0024 counted an inserted scan row by row: an upsert of its (device, farm) row per scan. One
-- scan a statement (ingest) is unchanged by this migration, but a statement inserting many scans of one
-- device (a backfill, a restore from another database, an S3 → database resynchronisation, the test and
-- benchmark seeds) updated the same counter row once per scan inside one transaction, and each update
-- had to step over every version of that row the statement had already made: quadratic, 60,000 scans
-- of one device took 128 s (10 s counted per statement, most of it the scans' own indexes).
-- The insert trigger now counts the statement's new rows (a transition table), grouped per pair, in
-- (device, farm) order so that two bulk inserts lock the pairs they share in the same order. Its
-- upsert holds the pair's row from the end of the statement to commit, as the row trigger did from its
-- first scan; the figures are the same (n the number of scans, last_created_at the newest).
-- A change of farm, device or created_at stays row by row (0024's count_device_farm_capture).
DROP TRIGGER scans_count_device_farm_insert ON scans;

CREATE FUNCTION count_device_farm_captures_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO device_farm_captures AS c (device_id, farm_id, n, last_created_at)
  SELECT device_id, farm_id, count(*)::int, max(created_at) FROM new_scans
   WHERE farm_id IS NOT NULL
   GROUP BY device_id, farm_id
   ORDER BY device_id, farm_id
  ON CONFLICT (device_id, farm_id) DO UPDATE
    SET n = c.n + EXCLUDED.n, last_created_at = greatest(c.last_created_at, EXCLUDED.last_created_at);
  RETURN NULL;
END $$;

CREATE TRIGGER scans_count_device_farm_insert AFTER INSERT ON scans
  REFERENCING NEW TABLE AS new_scans FOR EACH STATEMENT EXECUTE FUNCTION count_device_farm_captures_inserted();
