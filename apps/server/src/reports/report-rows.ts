import { and, type Db, readableFarm } from '../access/farm-access.ts';
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
  /**
   * The animal the scan is linked to, whatever farm it lives on now: it decides the scan's
   * contemporary group and the animal counts, the same for every reader. Never shown (see animal_id).
   */
  animal_key: string | null;
  /** The animal lives on another farm now than the one the scan was taken on (it moved). */
  animal_on_other_farm: boolean;
  /** The animal's sex (its contemporary group), whoever reads the report. */
  animal_sex: string | null;
  /**
   * The animal's identity, only for a reader who may see the animal's farm (null otherwise, and for a
   * scan without animal): a moved animal's tag and link are its new farm's.
   */
  animal_id: string | null;
  animal_tag_id: string | null;
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
 *
 * The scan's animal is joined whatever farm it lives on now, so that the figures (contemporary groups,
 * ratios, animal counts) are the same for every reader of the report; only its identity (id, tag) is
 * left out for a reader who may not read the animal's farm, as visibleAnimalJoin does for the lists.
 */
export function reportScansQuery(sql: Db, principal: Principal, filters: ScanFilters, timeZone: string) {
  const key = scanSortKey(sql);
  const finite = sql`CASE WHEN isfinite(${key}) THEN ${key} END`;
  const visible = readableFarm(sql, principal, sql`a.farm_id`);
  return sql<ReportScan[]>`
    SELECT s.id, s.capture_id, ${isoUtc(sql, finite)} AS at,
           to_char(${finite} AT TIME ZONE ${timeZone}, 'YYYY-MM-DD') AS day,
           s.status::text AS status, s.device_id, d.device_code, d.label AS device_label,
           a.id AS animal_key, coalesce(a.farm_id <> s.farm_id, false) AS animal_on_other_farm,
           a.sex AS animal_sex, CASE WHEN ${visible} THEN a.id END AS animal_id,
           CASE WHEN ${visible} THEN a.tag_id END AS animal_tag_id,
           s.latest_grading_id IS NOT NULL AS graded, s.latest_grade AS grade,
           s.latest_rea_cm2 AS rea_cm2, s.latest_fat_thickness_mm AS fat_thickness_mm
      FROM scans s
      JOIN devices d ON d.id = s.device_id
      LEFT JOIN animals a ON a.id = s.animal_id
     WHERE ${and(sql, scanFilterConditions(sql, principal, filters))}
     ORDER BY ${key}, s.id`;
}
