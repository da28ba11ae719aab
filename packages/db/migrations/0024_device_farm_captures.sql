-- Migration 24: a stored count of each device's scans per farm; moves recorded at the clock's time
-- (review r14 F9, F5, F7, F8).
--
-- Since migration 0023 a non-admin is told of a device only the captures on farms they may read; the
-- server counted them from `scans` on every device list, device page and /api/v1/devices/{id}* call
-- (a technician with 600,000 readable scans: 230–310 ms a list, 514 ms one device). `device_farm_captures`
-- holds, per device and farm, the scans that device has on that farm and the newest one's `created_at`,
-- kept exact by the triggers below on every insert, delete (TRUNCATE too) and change of a scan's farm,
-- device or created_at (ingest, the scan assignment form, psql); a caller's figure is the sum over the farms they read.
-- Scans without a farm have no row: only admins read them, and admins are given
-- `devices.captures_count`. Under concurrent ingests of one device the upsert waits on the row lock
-- as ingest's update of `devices.captures_count` already does.
--
-- 0023's trigger stamped a move with now(), the moving transaction's start: a heartbeat heard on the
-- farm left while that transaction was open was taken as heard after the move, and moved_at order could
-- disagree with commit order (review r14 F5). It now takes clock_timestamp().
--
-- Not as 0023's header says: a running older server is affected by 0023 and by this migration alike.
-- Its /readyz answers 503 ("… is applied in the database but missing on disk") as soon as a newer
-- server migrates, so during a rolling deploy with CTI_MIGRATE_ON_START=1 the older replicas leave the
-- load balancer until replaced (review r14 F7). Writes of an older server are counted and recorded
-- here too (the triggers see them).
--
-- Also not as 0023's header says: a device moved before 0023 has no row in device_farm_moves, though
-- it was moved (review r14 F8). Nothing is inferred here: scans on several farms do not tell a move
-- from scans filed by geofence or by meta.json's farm_id (an unassigned contractor's Pi), and an
-- invented move would change where ingest files a late capture. Such a device is treated as never
-- moved, as before 0023; an operator who knows a past move records it by hand (apps/server/README.md,
-- "Upgrading").
CREATE TABLE device_farm_captures (
  device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  farm_id uuid NOT NULL,
  n integer NOT NULL CHECK (n >= 0), -- 0 only inside the statement that then deletes the row
  last_created_at timestamptz,
  PRIMARY KEY (device_id, farm_id)
);

-- Insert and a change of farm, device or created_at: row by row (ingest writes one scan a statement;
-- the WHEN keeps every other update of a scan, grading's among them, free of it).
CREATE FUNCTION count_device_farm_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.farm_id IS NOT NULL THEN
    -- Decrement unconditionally, then drop the row only if it is at 0 once locked: a conditional
    -- `WHERE n > 1` skips a row whose committed n is 1 without waiting for an ingest raising it to 2,
    -- and the key-only DELETE after it then removed that ingest's count for good (review r15 F3). The
    -- UPDATE waits for such an ingest and re-reads n and last_created_at after it commits.
    UPDATE device_farm_captures c SET n = c.n - 1
     WHERE c.device_id = OLD.device_id AND c.farm_id = OLD.farm_id;
    DELETE FROM device_farm_captures c
     WHERE c.device_id = OLD.device_id AND c.farm_id = OLD.farm_id AND c.n <= 0;
    -- The newest arrival again when the scan moved away was it: in a statement of its own, so its
    -- snapshot is taken with the row locked and sees every scan a writer that held the row before it
    -- committed (in the UPDATE above it would be the snapshot from before the lock wait; review r16 G3).
    UPDATE device_farm_captures c
       SET last_created_at = (SELECT max(s.created_at) FROM scans s
                               WHERE s.device_id = OLD.device_id AND s.farm_id = OLD.farm_id)
     WHERE c.device_id = OLD.device_id AND c.farm_id = OLD.farm_id
       AND OLD.created_at IS NOT NULL AND OLD.created_at >= c.last_created_at;
  END IF;
  IF NEW.farm_id IS NOT NULL THEN
    INSERT INTO device_farm_captures AS c (device_id, farm_id, n, last_created_at)
    VALUES (NEW.device_id, NEW.farm_id, 1, NEW.created_at)
    ON CONFLICT (device_id, farm_id) DO UPDATE
      SET n = c.n + 1, last_created_at = greatest(c.last_created_at, EXCLUDED.last_created_at);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER scans_count_device_farm_insert AFTER INSERT ON scans
  FOR EACH ROW EXECUTE FUNCTION count_device_farm_capture();
CREATE TRIGGER scans_count_device_farm_update AFTER UPDATE OF farm_id, device_id, created_at ON scans
  FOR EACH ROW WHEN (OLD.farm_id IS DISTINCT FROM NEW.farm_id OR OLD.device_id IS DISTINCT FROM NEW.device_id
                     OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION count_device_farm_capture();

-- Delete: once a statement (a farm's or a device's scans deleted together recount each pair once,
-- not once a scan).
CREATE FUNCTION uncount_device_farm_captures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH gone AS (
    SELECT device_id, farm_id, count(*)::int AS n, max(created_at) AS last FROM old_scans
     WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id)
  UPDATE device_farm_captures c SET n = c.n - gone.n
    FROM gone
   WHERE c.device_id = gone.device_id AND c.farm_id = gone.farm_id;
  -- Rows at 0 once decremented (and locked): not a NOT EXISTS over scans, whose snapshot misses a scan
  -- an ingest committed meanwhile (review r15 F3).
  DELETE FROM device_farm_captures c USING (SELECT DISTINCT device_id, farm_id FROM old_scans) o
   WHERE c.device_id = o.device_id AND c.farm_id = o.farm_id AND c.n <= 0;
  -- The newest arrival of the pairs that lost theirs, in a statement of its own (see above, r16 G3).
  WITH gone AS (
    SELECT device_id, farm_id, max(created_at) AS last FROM old_scans
     WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id)
  UPDATE device_farm_captures c
     SET last_created_at = (SELECT max(s.created_at) FROM scans s WHERE s.device_id = c.device_id AND s.farm_id = c.farm_id)
    FROM gone
   WHERE c.device_id = gone.device_id AND c.farm_id = gone.farm_id AND gone.last >= c.last_created_at;
  RETURN NULL;
END $$;

CREATE TRIGGER scans_uncount_device_farm AFTER DELETE ON scans
  REFERENCING OLD TABLE AS old_scans FOR EACH STATEMENT EXECUTE FUNCTION uncount_device_farm_captures();

CREATE FUNCTION clear_device_farm_captures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM device_farm_captures;
  RETURN NULL;
END $$;

CREATE TRIGGER scans_clear_device_farm AFTER TRUNCATE ON scans
  FOR EACH STATEMENT EXECUTE FUNCTION clear_device_farm_captures();

-- The triggers exist (and hold scans' lock) before the count is taken: a scan written meanwhile waits
-- for this transaction and is then counted by them.
INSERT INTO device_farm_captures (device_id, farm_id, n, last_created_at)
SELECT device_id, farm_id, count(*), max(created_at) FROM scans WHERE farm_id IS NOT NULL
 GROUP BY device_id, farm_id;

CREATE OR REPLACE FUNCTION record_device_farm_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO device_farm_moves (device_id, from_farm_id, to_farm_id, moved_at)
  VALUES (NEW.id, OLD.farm_id, NEW.farm_id, clock_timestamp());
  RETURN NULL;
END $$;
