-- Migration 29: the scan row carries the rest of its latest grading result that exports show.
-- A CSV/GeoJSON export (apps/server reports/export-query.ts) writes every scan with its latest grading
-- result: its reasons, confidence, model, time and whether it was corrected by hand. Looking that
-- result up per scan (idx_grading_results_latest, then the result's row) was most of Postgres's work
-- for an export (bench:api, the newest 100,000 of 1,000,000 scans: ~390,000 buffers, ~1.2 of ~1.4 s
-- of CPU). Migration 10 already keeps the latest result's id, grade and measurements on the scan row;
-- the same trigger now keeps these too, exact whatever writes grading_results (the worker, a regrade,
-- a correction by hand, psql): any update of a result refreshes its scan, not only one of the columns
-- migration 10 listed. A scan moved to another farm moves its columns with it.
-- The backfill below rewrites every graded scan row once, inside this migration's transaction, which
-- holds scans locked (ALTER TABLE) until it commits: 1,000,000 scans took ~7 min on the 2-core bench
-- VM under load, and the table grows by its size until vacuum reuses the old rows. Migrate in a quiet
-- window (apps/server/README.md, "Exports: Postgres writes the CSV").
ALTER TABLE scans
  ADD COLUMN latest_grade_reasons text[],
  ADD COLUMN latest_confidence numeric(5,4),
  ADD COLUMN latest_model_name text,
  ADD COLUMN latest_model_version text,
  ADD COLUMN latest_graded_at timestamptz,
  ADD COLUMN latest_graded_by uuid;

-- Migration 10's function with the new columns; a write that does not change the latest result (an
-- older result added) still leaves the scan row alone.
CREATE OR REPLACE FUNCTION refresh_scan_latest_grading(p_scan uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  g grading_results%ROWTYPE;
  v_rea float8;
  v_fat float8;
BEGIN
  SELECT * INTO g FROM grading_results r WHERE r.scan_id = p_scan
   ORDER BY r.created_at DESC NULLS LAST, r.id DESC LIMIT 1;
  IF jsonb_typeof(g.features_used -> 'rea_cm2') = 'number' THEN
    v_rea := (g.features_used ->> 'rea_cm2')::float8;
  END IF;
  IF jsonb_typeof(g.features_used -> 'fat_thickness_mm') = 'number' THEN
    v_fat := (g.features_used ->> 'fat_thickness_mm')::float8;
  END IF;
  UPDATE scans s
     SET latest_grading_id = g.id, latest_grade = g.grade, latest_rea_cm2 = v_rea,
         latest_fat_thickness_mm = v_fat, latest_grade_reasons = g.grade_reasons,
         latest_confidence = g.confidence, latest_model_name = g.model_name,
         latest_model_version = g.model_version, latest_graded_at = g.created_at,
         latest_graded_by = g.created_by
   WHERE s.id = p_scan
     AND (s.latest_grading_id, s.latest_grade, s.latest_rea_cm2, s.latest_fat_thickness_mm,
          s.latest_grade_reasons, s.latest_confidence, s.latest_model_name, s.latest_model_version,
          s.latest_graded_at, s.latest_graded_by)
         IS DISTINCT FROM (g.id, g.grade, v_rea, v_fat, g.grade_reasons, g.confidence, g.model_name,
                           g.model_version, g.created_at, g.created_by);
END $$;

DROP TRIGGER grading_results_latest_on_scan ON grading_results;
CREATE TRIGGER grading_results_latest_on_scan
  AFTER INSERT OR DELETE OR UPDATE ON grading_results
  FOR EACH ROW EXECUTE FUNCTION grading_results_refresh_scan();

-- Scans graded before this migration (their latest result is already named by migration 10's column).
UPDATE scans s
   SET latest_grade_reasons = g.grade_reasons, latest_confidence = g.confidence,
       latest_model_name = g.model_name, latest_model_version = g.model_version,
       latest_graded_at = g.created_at, latest_graded_by = g.created_by
  FROM grading_results g
 WHERE g.id = s.latest_grading_id;
