-- Migration 12: the scans list filtered by grade, per farm, in index order.
-- A technician's or farmer's list is merged from one keyset walk per farm (scan-list-query.ts). With
-- a grade filter that walk used idx_scans_farm_sort and dropped every scan of another grade: a farm
-- with no scan of that grade was read whole (bench:api, a technician's grade=R page on 1,000,000
-- scans: ~46,000 buffers, ~35 ms). Here the grade comes right after the farm, so each farm's walk
-- starts at its first scan of that grade and stops after a page of them. Ungraded scans
-- (latest_grade NULL) are left out: the filter never asks for them, and ingest does not write here.
-- Updates that change a scan's latest grade are no longer HOT (they were not already only when they
-- also changed status, which idx_scans_status_sort indexes).
CREATE INDEX idx_scans_farm_grade_sort
  ON scans (farm_id, latest_grade, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC)
  WHERE latest_grade IS NOT NULL;
