-- Migration 14: farm reports read the farm's scans from the index alone.
-- A farm report (reports/report-rows.ts) reads every scan of the farm in a period, in sort-key order.
-- With idx_scans_farm_sort it visited one heap page per scan — a farm's scans are spread over the
-- table among every other farm's (bench:api, 1,000,000 scans: the whole year ≈ 5,000 scans, 5,059
-- buffers, ~18 ms of Postgres CPU; 30 days ≈ 430 scans, 449 buffers). The same index with the columns
-- the report reads INCLUDEd gives an index-only scan: ≈ 110 buffers for the year, ~10 ms. The key is
-- unchanged (the scans list's per-farm keyset walk uses it as before); the index grows 102 → ~156 MB.
-- Pages changed since the last vacuum are still read from the heap (the visibility map).
-- Updates that change only a scan's latest REA/fat/grading id are no longer HOT (a change of grade or
-- status was not already).
DROP INDEX idx_scans_farm_sort;
CREATE INDEX idx_scans_farm_sort
  ON scans (farm_id, (coalesce(captured_at, created_at, '-infinity'::timestamptz)) DESC, id DESC)
  INCLUDE (captured_at, created_at, capture_id, status, device_id, animal_id, latest_grading_id, latest_grade,
           latest_rea_cm2, latest_fat_thickness_mm);
