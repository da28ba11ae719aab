import { and, type Db, visibleAnimalJoin } from '../access/farm-access.ts';
import type { ScanFilters } from '../access/scan-filters.ts';
import { scanFilterConditions } from '../access/scan-list-query.ts';
import { isoUtc, scanSortKey } from '../access/sql-fragments.ts';
import type { Principal } from '../auth/principal.ts';

export type Grade = 'A' | 'M' | 'R';

/** One scan of a report with what the figures need from its latest grading result. */
export type ReportScan = {
  id: string;
  capture_id: string;
  /** Capture time, else arrival time (the scans list's sort key), UTC ISO; null only without both. */
  at: string | null;
  /** The local calendar day of `at` in the report's time zone, YYYY-MM-DD. */
  day: string | null;
  status: string;
  device_id: string;
  device_code: string;
  device_label: string | null;
  animal_id: string | null;
  animal_tag_id: string | null;
  animal_sex: string | null;
  /** Whether the scan has any grading result; `grade` is that latest result's grade (null: none recorded). */
  graded: boolean;
  grade: Grade | null;
  rea_cm2: number | null;
  fat_thickness_mm: number | null;
};

/**
 * The scans of a report: the scans list's filters and access rules (scanFilterConditions), oldest
 * first, each with its latest grading (newest `grading_results.created_at`, ties by id) and its local
 * day in `timeZone` (an IANA name Postgres knows). The latest result's grade and measurements are read
 * from the scan row (`scans.latest_*`, kept by a trigger on grading_results, migration 0010) instead of
 * being looked up per scan. A filter on the latest grade (`filters.grade`) joins the latest result as `lg`, as the list does.
 */
export function reportScansQuery(sql: Db, principal: Principal, filters: ScanFilters, timeZone: string) {
  const key = scanSortKey(sql);
  const finite = sql`CASE WHEN isfinite(${key}) THEN ${key} END`;
  return sql<ReportScan[]>`
    SELECT s.id, s.capture_id, ${isoUtc(sql, finite)} AS at,
           to_char(${finite} AT TIME ZONE ${timeZone}, 'YYYY-MM-DD') AS day,
           s.status::text AS status, s.device_id, d.device_code, d.label AS device_label,
           a.id AS animal_id, a.tag_id AS animal_tag_id, a.sex AS animal_sex,
           s.latest_grading_id IS NOT NULL AS graded, s.latest_grade AS grade,
           s.latest_rea_cm2 AS rea_cm2, s.latest_fat_thickness_mm AS fat_thickness_mm
      FROM scans s
      JOIN devices d ON d.id = s.device_id
      ${visibleAnimalJoin(sql, principal, 'a')}
     WHERE ${and(sql, scanFilterConditions(sql, principal, filters))}
     ORDER BY ${key}, s.id`;
}
