import type { Sql, TransactionSql } from 'postgres';
import type { IngestPlan } from './ingest-plan.ts';

/** Advisory-lock namespace for ingest ("CTII"); the second key is hashtext(ingest_key). */
export const INGEST_LOCK_NAMESPACE = 0x43544949;

export type FarmSource = 'meta' | 'device' | 'geofence' | null;

export type IngestResult =
  | {
      replayed: false;
      scanId: string;
      farmId: string | null;
      farmSource: FarmSource;
      operatorId: string | null;
    }
  | { replayed: true; scanId: string };

export type IngestContext = { requestId: string };

type Row = {
  existing_id: string | null;
  new_id: string | null;
  farm_id: string | null;
  farm_source: FarmSource;
  operator_id: string | null;
};

/** Thrown when the scan neither existed nor could be inserted: only a writer bypassing the lock does that. */
export class IngestConflictError extends Error {
  readonly code = '40001';
}

/**
 * Ingest one capture in ONE transaction (READ COMMITTED): a transaction-level advisory lock on the
 * ingest_key, then a single CTE statement that either records a `replayed` event for the existing scan
 * or writes device, assets, scan, events and the grading job. The lock serialises identical webhooks;
 * because it is taken by an earlier statement, the CTE's snapshot already sees a scan committed by the
 * winner, so the loser takes the replay branch and counts nothing. Different captures never wait on
 * each other except on their shared device row.
 *
 * @example const result = await ingestCapture(sql, planIngest(body), { requestId });
 */
export async function ingestCapture(sql: Sql, plan: IngestPlan, ctx: IngestContext): Promise<IngestResult> {
  const row = await sql.begin(async (tx) => {
    // Both statements are sent without waiting in between (postgres.js pipelines on the connection).
    const [, rows] = await Promise.all([lockIngestKey(tx, plan.ingestKey), writeCapture(tx, plan, ctx)]);
    const first = rows[0];
    if (!first || (first.existing_id === null && first.new_id === null)) {
      throw new IngestConflictError(
        `scan for ${plan.ingestKey} was inserted concurrently without the ingest lock`,
      );
    }
    return first;
  });
  if (row.existing_id !== null) return { replayed: true, scanId: row.existing_id };
  return {
    replayed: false,
    scanId: row.new_id as string,
    farmId: row.farm_id,
    farmSource: row.farm_source,
    operatorId: row.operator_id,
  };
}

function lockIngestKey(tx: TransactionSql, ingestKey: string) {
  return tx`SELECT pg_advisory_xact_lock(${INGEST_LOCK_NAMESPACE}::int, hashtext(${ingestKey}))`;
}

function eventMeta(plan: IngestPlan, ctx: IngestContext) {
  const common = { source: plan.source, request_id: ctx.requestId, relay_event_id: plan.relayEventId };
  return {
    uploaded: {
      ...common,
      bucket: plan.bucket,
      objects: plan.objects,
      unhashed_objects: plan.unhashedObjects,
    },
    ingested: common,
    replayed: common,
  };
}

