import { isAdmin, type Principal } from '../auth/principal.ts';
import { normalizeTypedName } from '../text/typed-name.ts';
import {
  and,
  type Db,
  type Fragment,
  linkedFarmIds,
  readableFarm,
  visibleAnimalJoin,
} from './farm-access.ts';
import type { ScanCursor } from './scan-cursor.ts';
import type { ScanFilters } from './scan-filters.ts';
import { featureNumber, isoUtc, latestGradingJoin, scanSortKey } from './sql-fragments.ts';

/** One row of the scans list (see scanColumns); the API maps it with toScanListItem(). */
export type ScanListRow = {
  id: string;
  scan_ref: string | null;
  capture_id: string;
  captured_at: string | null;
  created_at: string | null;
  status: string;
  device_id: string;
  device_code: string;
  device_label: string | null;
  farm_id: string | null;
  farm_name: string | null;
  /** The farm's centroid (its local time zone is looked up from it); null without a farm or location. */
  farm_location: { lat: number; lon: number } | null;
  animal_id: string | null;
  animal_tag_id: string | null;
  animal_eid: string | null;
  gps: { lat: number; lon: number } | null;
  operator_code: string | null;
  review_label: string | null;
  review_clarity: number | null;
  review_usability: string | null;
  reviewed_at: string | null;
  image_asset_id: string | null;
  /** Where the image is stored (for a presigned thumbnail URL); null without an image. */
  image_bucket: string | null;
  image_key: string | null;
  mask_asset_id: string | null;
  grading_id: string | null;
  grade: string | null;
  grade_reasons: string[] | null;
  confidence: number | null;
  model_name: string | null;
  model_version: string | null;
  graded_at: string | null;
  graded_by: string | null;
  rea_cm2: number | null;
  fat_thickness_mm: number | null;
  sort_us: string;
};

/** The WHERE conditions of `filters` for scans `s`, INCLUDING the caller's farm scope. */
/**
 * An RFC 3339 bound as SQL, exact to the microsecond times are stored with. Sent as text for Postgres
 * to parse: a `::timestamptz` parameter went through a JavaScript Date in postgres.js, which dropped
 * every digit past the millisecond (review r12 F9: `from=…14:00:00.0005Z` returned a scan of 14:00:00.000).
 * Digits past the microsecond round up (Postgres would round to nearest), so for the stored
 * microsecond values `>= from` and `< to` mean exactly what the client sent.
 * `instant(sql, '2025-09-09T14:00:00.0000001Z')` → `'2025-09-09T14:00:00.000000Z'::timestamptz + 1 µs`.
 */
function instant(sql: Db, text: string): Fragment {
  const m = /^(.*[Tt]\d{2}:\d{2}:\d{2}\.\d{6})(\d+)(.*)$/.exec(text);
  if (m === null || /^0+$/.test(m[2]!)) return sql`${text}::text::timestamptz`;
  return sql`(${m[1]! + m[3]!}::text::timestamptz + interval '1 microsecond')`;
}

export function scanFilterConditions(sql: Db, principal: Principal, filters: ScanFilters): Fragment[] {
  return [readableFarm(sql, principal, sql`s.farm_id`), ...filterConditions(sql, principal, filters)];
}

/** scanFilterConditions without the farm scope: only for a query that scopes the farms itself. */
function filterConditions(sql: Db, principal: Principal, filters: ScanFilters): Fragment[] {
  const key = scanSortKey(sql);
  const c: Fragment[] = [];
  if (filters.farm_id) c.push(sql`s.farm_id = ${filters.farm_id}`);
  if (filters.device_id) c.push(sql`s.device_id = ${filters.device_id}`);
  if (filters.animal_id) c.push(sql`s.animal_id = ${filters.animal_id}`);
  if (filters.group_id) {
    // A group is one farm's animals: only the scans taken on the group's farm. A member that came from
    // another farm keeps its scans from there linked to it, but they are that farm's data (and the
    // group's figures must not depend on whether the reader may see that farm too).
    c.push(sql`s.farm_id = (SELECT g.farm_id FROM contemporary_groups g WHERE g.id = ${filters.group_id})`);
    c.push(
      sql`s.animal_id IN (SELECT cga.animal_id FROM contemporary_group_animals cga WHERE cga.group_id = ${filters.group_id})`,
    );
  }
  if (filters.capture_id) c.push(sql`s.capture_id = ${filters.capture_id}`);
  if (filters.from) c.push(sql`${key} >= ${instant(sql, filters.from)}`);
  if (filters.to) c.push(sql`${key} < ${instant(sql, filters.to)}`);
  if (filters.status) c.push(sql`s.status = ${filters.status}::scan_status`);
  // The scan row carries its latest result's grade (migration 0010): no lookup per candidate scan.
  if (filters.grade) c.push(sql`s.latest_grade = ${filters.grade}`);
  // Stored labels are NFC-normalised and trimmed (shortText): the filter is too (review r12 F10).
  if (filters.review_label) c.push(sql`s.review_label = ${normalizeTypedName(filters.review_label)}`);
  if (filters.in_geofence_of) {
    c.push(sql`ST_Contains((SELECT f2.geofence FROM farms f2 WHERE f2.id = ${filters.in_geofence_of}
                             AND ${readableFarm(sql, principal, sql`f2.id`)}), s.gps)`);
  }
  return c;
}

