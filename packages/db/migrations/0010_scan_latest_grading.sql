-- Migration 10: each scan carries what reports need of its latest grading result.
-- A farm report reads every scan of its period with its latest result (newest created_at, ties by
-- id: the order of idx_grading_results_latest). Looking that result up per scan was four of the five
-- buffers a report row cost (25,000 for a farm's year, bench:api). The scan row now holds the latest
-- result's id, grade and the two measurements the figures use, kept exact by a trigger on
-- grading_results: whatever adds, changes or removes a result (the grading worker, a regrade, a
-- correction by hand, psql) refreshes the scans it touches in the same transaction. Moving a scan to
-- another farm moves its columns with it. Measurements follow features_used: a number, else NULL
-- (missing, JSON null or not a number), never 0.
ALTER TABLE scans
  ADD COLUMN latest_grading_id uuid,
  ADD COLUMN latest_grade text,
  ADD COLUMN latest_rea_cm2 float8,
  ADD COLUMN latest_fat_thickness_mm float8;

-- plpgsql, not a SQL function: its statements are planned once per session, not on every call.
-- A write that does not change the latest result (an older result added) leaves the scan row alone.
CREATE FUNCTION refresh_scan_latest_grading(p_scan uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
  v_grade text;
  v_rea float8;
  v_fat float8;
BEGIN
  SELECT g.id, g.grade,
         CASE WHEN jsonb_typeof(g.features_used -> 'rea_cm2') = 'number'
              THEN (g.features_used ->> 'rea_cm2')::float8 END,
         CASE WHEN jsonb_typeof(g.features_used -> 'fat_thickness_mm') = 'number'
              THEN (g.features_used ->> 'fat_thickness_mm')::float8 END
    INTO v_id, v_grade, v_rea, v_fat
    FROM grading_results g WHERE g.scan_id = p_scan
   ORDER BY g.created_at DESC NULLS LAST, g.id DESC LIMIT 1;
  UPDATE scans s
     SET latest_grading_id = v_id, latest_grade = v_grade, latest_rea_cm2 = v_rea,
         latest_fat_thickness_mm = v_fat
   WHERE s.id = p_scan
     AND (s.latest_grading_id, s.latest_grade, s.latest_rea_cm2, s.latest_fat_thickness_mm)
         IS DISTINCT FROM (v_id, v_grade, v_rea, v_fat);
END $$;

CREATE FUNCTION grading_results_refresh_scan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM refresh_scan_latest_grading(OLD.scan_id); END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.scan_id IS DISTINCT FROM OLD.scan_id) THEN
    PERFORM refresh_scan_latest_grading(NEW.scan_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER grading_results_latest_on_scan
  AFTER INSERT OR DELETE OR UPDATE OF scan_id, created_at, grade, features_used ON grading_results
  FOR EACH ROW EXECUTE FUNCTION grading_results_refresh_scan();

-- Scans graded before this migration.
UPDATE scans s
   SET latest_grading_id = lg.id, latest_grade = lg.grade,
       latest_rea_cm2 = CASE WHEN jsonb_typeof(lg.features_used -> 'rea_cm2') = 'number'
                             THEN (lg.features_used ->> 'rea_cm2')::float8 END,
       latest_fat_thickness_mm = CASE WHEN jsonb_typeof(lg.features_used -> 'fat_thickness_mm') = 'number'
                                      THEN (lg.features_used ->> 'fat_thickness_mm')::float8 END
  FROM (SELECT DISTINCT ON (scan_id) id, scan_id, grade, features_used
          FROM grading_results
         ORDER BY scan_id, created_at DESC NULLS LAST, id DESC) lg
 WHERE lg.scan_id = s.id;
