import { isAdmin, type Principal } from '../auth/principal.ts';
import { type Db, type Fragment, readableFarm, visibleAnimalJoin, writableFarm } from './farm-access.ts';
import { isoUtc } from './sql-fragments.ts';

export type AssetRow = {
  id: string;
  bucket: string;
  object_key: string;
  sha256: string;
  size_bytes: number | null;
  mime_type: string | null;
};

export type GradingResultRow = {
  id: string;
  model_name: string;
  model_version: string;
  inference_sha256: string | null;
  confidence: number | null;
  confidence_breakdown: Record<string, unknown> | null;
  features_used: Record<string, unknown> | null;
  grade: string | null;
  grade_reasons: string[];
  created_by: { id: string; full_name: string | null; email: string } | null;
  created_at: string | null;
  assets: (AssetRow & { role: string })[];
};

export type ScanDetailRow = {
  id: string;
  scan_ref: string | null;
  capture_id: string;
  ingest_key: string;
  captured_at: string | null;
  created_at: string | null;
  status: string;
  device: { id: string; device_code: string; label: string | null };
  farm: { id: string; name: string } | null;
  animal: { id: string; tag_id: string; eid: string | null } | null;
  animal_eid: string | null;
  operator_code: string | null;
  operator: { id: string; full_name: string | null } | null;
  gps: { lat: number; lon: number } | null;
  review_label: string | null;
  review_clarity: number | null;
  review_usability: string | null;
  reviewed_at: string | null;
  reviewed_by: { id: string; full_name: string | null } | null;
  image: AssetRow | null;
  mask: AssetRow | null;
  events: { id: number; event: string; meta: unknown; created_at: string | null }[];
  grading_results: GradingResultRow[];
  can_write: boolean;
};

const assetJson = (sql: Db, alias: string) =>
  sql`json_build_object('id', ${sql(alias)}.id, 'bucket', ${sql(alias)}.bucket, 'object_key', ${sql(alias)}.object_key,
      'sha256', ${sql(alias)}.sha256, 'size_bytes', ${sql(alias)}.size_bytes, 'mime_type', ${sql(alias)}.mime_type)`;

/**
 * An event's meta as this principal may read it. `farm_ambiguous` (ingest: the point lay in several
 * farms' geofences) lists the candidate farms; a scan an admin then put on one farm is read by that
 * farm's users, who must not learn the other candidates (review r5 F2): only the candidates the
 * principal may read are kept, the rest are counted in `other_candidate_farms`.
 */
const eventMeta = (sql: Db, principal: Principal) => sql`
  CASE WHEN e.event = 'farm_ambiguous' AND jsonb_typeof(e.meta->'candidate_farms') = 'array' THEN e.meta || (
    SELECT jsonb_build_object(
             'candidate_farms', coalesce(jsonb_agg(c.farm ORDER BY c.n) FILTER (WHERE c.readable), '[]'),
             'other_candidate_farms', count(*) FILTER (WHERE NOT c.readable))
      FROM (SELECT x.farm, x.n, ${readableFarm(sql, principal, sql`(x.farm->>'id')::uuid`)} AS readable
              FROM jsonb_array_elements(e.meta->'candidate_farms') WITH ORDINALITY AS x(farm, n)) c)
  ${isAdmin(principal) ? sql`` : movedScanEventMeta(sql, principal)}
  ELSE e.meta END`;

/**
 * A scan moved in from another farm keeps the events of its time there: for a non-admin, the ids in
 * them of what they may not see — `edited`'s `previous`/`changes` farm and animal, its `by`, and
 * `corrected`'s `corrected_by` — read null (review r12 F13: the new farm's readers saw the old farm's
 * id, its animal's and its technician's). A user is visible when linked to a farm the reader reads, an
 * admin, or the reader. The `uploaded` event of a spec §5.3 body keeps the whole meta.json (ADR 0003
 * §9): where it names a farm the reader may not read, or the scan was moved from one, its `farm_id`,
 * `operator_id` and `animal` (the ear tag read) read null too (review r13 F10).
 */