function keysetCondition(sql: Db, cursor: ScanCursor, direction: 'older' | 'newer'): Fragment {
  const cursorKey =
    cursor.sortUs === '-infinity'
      ? sql`'-infinity'::timestamptz`
      : sql`(timestamptz 'epoch' + ${cursor.sortUs}::bigint * interval '1 microsecond')`;
  return direction === 'older'
    ? sql`(${scanSortKey(sql)}, s.id) < (${cursorKey}, ${cursor.id}::uuid)`
    : sql`(${scanSortKey(sql)}, s.id) > (${cursorKey}, ${cursor.id}::uuid)`;
}

const sortUs = (sql: Db): Fragment => {
  const key = scanSortKey(sql);
  return sql`CASE WHEN isfinite(${key}) THEN (extract(epoch FROM ${key}) * 1000000)::bigint::text ELSE '-infinity' END`;
};

/** Every column of a list row, for scans `s` with `lg` joined. */
function scanColumns(sql: Db): Fragment {
  return sql`
    s.id, s.scan_id AS scan_ref, s.capture_id, ${isoUtc(sql, sql`s.captured_at`)} AS captured_at,
    ${isoUtc(sql, sql`s.created_at`)} AS created_at, s.status::text AS status,
    s.device_id, d.device_code, d.label AS device_label, s.farm_id, f.name AS farm_name,
    CASE WHEN f.centroid IS NULL THEN NULL ELSE json_build_object('lat', ST_Y(f.centroid), 'lon', ST_X(f.centroid)) END AS farm_location,
    a.id AS animal_id, a.tag_id AS animal_tag_id, s.animal_eid,
    CASE WHEN s.gps IS NULL THEN NULL ELSE json_build_object('lat', ST_Y(s.gps), 'lon', ST_X(s.gps)) END AS gps,
    s.operator_code, s.review_label, s.review_clarity, s.review_usability,
    ${isoUtc(sql, sql`s.reviewed_at`)} AS reviewed_at, s.image_asset_id, img.bucket AS image_bucket,
    img.object_key AS image_key, s.mask_asset_id,
    lg.id AS grading_id, lg.grade, lg.grade_reasons, lg.confidence::float8 AS confidence, lg.model_name,
    lg.model_version, ${isoUtc(sql, sql`lg.created_at`)} AS graded_at, lg.created_by AS graded_by,
    ${featureNumber(sql, sql`lg.features_used`, 'rea_cm2')} AS rea_cm2,
    ${featureNumber(sql, sql`lg.features_used`, 'fat_thickness_mm')} AS fat_thickness_mm,
    ${sortUs(sql)} AS sort_us`;
}

const detailJoins = (sql: Db, principal: Principal): Fragment => sql`
  JOIN devices d ON d.id = s.device_id
  LEFT JOIN farms f ON f.id = s.farm_id
  ${visibleAnimalJoin(sql, principal, 'a')}
  LEFT JOIN assets img ON img.id = s.image_asset_id`;

/**
 * The scans a principal may see, filtered, newest first (sort key, then id).
 *
 * - With `limit`: one keyset page (pass the cursor of the previous page's last row as `after`; or the
 *   cursor of a page's first row as `before` for the page of newer scans above it, still newest first —
 *   the dashboard's "Newer" link). For a user on several farms the page is merged from one index range per farm (LATERAL), so its cost does
 *   not grow with the depth of the cursor nor with the size of other farms.
 * - Without `limit`: every matching row in order, for streaming: `await q.cursor(1000, rows => …)`
 *   (reports, CSV/GeoJSON exports). Same filters, same access rules.
 *
 * @example const rows = await scanListQuery(sql, principal, { farm_id }, { limit: 51 });
 */
export function scanListQuery(
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
  { limit, after, before }: { limit?: number; after?: ScanCursor; before?: ScanCursor } = {},
) {
  if (limit === undefined) {
    const conditions = scanFilterConditions(sql, principal, filters);
    if (after) conditions.push(keysetCondition(sql, after, 'older'));
    if (before) conditions.push(keysetCondition(sql, before, 'newer'));
    return sql<ScanListRow[]>`
      SELECT ${scanColumns(sql)} FROM scans s ${detailJoins(sql, principal)} ${latestGradingJoin(sql)}
       WHERE ${and(sql, conditions)} ORDER BY ${scanSortKey(sql)} DESC, s.id DESC`;
  }
  return sql<ScanListRow[]>`
    WITH page AS MATERIALIZED (${pageIds(sql, principal, filters, { limit, after, before })})
    SELECT ${scanColumns(sql)} FROM page JOIN scans s ON s.id = page.id ${detailJoins(sql, principal)} ${latestGradingJoin(sql)}
     ORDER BY page.k DESC, page.id DESC`;
}

