import { and, type Db, type Fragment, visibleAnimalJoin } from '../access/farm-access.ts';
import type { ScanFilters } from '../access/scan-filters.ts';
import { scanFilterConditions } from '../access/scan-list-query.ts';
import { isoUtc, scanSortKey } from '../access/sql-fragments.ts';
import type { Principal } from '../auth/principal.ts';
import { sqlCsvLines } from './csv-sql.ts';
import { sqlCsvCells, sqlGeoJsonFeature } from './export-columns.ts';
import { sqlLinesOrRows } from './export-sql.ts';

/** One exported scan with its latest grading result (see export-columns.ts for what each field means). */
export type ExportRow = {
  id: string;
  scan_ref: string | null;
  capture_id: string;
  captured_at: string | null;
  received_at: string | null;
  status: string;
  farm_id: string | null;
  farm_name: string | null;
  device_id: string;
  device_code: string;
  device_label: string | null;
  animal_id: string | null;
  animal_tag_id: string | null;
  animal_eid: string | null;
  animal_sex: string | null;
  animal_breed: string | null;
  animal_birth_date: string | null;
  latitude: number | null;
  longitude: number | null;
  grading_id: string | null;
  grade: string | null;
  grade_reasons: string[] | null;
  rea_cm2: number | null;
  fat_thickness_mm: number | null;
  confidence: number | null;
  model_name: string | null;
  model_version: string | null;
  graded_at: string | null;
  manual: boolean | null;
  review_label: string | null;
  review_clarity: number | null;
  review_usability: string | null;
};

/**
 * Every scan the principal may see that matches the scans list's filters (the same
 * `scanFilterConditions`, so the same access rules), in the list's order (newest first), with its latest
 * grading result — read from the scan row (`scans.latest_*`, kept by a trigger on grading_results,
 * migrations 0010 and 0029), not looked up per scan. Meant to be read through a cursor: the rows are
 * never all in memory.
 */
export function exportRowsQuery(sql: Db, principal: Principal, filters: ScanFilters) {
  return sql<ExportRow[]>`${exportStatement(sql, principal, filters)}`;
}

/**
 * A streamed export's row: its text written by Postgres (`line`), or, rarely, its ExportRow as JSON
 * (`row`, for parseExportRow) when Postgres cannot write it exactly as the Node writer would.
 */
export type ExportLine = { line: string; row: null } | { line: null; row: string };

/**
 * The CSV export's rows: exportRowsQuery's rows in the same order, each as its CSV record without the
 * CRLF written by Postgres (`line`; csv-sql.ts), or as its ExportRow's JSON when Postgres cannot write
 * it exactly as csv.ts would (`row`: a cell to quote, a number out of range). The stream then decodes
 * one or two columns per row instead of some thirty, and formats next to nothing.
 */
export function exportCsvLinesQuery(sql: Db, principal: Principal, filters: ScanFilters) {
  return sql<ExportLine[]>`${sqlCsvLines(sql, exportStatement(sql, principal, filters), sqlCsvCells(sql))}`;
}

/**
 * The GeoJSON export's rows: exportRowsQuery's rows in the same order, each as its Feature's JSON
 * written by Postgres (`line`: `JSON.stringify(geoJsonFeature(row))`, byte for byte; geojson-sql.ts),
 * or as its ExportRow's JSON when a number of it is one Postgres writes otherwise (`row`).
 */
export function exportGeoJsonLinesQuery(sql: Db, principal: Principal, filters: ScanFilters) {
  return sql<ExportLine[]>`${sqlLinesOrRows(sql, exportStatement(sql, principal, filters), {
    line: sqlGeoJsonFeature(sql),
  })}`;
}

/** ExportRow's fields that hold numbers (a Record, so that adding a number field means adding it here). */
const NUMBER_FIELDS: Record<
  { [K in keyof ExportRow]: ExportRow[K] extends number | null ? K : never }[keyof ExportRow],
  true
> = {
  latitude: true,
  longitude: true,
  rea_cm2: true,
  fat_thickness_mm: true,
  confidence: true,
  review_clarity: true,
};

/**
 * An ExportRow from its row_to_json text (ExportLine's `row`), as postgres.js decodes the row itself:
 * row_to_json writes a float8 NaN or ±Infinity, which JSON cannot hold, as the string `"NaN"`,
 * `"Infinity"`, `"-Infinity"`; postgres.js gives the number.
 */
export function parseExportRow(json: string): ExportRow {
  const row = JSON.parse(json) as Record<string, unknown>;
  for (const field of Object.keys(NUMBER_FIELDS)) {
    if (typeof row[field] === 'string') row[field] = Number(row[field]);
  }
  return row as ExportRow;
}

/** The export's SELECT of ExportRow's columns, newest first. */
function exportStatement(sql: Db, principal: Principal, filters: ScanFilters): Fragment {
  const key = scanSortKey(sql);
  const conditions: Fragment[] = scanFilterConditions(sql, principal, filters);
  return sql`
    SELECT s.id, s.scan_id AS scan_ref, s.capture_id, ${isoUtc(sql, sql`s.captured_at`)} AS captured_at,
           ${isoUtc(sql, sql`s.created_at`)} AS received_at, s.status::text AS status,
           s.farm_id, f.name AS farm_name, s.device_id, d.device_code, d.label AS device_label,
           a.id AS animal_id, a.tag_id AS animal_tag_id, coalesce(a.eid, s.animal_eid) AS animal_eid,
           a.sex AS animal_sex, a.breed AS animal_breed, to_char(a.birth_date, 'YYYY-MM-DD') AS animal_birth_date,
           ST_Y(s.gps) AS latitude, ST_X(s.gps) AS longitude,
           s.latest_grading_id AS grading_id, s.latest_grade AS grade, s.latest_grade_reasons AS grade_reasons,
           s.latest_rea_cm2 AS rea_cm2, s.latest_fat_thickness_mm AS fat_thickness_mm,
           s.latest_confidence::float8 AS confidence, s.latest_model_name AS model_name,
           s.latest_model_version AS model_version, ${isoUtc(sql, sql`s.latest_graded_at`)} AS graded_at,
           CASE WHEN s.latest_grading_id IS NULL THEN NULL ELSE s.latest_graded_by IS NOT NULL END AS manual,
           s.review_label, s.review_clarity::int AS review_clarity, s.review_usability
      FROM scans s
      JOIN devices d ON d.id = s.device_id
      LEFT JOIN farms f ON f.id = s.farm_id
      ${visibleAnimalJoin(sql, principal, 'a')}
     WHERE ${and(sql, conditions)}
     ORDER BY ${key} DESC, s.id DESC`;
}