const movedScanEventMeta = (sql: Db, principal: Principal) => {
  const farm = (v: Fragment) =>
    sql`CASE WHEN ${readableFarm(sql, principal, sql`(${v} #>> '{}')::uuid`)} THEN ${v} ELSE 'null'::jsonb END`;
  const animal = (v: Fragment) =>
    sql`CASE WHEN ${readableFarm(
      sql,
      principal,
      sql`(SELECT a.farm_id FROM animals a WHERE a.id = (${v} #>> '{}')::uuid)`,
    )} THEN ${v} ELSE 'null'::jsonb END`;
  const user = (v: Fragment) => sql`CASE WHEN (${v} #>> '{}')::uuid = ${principal.userId}
      OR EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = (${v} #>> '{}')::uuid AND r.name = 'admin')
      OR EXISTS (SELECT 1 FROM user_farms uf WHERE uf.user_id = (${v} #>> '{}')::uuid
                    AND ${readableFarm(sql, principal, sql`uf.farm_id`)})
    THEN ${v} ELSE 'null'::jsonb END`;
  // Each key only where the event has it: `changes` holds only what was changed.
  const ids = (o: Fragment) => sql`(${o}
      || CASE WHEN ${o} ? 'farm_id' THEN jsonb_build_object('farm_id', ${farm(sql`${o}->'farm_id'`)}) ELSE '{}' END
      || CASE WHEN ${o} ? 'animal_id' THEN jsonb_build_object('animal_id', ${animal(sql`${o}->'animal_id'`)}) ELSE '{}' END)`;
  return sql`
    WHEN e.event = 'edited' AND jsonb_typeof(e.meta) = 'object' THEN e.meta
      || CASE WHEN e.meta ? 'by' THEN jsonb_build_object('by', ${user(sql`e.meta->'by'`)}) ELSE '{}' END
      || CASE WHEN jsonb_typeof(e.meta->'previous') = 'object'
              THEN jsonb_build_object('previous', ${ids(sql`(e.meta->'previous')`)}) ELSE '{}' END
      || CASE WHEN jsonb_typeof(e.meta->'changes') = 'object'
              THEN jsonb_build_object('changes', ${ids(sql`(e.meta->'changes')`)}) ELSE '{}' END
    WHEN e.event = 'corrected' AND e.meta ? 'corrected_by' THEN
      e.meta || jsonb_build_object('corrected_by', ${user(sql`e.meta->'corrected_by'`)})
    WHEN e.event = 'uploaded' AND jsonb_typeof(e.meta->'meta_json') = 'object' AND (
           ${unreadableFarmText(sql, principal, sql`e.meta->'meta_json'->'farm_id'`)}
           OR EXISTS (SELECT 1 FROM scan_events p WHERE p.scan_id = e.scan_id AND p.event = 'edited'
                         AND ${unreadableFarmText(sql, principal, sql`p.meta->'previous'->'farm_id'`)}))
      THEN e.meta || jsonb_build_object('meta_json', e.meta->'meta_json' || (
        SELECT coalesce(jsonb_object_agg(k, NULL::jsonb), '{}') FROM unnest(${UPLOADED_HIDDEN}::text[]) k
         WHERE e.meta->'meta_json' ? k))`;
};

/** What a moved-in scan's meta.json must not tell the new farm's readers. */
const UPLOADED_HIDDEN = ['farm_id', 'operator_id', 'animal'];

/** A jsonb farm id (a uuid string) of a farm the principal may not read; false for null or no id. */
const unreadableFarmText = (sql: Db, principal: Principal, v: Fragment) => sql`(
  jsonb_typeof(${v}) = 'string'
  AND (${v} #>> '{}') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  AND NOT ${readableFarm(sql, principal, sql`(${v} #>> '{}')::uuid`)})`;

/**
 * One scan with everything the detail view shows — metadata, event timeline, every grading result
 * (newest first) with its lineage and output assets — in one statement; undefined when the scan does
 * not exist FOR THIS PRINCIPAL (another farm's scan is indistinguishable from a missing one).
 */
export async function findScanDetail(
  sql: Db,
  principal: Principal,
  id: string,
): Promise<ScanDetailRow | undefined> {
  const [row] = await sql<ScanDetailRow[]>`
    SELECT s.id, s.scan_id AS scan_ref, s.capture_id, s.ingest_key, ${isoUtc(sql, sql`s.captured_at`)} AS captured_at,
           ${isoUtc(sql, sql`s.created_at`)} AS created_at, s.status::text AS status,
           json_build_object('id', d.id, 'device_code', d.device_code, 'label', d.label) AS device,
           CASE WHEN f.id IS NULL THEN NULL ELSE json_build_object('id', f.id, 'name', f.name) END AS farm,
           CASE WHEN an.id IS NULL THEN NULL ELSE json_build_object('id', an.id, 'tag_id', an.tag_id, 'eid', an.eid) END AS animal,
           s.animal_eid, s.operator_code,
           CASE WHEN op.id IS NULL THEN NULL ELSE json_build_object('id', op.id, 'full_name', op.full_name) END AS operator,
           CASE WHEN s.gps IS NULL THEN NULL ELSE json_build_object('lat', ST_Y(s.gps), 'lon', ST_X(s.gps)) END AS gps,
           s.review_label, s.review_clarity, s.review_usability, ${isoUtc(sql, sql`s.reviewed_at`)} AS reviewed_at,
           CASE WHEN rv.id IS NULL THEN NULL ELSE json_build_object('id', rv.id, 'full_name', rv.full_name) END AS reviewed_by,
           CASE WHEN img.id IS NULL THEN NULL ELSE ${assetJson(sql, 'img')} END AS image,
           CASE WHEN msk.id IS NULL THEN NULL ELSE ${assetJson(sql, 'msk')} END AS mask,
           (SELECT coalesce(json_agg(json_build_object('id', e.id, 'event', e.event, 'meta', ${eventMeta(sql, principal)},
                     'created_at', ${isoUtc(sql, sql`e.created_at`)}) ORDER BY e.created_at, e.id), '[]')
              FROM scan_events e WHERE e.scan_id = s.id) AS events,
           (SELECT coalesce(json_agg(json_build_object(
                     'id', g.id, 'model_name', g.model_name, 'model_version', g.model_version,
                     'inference_sha256', g.inference_sha256, 'confidence', g.confidence::float8,
                     'confidence_breakdown', g.confidence_breakdown, 'features_used', g.features_used,
                     'grade', g.grade, 'grade_reasons', g.grade_reasons,
                     'created_by', CASE WHEN u.id IS NULL THEN NULL
                                   ELSE json_build_object('id', u.id, 'full_name', u.full_name, 'email', u.email) END,
                     'created_at', ${isoUtc(sql, sql`g.created_at`)},
                     'assets', (SELECT coalesce(json_agg(json_build_object('role', gra.role, 'id', ga.id, 'bucket', ga.bucket,
                                  'object_key', ga.object_key, 'sha256', ga.sha256, 'size_bytes', ga.size_bytes,
                                  'mime_type', ga.mime_type) ORDER BY gra.role, ga.id), '[]')
                                  FROM grading_result_assets gra JOIN assets ga ON ga.id = gra.asset_id
                                 WHERE gra.grading_result_id = g.id))
                   ORDER BY g.created_at DESC NULLS LAST, g.id DESC), '[]')
              FROM grading_results g LEFT JOIN users u ON u.id = g.created_by WHERE g.scan_id = s.id) AS grading_results,
           ${writableFarm(sql, principal, sql`s.farm_id`)} AS can_write
      FROM scans s
      JOIN devices d ON d.id = s.device_id
      LEFT JOIN farms f ON f.id = s.farm_id
      ${visibleAnimalJoin(sql, principal, 'an')}
      LEFT JOIN users op ON op.id = s.operator_id
      LEFT JOIN users rv ON rv.id = s.reviewed_by
      LEFT JOIN assets img ON img.id = s.image_asset_id
      LEFT JOIN assets msk ON msk.id = s.mask_asset_id
     WHERE s.id = ${id} AND ${readableFarm(sql, principal, sql`s.farm_id`)}`;
  return row;
}

/**
 * An asset the principal may see: the image or mask of a visible scan, or an output of a grading
 * result of a visible scan. undefined otherwise (same as a missing asset).
 */
export async function findVisibleAsset(
  sql: Db,
  principal: Principal,
  id: string,
): Promise<(AssetRow & { role: string }) | undefined> {
  // Its role as the scan detail names it (review r12 F6): a scan's image or capture mask, else the
  // grading output's link role (overlay, mask).
  const [row] = await sql<(AssetRow & { role: string })[]>`
    SELECT a.id, a.bucket, a.object_key, a.sha256, a.size_bytes, a.mime_type,
           COALESCE(
             (SELECT CASE WHEN s.image_asset_id = a.id THEN 'image' ELSE 'mask' END FROM scans s
               WHERE s.image_asset_id = a.id OR s.mask_asset_id = a.id LIMIT 1),
             (SELECT gra.role FROM grading_result_assets gra WHERE gra.asset_id = a.id LIMIT 1),
             'asset') AS role
      FROM assets a
     WHERE a.id = ${id} AND (
       EXISTS (SELECT 1 FROM scans s WHERE (s.image_asset_id = a.id OR s.mask_asset_id = a.id)
                 AND ${readableFarm(sql, principal, sql`s.farm_id`)})
       OR EXISTS (SELECT 1 FROM grading_result_assets gra JOIN grading_results g ON g.id = gra.grading_result_id
                    JOIN scans s ON s.id = g.scan_id
                   WHERE gra.asset_id = a.id AND ${readableFarm(sql, principal, sql`s.farm_id`)}))`;
  return row;
}
