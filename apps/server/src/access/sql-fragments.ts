import type { Db, Fragment } from './farm-access.ts';

/**
 * The scans list's sort key: capture time, else arrival time, else the very end. It is spelled exactly
 * like the expression of the idx_scans_*_sort indexes (migration 0007) so the planner uses them.
 */
export const scanSortKey = (sql: Db): Fragment =>
  sql`coalesce(s.captured_at, s.created_at, '-infinity'::timestamptz)`;

/**
 * How far ahead of the server's clock a capture time may be and still count as "now" (device clocks
 * drift a little). A scan captured later than now + this is "ahead": a device clock running fast. It
 * stays in every list and total, but is not counted in "last 24 hours" or "today" (it would inflate
 * them for a day or more); the counts report it separately.
 */
export const CAPTURE_CLOCK_TOLERANCE_MINUTES = 5;

/** The scan's capture time (scanSortKey) is ahead of the server clock by more than the tolerance. */
export const capturedAhead = (sql: Db): Fragment =>
  sql`${scanSortKey(sql)} > now() + make_interval(mins => ${CAPTURE_CLOCK_TOLERANCE_MINUTES})`;

/** A timestamptz as RFC 3339 UTC with milliseconds (`2025-09-09T14:18:32.000Z`), whatever the session TimeZone. */
export const isoUtc = (sql: Db, expr: Fragment): Fragment =>
  sql`to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The latest grading result of scan `s` as `lg` (newest created_at, ties by id). */
export const latestGradingJoin = (sql: Db): Fragment => sql`
  LEFT JOIN LATERAL (
    SELECT g.id, g.grade, g.grade_reasons, g.confidence, g.model_name, g.model_version, g.created_at,
           g.created_by, g.features_used
      FROM grading_results g WHERE g.scan_id = s.id
     ORDER BY g.created_at DESC NULLS LAST, g.id DESC LIMIT 1) lg ON true`;

/** A numeric feature of features_used as a number, or NULL when missing, JSON null or not a number. */
export const featureNumber = (sql: Db, source: Fragment, key: string): Fragment =>
  sql`CASE WHEN jsonb_typeof(${source} -> ${key}) = 'number' THEN (${source} ->> ${key})::float8 END`;