function writeCapture(tx: TransactionSql, plan: IngestPlan, ctx: IngestContext) {
  const meta = eventMeta(plan, ctx);
  const a = plan.assets;
  const lon = plan.gps?.lon ?? null;
  const lat = plan.gps?.lat ?? null;
  return tx<Row[]>`
    WITH existing AS (
      SELECT id FROM scans WHERE ingest_key = ${plan.ingestKey}
    ), replay AS (
      INSERT INTO scan_events (scan_id, event, meta)
      SELECT id, 'replayed', ${tx.json(meta.replayed)}::jsonb FROM existing
    ), dev AS (
      INSERT INTO devices AS d (device_code, s3_prefix_hint, last_upload_at, last_seen_at, captures_count)
      SELECT ${plan.deviceCode}, ${plan.s3PrefixHint}, now(), LEAST(${plan.capturedAt}::timestamptz, now()), 1
      WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT (device_code) DO UPDATE SET
        s3_prefix_hint = EXCLUDED.s3_prefix_hint,
        last_upload_at = EXCLUDED.last_upload_at,
        last_seen_at = GREATEST(d.last_seen_at, EXCLUDED.last_seen_at),
        captures_count = COALESCE(d.captures_count, 0) + 1,
        updated_at = now()
      RETURNING id, farm_id
    ), new_assets AS (
      INSERT INTO assets AS x (bucket, object_key, sha256, size_bytes, mime_type)
      SELECT ${plan.bucket}, k, s, z, m
      FROM unnest(
        ${a.map((x) => x.objectKey)}::text[], ${a.map((x) => x.sha256)}::text[],
        ${a.map((x) => x.sizeBytes)}::bigint[], ${a.map((x) => x.mimeType)}::text[]
      ) AS u(k, s, z, m)
      WHERE EXISTS (SELECT 1 FROM dev)
      ON CONFLICT (bucket, object_key) DO UPDATE SET
        sha256 = EXCLUDED.sha256,
        size_bytes = COALESCE(EXCLUDED.size_bytes, x.size_bytes),
        mime_type = EXCLUDED.mime_type
      RETURNING id, object_key
    ), farm AS (
      SELECT
        (SELECT f.id FROM farms f WHERE f.id = ${plan.metaFarmId}::uuid) AS meta_farm,
        (SELECT farm_id FROM dev) AS device_farm,
        (SELECT f.id FROM farms f
          WHERE ${lon}::float8 IS NOT NULL
            AND ST_Contains(f.geofence, ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326))
          ORDER BY ST_Area(f.geofence), f.id LIMIT 1) AS geo_farm
    ), op AS (
      SELECT (SELECT u.id FROM users u WHERE u.operator_code = ${plan.operatorCode}::text) AS id
    ), scan AS (
      INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, operator_id, operator_code,
                         gps, captured_at, status, image_asset_id, mask_asset_id)
      SELECT ${plan.publicScanId}, ${plan.captureId}, ${plan.ingestKey}, dev.id,
        COALESCE(farm.meta_farm, farm.device_farm, farm.geo_farm), op.id, ${plan.operatorCode}::text,
        CASE WHEN ${lon}::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326) END,
        ${plan.capturedAt}::timestamptz, 'ingested',
        (SELECT id FROM new_assets WHERE object_key = ${plan.imageKey}),
        (SELECT id FROM new_assets WHERE object_key = ${plan.maskKey}::text)
      FROM dev, farm, op
      ON CONFLICT (ingest_key) DO NOTHING
      RETURNING id, farm_id, operator_id,
        CASE WHEN farm_id IS NULL THEN NULL
             WHEN farm_id = (SELECT meta_farm FROM farm) THEN 'meta'
             WHEN farm_id = (SELECT device_farm FROM farm) THEN 'device'
             ELSE 'geofence' END AS farm_source
    ), events AS (
      INSERT INTO scan_events (scan_id, event, meta)
      SELECT scan.id, e.event, e.meta FROM scan CROSS JOIN (VALUES
        (1, 'uploaded', ${tx.json(meta.uploaded)}::jsonb),
        (2, 'ingested', ${tx.json(meta.ingested)}::jsonb || jsonb_build_object(
          'farm_source', (SELECT farm_source FROM scan),
          'unknown_meta_farm_id', CASE WHEN (SELECT meta_farm FROM farm) IS NULL THEN ${plan.metaFarmId}::text END,
          'operator_matched', (SELECT operator_id IS NOT NULL FROM scan)))
      ) AS e(ord, event, meta)
      ORDER BY e.ord
    ), job AS (
      INSERT INTO grading_jobs (scan_id) SELECT id FROM scan
    )
    SELECT (SELECT id FROM existing) AS existing_id, scan.id AS new_id, scan.farm_id, scan.farm_source,
           scan.operator_id
    FROM (SELECT 1) AS one LEFT JOIN scan ON true`;
}