/**
 * One keyset page like scanListQuery's, each row already as the JSON text of its API list item
 * (`item`, built by `itemJson` from scans `s`, devices `d`, farms `f`, animals `a` and the latest grading
 * `lg`), with its cursor values. Postgres writes the JSON: the server passes the text through instead of
 * decoding some forty columns per row and serialising them again (bench:api, apps/server/README.md).
 * The page's scan rows come out of the keyset subquery whole and already in order: no second lookup
 * of each scan by its primary key and no sort of the joined rows (a third of the statement's buffers).
 */
export function scanListJsonQuery(
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
  { limit, after }: { limit: number; after?: ScanCursor | undefined },
  itemJson: Fragment,
) {
  return sql<{ item: string; id: string; sort_us: string }[]>`
    SELECT ${itemJson}::text AS item, s.id, ${sortUs(sql)} AS sort_us
      FROM (${pageRows(sql, principal, filters, { limit, after }, sql`s.*`)}) s
      JOIN devices d ON d.id = s.device_id
      LEFT JOIN farms f ON f.id = s.farm_id
      ${visibleAnimalJoin(sql, principal, 'a')}
      ${latestGradingJoin(sql)}
     ORDER BY s.k DESC, s.id DESC`;
}

/** The ids and sort keys of one keyset page (see scanListQuery), newest first unless `before`. */
const pageIds = (
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
  page: { limit: number; after?: ScanCursor | undefined; before?: ScanCursor | undefined },
): Fragment => pageRows(sql, principal, filters, page, sql`s.id`);

/**
 * The rows of one keyset page (see scanListQuery) as `columns` of scans `s` plus the sort key `k`,
 * newest first unless `before`.
 */
function pageRows(
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
  {
    limit,
    after,
    before,
  }: { limit: number; after?: ScanCursor | undefined; before?: ScanCursor | undefined },
  columns: Fragment,
): Fragment {
  const perFarm = !isAdmin(principal) && !filters.farm_id;
  // Per farm, the outer query walks only the caller's own farms (linkedFarmIds: each farm once, even when
  // linked in both roles): the farm scope is already applied, and repeating it inside would make
  // Postgres check user_farms again for every scan it reads.
  const conditions = perFarm
    ? filterConditions(sql, principal, filters)
    : scanFilterConditions(sql, principal, filters);
  if (after) conditions.push(keysetCondition(sql, after, 'older'));
  if (before) conditions.push(keysetCondition(sql, before, 'newer'));
  const key = scanSortKey(sql);
  // Newer pages walk the same index upwards from the cursor: the `limit` rows nearest above it.
  const dir = before ? sql`ASC` : sql`DESC`;
  // The page size is written into the statement, not sent as a parameter: a plan cached for every
  // value (a generic plan, see database-client.ts) must know it fetches a few rows, or it plans for 10 %
  // of the table (a full scan and sort on 1,000,000 scans).
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new RangeError(`page size ${limit}`);
  const take = sql.unsafe(String(limit));
  return perFarm
    ? sql`
        SELECT p.* FROM (${linkedFarmIds(sql, principal.userId)}) uf
        CROSS JOIN LATERAL (
          SELECT ${columns}, ${key} AS k FROM scans s
           WHERE s.farm_id = uf.farm_id AND ${and(sql, conditions)}
           ORDER BY ${key} ${dir}, s.id ${dir} LIMIT ${take}) p
        ORDER BY p.k ${dir}, p.id ${dir} LIMIT ${take}`
    : sql`
        SELECT ${columns}, ${key} AS k FROM scans s
         WHERE ${and(sql, conditions)} ORDER BY ${key} ${dir}, s.id ${dir} LIMIT ${take}`;
}

/**
 * One scan as a list row — only when the principal may see it and it matches `filters` — else
 * undefined. The live scans list sends a changed scan to each viewer through this, so an event reaches
 * exactly the people whose list would show the scan.
 */
export async function findScanListRow(
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
  id: string,
): Promise<ScanListRow | undefined> {
  const conditions = [...scanFilterConditions(sql, principal, filters), sql`s.id = ${id}`];
  const [row] = await sql<ScanListRow[]>`
    SELECT ${scanColumns(sql)} FROM scans s ${detailJoins(sql, principal)} ${latestGradingJoin(sql)}
     WHERE ${and(sql, conditions)}`;
  return row;
}
