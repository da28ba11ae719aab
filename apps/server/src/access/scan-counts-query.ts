import type { Principal } from '../auth/principal.ts';
import { and, type Db, type Fragment, readableFarm } from './farm-access.ts';
import type { ScanFilters } from './scan-filters.ts';
import { scanFilterConditions } from './scan-list-query.ts';
import { capturedAhead, scanSortKey } from './sql-fragments.ts';

/** One status's counts (status null only for a scan stored without one). */
export type ScanCountsRow = { status: string; total: number; last_24h: number; ahead: number };

/**
 * Counts of the filtered scans by status: overall, captured in the last 24 hours (never later than
 * now + the clock tolerance), and captured ahead of the server clock (a device clock running fast).
 *
 * With no filter but a farm (the overview, `/api/v1/scans/counts`, `?farm_id=`), the totals are the
 * sum of `scan_status_counts` (migration 0028, kept by triggers on `scans`) over the farms the
 * principal may read: a few rows per farm instead of a pass over the scans (the admin's: 1,000,000
 * scans, ~0.7 s). `last_24h` and `ahead` are scans with a sort key from 24 hours ago on (every scan
 * ahead is too), read from the sort key's indexes. Both in one statement, so one snapshot: the totals
 * always agree with the scans. With any other filter, one pass over the matching scans.
 *
 * @example const rows = await scanCountsQuery(sql, principal, {});
 */
export function scanCountsQuery(sql: Db, principal: Principal, filters: ScanFilters) {
  return onlyFarmFilter(filters)
    ? storedCounts(sql, principal, filters.farm_id)
    : countedCounts(sql, principal, filters);
}

/** No filter set other than `farm_id` (a query string's absent parameters may be present as undefined). */
function onlyFarmFilter(filters: ScanFilters): boolean {
  return Object.entries(filters).every(([name, value]) => value === undefined || name === 'farm_id');
}

/** last_24h and ahead of scans `s`, for rows already narrowed to a sort key from 24 hours ago on. */
const recentColumns = (sql: Db): Fragment => sql`
  count(*) FILTER (WHERE ${scanSortKey(sql)} >= now() - interval '24 hours' AND NOT ${capturedAhead(sql)})::int AS last_24h,
  count(*) FILTER (WHERE ${capturedAhead(sql)})::int AS ahead`;

function storedCounts(sql: Db, principal: Principal, farmId: string | undefined) {
  const scope = [readableFarm(sql, principal, sql`c.farm_id`)];
  if (farmId) scope.push(sql`c.farm_id = ${farmId}`);
  const recent = [
    ...scanFilterConditions(sql, principal, farmId ? { farm_id: farmId } : {}),
    sql`${scanSortKey(sql)} >= now() - interval '24 hours'`,
  ];
  // A status whose scans are all gone sums to 0 (its deltas not yet compacted): left out, as a GROUP BY
  // of the scans would. `scans` is named first (the WITH list and the FROM): Postgres locks the tables
  // in that order, the order a TRUNCATE of scans takes them (its trigger truncates scan_status_counts),
  // so a read waiting for that TRUNCATE holds nothing it needs (the other order deadlocked, 40P01).
  return sql<ScanCountsRow[]>`
    WITH recent AS (
      SELECT s.status, ${recentColumns(sql)} FROM scans s WHERE ${and(sql, recent)} GROUP BY s.status),
    totals AS (
      SELECT c.status, sum(c.n) AS total FROM scan_status_counts c
       WHERE ${and(sql, scope)} GROUP BY c.status HAVING sum(c.n) <> 0)
    SELECT t.status::text AS status, t.total::int AS total, coalesce(r.last_24h, 0) AS last_24h,
           coalesce(r.ahead, 0) AS ahead
      FROM recent r RIGHT JOIN totals t ON r.status IS NOT DISTINCT FROM t.status`;
}

function countedCounts(sql: Db, principal: Principal, filters: ScanFilters) {
  return sql<ScanCountsRow[]>`
    SELECT s.status::text AS status, count(*)::int AS total, ${recentColumns(sql)}
      FROM scans s
     WHERE ${and(sql, scanFilterConditions(sql, principal, filters))}
     GROUP BY s.status`;
}

/**
 * Folds `scan_status_counts`' deltas into one row per farm and status (compact_scan_status_counts,
 * migrations 0028 and 0030): statements of at most `batchRows` rows, oldest first, until one folds
 * fewer (a backlog of millions never needs one statement longer than serve's statement_timeout), at
 * most `maxBatches` of them a call. `batchRows` must exceed the number of (farm, status) pairs, or a
 * statement may write back as many sums as it folded rows. Writers never wait for it; while another session compacts, a
 * statement folds nothing and the call ends. Returns how many rows it folded: 0 also when there is
 * nothing to fold (each farm and status already one row; migration 0031), which then writes nothing.
 * `cti-server serve` runs it every minute, so a read sums a few rows per farm plus the last minute's changes.
 *
 * @example const folded = await compactScanStatusCounts(sql);
 */
export async function compactScanStatusCounts(
  sql: Db,
  { batchRows = 100_000, maxBatches = 100 }: { batchRows?: number; maxBatches?: number } = {},
): Promise<number> {
  let folded = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const [row] = await sql<{ folded: number }[]>`
      SELECT compact_scan_status_counts(${batchRows}::int)::int AS folded`;
    folded += row!.folded;
    if (row!.folded < batchRows) break;
  }
  return folded;
}
