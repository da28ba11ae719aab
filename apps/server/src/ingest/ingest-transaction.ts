import type { Sql, TransactionSql } from 'postgres';
import { deviceLockForIngest } from '../devices/device-lock.ts';
import { GRADING_JOBS_CHANNEL } from '../grading/grading-channel.ts';
import type { NotificationType } from '../notifications/notification-types.ts';
import { NOTIFICATION_CHANNEL } from '../notifications/notify-users.ts';
import { placeWindow } from './capture-time.ts';
import type { IngestPlan } from './ingest-plan.ts';

export type FarmSource = 'meta' | 'device' | 'geofence' | null;

export type IngestResult =
  | {
      replayed: false;
      scanId: string;
      farmId: string | null;
      farmSource: FarmSource;
      operatorId: string | null;
    }
  | {
      replayed: true;
      scanId: string;
      /** The content hash the first delivery stored; null for scans ingested before it was kept. */
      storedContentSha256: string | null;
      /** null when there is no stored hash to compare with. */
      contentDiffers: boolean | null;
    };

export type IngestContext = { requestId: string };

/** Sent to admins when a capture's point lies in several farms' geofences (no farm is chosen). */
const AMBIGUOUS_TYPE: NotificationType = 'scan_farm_ambiguous';

type Row = {
  existing_id: string | null;
  stored_content_sha256: string | null;
  new_id: string | null;
  farm_id: string | null;
  farm_source: FarmSource;
  operator_id: string | null;
};

/** How often a statement that lost a race is re-run with a fresh snapshot before giving up (→ 503). */
const MAX_ATTEMPTS = 5;

/** The capture neither existed nor could be inserted after MAX_ATTEMPTS fresh snapshots: retry later. */
export class IngestConflictError extends Error {
  readonly code = '40001';
}

/**
 * Ingest one capture in ONE transaction: the device's lock taken (shared, device-lock.ts, so a move of
 * the device being recorded is committed before the farm is chosen), then a single data-modifying CTE
 * statement that either records a `replayed` event for the existing scan or writes
 * device, assets, scan, `uploaded` + `ingested` events and the grading job, and wakes the grading
 * workers (NOTIFY on GRADING_JOBS_CHANNEL, delivered at commit).
 *
 * Races under READ COMMITTED: all sub-statements share the snapshot taken when the statement starts.
 * When an identical webhook commits the scan after that, our `ON CONFLICT (ingest_key) DO NOTHING`
 * inserts nothing, so nothing else is written or counted (every other write hangs off the inserted
 * scan, or is an ON CONFLICT DO NOTHING that the winner already satisfied), and the statement reports
 * neither an existing nor a new scan. The same happens when the device row was created concurrently.
 * Either way the statement is simply re-run: its new snapshot sees the winner's rows.
 *
 * @example const result = await ingestCapture(sql, planIngest(body), { requestId });
 */
export async function ingestCapture(sql: Sql, plan: IngestPlan, ctx: IngestContext): Promise<IngestResult> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let row: Row | undefined;
    try {
      // The device's lock first (review r17 F1, r19 F2): a move being recorded holds it while it
      // refiles the device's scans, so this capture waits for the move and the statement, in a fresh
      // snapshot, files it by the move; or the move waits for it and counts it. Shared: ingests of one
      // device do not wait on each other. A wait past INGEST_DEVICE_LOCK_WAIT_MS is a 503. Sent with
      // the statement in one round trip (review r19 F4).
      const results = await sql.begin((tx) => [
        ...deviceLockForIngest(tx, plan.deviceCode),
        writeCapture(tx, plan, ctx),
      ]);
      [row] = results[results.length - 1] as Row[];
    } catch (err) {
      // The farm (or animal) chosen from this snapshot was deleted by a transaction that committed
      // while the insert waited on its row (review r16 G2): the statement wrote nothing; a fresh
      // snapshot no longer sees it and chooses again (ADR 0001 §5: a farm deleted since).
      if (attempt < MAX_ATTEMPTS && lostReferenceRace(err)) continue;
      throw err;
    }
    if (row?.existing_id) {
      const stored = row.stored_content_sha256;
      return {
        replayed: true,
        scanId: row.existing_id,
        storedContentSha256: stored,
        contentDiffers: stored === null ? null : stored !== plan.contentSha256,
      };
    }
    if (row?.new_id) {
      return {
        replayed: false,
        scanId: row.new_id,
        farmId: row.farm_id,
        farmSource: row.farm_source,
        operatorId: row.operator_id,
      };
    }
  }
  throw new IngestConflictError(`${plan.ingestKey} lost ${MAX_ATTEMPTS} races in a row; retry later`);
}

/** A foreign-key failure of the scan's own references (farm, animal): a row deleted under the insert. */
function lostReferenceRace(err: unknown): boolean {
  const e = err as { code?: string; table_name?: string; constraint_name?: string };
  return e.code === '23503' && e.table_name === 'scans';
}

/** What the `ingested` event says of the capture time: only what is not plain (captureTime). */
function captureTimeMeta(time: IngestPlan['captureTime']) {
  return {
    ...(time.untrusted ? { capture_time_untrusted: time.untrusted } : {}),
    ...(time.clockSynced === false
      ? { clock_unsynced: true, ...(time.clockSource ? { clock_source: time.clockSource } : {}) }
      : {}),
  };
}

function eventMeta(plan: IngestPlan, ctx: IngestContext) {
  const common = { source: plan.source, request_id: ctx.requestId, relay_event_id: plan.relayEventId };
  return {
    uploaded: {
      ...common,
      bucket: plan.bucket,
      objects: plan.objects,
      unhashed_objects: plan.unhashedObjects,
      content_sha256: plan.contentSha256,
      // Grading's copy of meta.json when the store's object is not hash-checked (ADR 0003 §9).
      ...(plan.validatedMeta ? { meta_json: plan.validatedMeta } : {}),
    },
    ingested: { ...common, ...captureTimeMeta(plan.captureTime) },
    replayed: { ...common, content_sha256: plan.contentSha256 },
  };
}

function writeCapture(tx: TransactionSql, plan: IngestPlan, ctx: IngestContext) {
  const meta = eventMeta(plan, ctx);
  const a = plan.assets;
  const lon = plan.gps?.lon ?? null;
  const lat = plan.gps?.lat ?? null;
  const w = placeWindow(plan.captureTime);
  // What a device_moved ambiguity says besides its candidates (event and admin notice): the device was
  // unassigned, or on a farm deleted since, for part of the window (review r15 F5).
  const movedMeta = tx`CASE WHEN farm.unplaced THEN '{"reason": "device_moved"}'::jsonb
    || CASE WHEN farm.unassigned_in_window THEN '{"unassigned": true}'::jsonb ELSE '{}' END
    || CASE WHEN farm.farm_deleted THEN '{"farm_deleted": true}'::jsonb ELSE '{}' END
    ELSE '{}'::jsonb END`;
  return tx<Row[]>`
    WITH existing AS (
      -- The content hash of the first delivery (on its 'uploaded' event), to tell a retry from a conflict.
      SELECT s.id, (SELECT e.meta->>'content_sha256' FROM scan_events e
                    WHERE e.scan_id = s.id AND e.event = 'uploaded' ORDER BY e.id LIMIT 1) AS stored_content
      FROM scans s WHERE s.ingest_key = ${plan.ingestKey}
    ), replay AS (
      INSERT INTO scan_events (scan_id, event, meta)
      SELECT id, 'replayed', ${tx.json(meta.replayed)}::jsonb || jsonb_build_object(
        'stored_content_sha256', stored_content,
        'content_differs', CASE WHEN stored_content IS NOT NULL THEN stored_content <> ${plan.contentSha256} END)
      FROM existing
    ), new_device AS (
      -- A brand-new device is created already counted: its first scan cannot be a replay, because
      -- an existing scan for this ingest_key implies its device (same device_code) exists.
      INSERT INTO devices (device_code, s3_prefix_hint, last_upload_at, last_seen_at, captures_count)
      SELECT ${plan.deviceCode}, ${plan.s3PrefixHint}, now(), LEAST(${plan.capturedAt}::timestamptz, now()), 1
      WHERE NOT EXISTS (SELECT 1 FROM existing)
      ON CONFLICT (device_code) DO NOTHING
      RETURNING id, farm_id
    ), dev AS (
      SELECT id, farm_id, true AS created FROM new_device
      UNION ALL
      SELECT id, farm_id, false FROM devices
      WHERE device_code = ${plan.deviceCode} AND NOT EXISTS (SELECT 1 FROM existing)
      LIMIT 1
    ), new_assets AS (
      INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
      SELECT ${plan.bucket}, k, s, z, m
      FROM unnest(
        ${a.map((x) => x.objectKey)}::text[], ${a.map((x) => x.sha256)}::text[],
        ${a.map((x) => x.sizeBytes)}::bigint[], ${a.map((x) => x.mimeType)}::text[]
      ) AS u(k, s, z, m)
      WHERE EXISTS (SELECT 1 FROM dev)
      ON CONFLICT (bucket, object_key) DO NOTHING
      RETURNING id, object_key
    ), asset_ids AS (
      -- Assets already present (written by another path without their scan) are reused, not changed.
      SELECT id, object_key FROM new_assets
      UNION ALL
      SELECT id, object_key FROM assets
      WHERE bucket = ${plan.bucket} AND object_key = ANY(${a.map((x) => x.objectKey)}::text[])
    ), fenced AS (
      -- Every farm whose geofence contains the point: one is the farm, several are ambiguous (ADR 0001 §5).
      SELECT coalesce(array_agg(f.id ORDER BY f.name, f.id), '{}') AS ids,
             coalesce(jsonb_agg(jsonb_build_object('id', f.id, 'name', f.name) ORDER BY f.name, f.id), '[]') AS farms
        FROM farms f
       WHERE ${lon}::float8 IS NOT NULL
         AND ST_Contains(f.geofence, ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326))
    ), first_claim AS (
      -- The device's first-ever assignment, when it was one (a Pi unassigned since it was registered,
      -- then claimed): no move — the time before it belongs to the first farm it was given (review r15
      -- F2), unless a geofence places a capture of that time (pre_claim).
      SELECT id, moved_at FROM (
        SELECT m.id, m.moved_at, m.from_farm_id FROM device_farm_moves m
         WHERE m.device_id = (SELECT id FROM dev) ORDER BY m.moved_at, m.id LIMIT 1) f
       WHERE f.from_farm_id IS NULL
    ), later_moves AS (
      -- The device's farm moves (migration 0023) after the earliest time the capture may have been
      -- taken: after captured_at when the clock places it, else after the window of placeWindow();
      -- its first claim is none. A farm deleted since (no foreign key on moves) counts as no farm: the
      -- geofence decides (review r15 F1).
      SELECT m.id, m.moved_at, ff.id AS from_farm_id, tf.id AS to_farm_id,
             (m.from_farm_id IS NOT NULL AND ff.id IS NULL) AS from_deleted,
             (m.to_farm_id IS NOT NULL AND tf.id IS NULL) AS to_deleted
        FROM device_farm_moves m
        LEFT JOIN farms ff ON ff.id = m.from_farm_id
        LEFT JOIN farms tf ON tf.id = m.to_farm_id
       WHERE m.device_id = (SELECT id FROM dev)
         AND (${w.from}::timestamptz IS NULL OR m.moved_at > ${w.from}::timestamptz)
         AND m.id IS DISTINCT FROM (SELECT id FROM first_claim)
    ), pre_claim AS (
      -- The capture may have been taken before that first claim (review r16 G1): a Pi tried out on one
      -- farm, or claimed for the wrong farm and corrected, before it was given its farm. Its place then
      -- is the one geofence holding the point, as for any unassigned time; only without one does it
      -- fall to the first farm.
      SELECT EXISTS (SELECT 1 FROM first_claim c
                      WHERE ${w.from}::timestamptz IS NULL OR ${w.from}::timestamptz < c.moved_at) AS maybe
    ), first_move AS (
      SELECT from_farm_id, from_deleted FROM later_moves ORDER BY moved_at, id LIMIT 1
    ), held_farms AS (
      -- Each farm the device was on from the window's start: the one it left first, each it moved to
      -- (NULL: unassigned, or a farm deleted since). None when it did not move since.
      SELECT from_farm_id AS farm_id, from_deleted AS deleted FROM first_move
      UNION ALL SELECT to_farm_id, to_deleted FROM later_moves
    ), held AS (
      -- Its farm at the window's start: the one the first later move left (NULL: it was unassigned
      -- then, or that farm is deleted, and the geofence decides — not today's farm), else its farm now.
      SELECT CASE WHEN EXISTS (SELECT 1 FROM first_move) THEN (SELECT from_farm_id FROM first_move)
                  ELSE (SELECT farm_id FROM dev) END AS at_start,
             ${w.uncertain}::boolean AND EXISTS (SELECT 1 FROM later_moves) AS unplaced,
             (SELECT coalesce(array_agg(DISTINCT farm_id) FILTER (WHERE farm_id IS NOT NULL), '{}')
                FROM held_farms) AS farms,
             EXISTS (SELECT 1 FROM held_farms WHERE farm_id IS NULL AND NOT deleted) AS unassigned_in_window,
             -- A farm it held that no longer exists: at the capture's time, or (unplaced) in the window.
             CASE WHEN ${w.uncertain}::boolean AND EXISTS (SELECT 1 FROM later_moves)
                  THEN EXISTS (SELECT 1 FROM held_farms WHERE deleted)
                  ELSE coalesce((SELECT from_deleted FROM first_move), false) END AS farm_deleted
    ), farm_choice AS (
      SELECT
        (SELECT f.id FROM farms f WHERE f.id = ${plan.metaFarmId}::uuid) AS meta_farm,
        CASE WHEN NOT held.unplaced THEN held.at_start END AS device_farm,
        -- A capture the clock cannot place on one side of a move: the one geofence settles it when it is
        -- a farm the device held then (or the device was unassigned, or on a farm deleted since, for part
        -- of it, when the geofence would have chosen); otherwise no farm, ambiguous between those it held.
        CASE WHEN cardinality(fenced.ids) = 1
              AND (NOT held.unplaced OR fenced.ids[1] = ANY(held.farms) OR held.unassigned_in_window
                   OR held.farm_deleted)
             THEN fenced.ids[1] END AS geo_farm,
        cardinality(fenced.ids) > 1 AS geo_ambiguous, fenced.farms AS geo_farms,
        held.unplaced, held.unassigned_in_window, held.farm_deleted,
        CASE WHEN held.unplaced THEN held.farms
               || CASE WHEN held.unassigned_in_window OR held.farm_deleted THEN fenced.ids ELSE '{}' END
          END AS moved_ids
      FROM fenced, held
    ), farm AS (
      SELECT c.*,
        COALESCE(c.meta_farm, CASE WHEN (SELECT maybe FROM pre_claim) THEN c.geo_farm END, c.device_farm, c.geo_farm)
          AS chosen,
        CASE WHEN c.unplaced THEN
          (SELECT coalesce(jsonb_agg(jsonb_build_object('id', f.id, 'name', f.name) ORDER BY f.name, f.id), '[]')
             FROM farms f WHERE f.id = ANY(c.moved_ids))
        ELSE c.geo_farms END AS candidate_farms
      FROM farm_choice c
    ), op AS (
      SELECT (SELECT u.id FROM users u WHERE u.operator_code = ${plan.operatorCode}::text) AS id
    ), animal AS (
      -- The animal with the tag read at the chute, on the scan's farm only; an unknown tag waits on the
      -- scan (animal_eid) for the animals trigger of migration 0006 to link it.
      SELECT (SELECT a.id FROM animals a WHERE a.eid = ${plan.animalEid}::text
                AND a.farm_id = farm.chosen) AS id
      FROM farm
    ), scan AS (
      INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, operator_id, operator_code,
                         animal_id, animal_eid, gps, captured_at, status, image_asset_id, mask_asset_id)
      SELECT ${plan.publicScanId}, ${plan.captureId}, ${plan.ingestKey}, dev.id,
        farm.chosen, op.id, ${plan.operatorCode}::text,
        animal.id, ${plan.animalEid}::text,
        CASE WHEN ${lon}::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(${lon}::float8, ${lat}::float8), 4326) END,
        ${plan.capturedAt}::timestamptz, 'ingested',
        (SELECT id FROM asset_ids WHERE object_key = ${plan.imageKey} LIMIT 1),
        (SELECT id FROM asset_ids WHERE object_key = ${plan.maskKey}::text LIMIT 1)
      FROM dev, farm, op, animal
      ON CONFLICT (ingest_key) DO NOTHING
      RETURNING id, farm_id, operator_id, animal_id,
        CASE WHEN farm_id IS NULL THEN NULL
             WHEN farm_id = (SELECT meta_farm FROM farm) THEN 'meta'
             WHEN farm_id = (SELECT device_farm FROM farm) THEN 'device'
             ELSE 'geofence' END AS farm_source
    ), flagged AS (
      -- No farm chosen, and several geofences hold the point or the device moved between farms when the
      -- capture may have been taken (ADR 0001 §5).
      SELECT coalesce((SELECT scan.farm_id IS NULL AND (farm.geo_ambiguous OR farm.unplaced) FROM scan, farm),
                      false) AS ambiguous
    ), events AS (
      INSERT INTO scan_events (scan_id, event, meta)
      SELECT scan.id, e.event, e.meta FROM scan CROSS JOIN (VALUES
        (1, 'uploaded', ${tx.json(meta.uploaded as never)}::jsonb),
        (2, 'ingested', ${tx.json(meta.ingested)}::jsonb || jsonb_build_object(
          'farm_source', (SELECT farm_source FROM scan),
          'unknown_meta_farm_id', CASE WHEN (SELECT meta_farm FROM farm) IS NULL THEN ${plan.metaFarmId}::text END,
          'operator_matched', (SELECT operator_id IS NOT NULL FROM scan),
          'animal_matched', CASE WHEN ${plan.animalEid}::text IS NOT NULL THEN (SELECT animal_id IS NOT NULL FROM scan) END)
          || CASE WHEN (SELECT meta_farm IS NULL AND farm_deleted FROM farm)
                  THEN '{"device_farm_deleted": true}'::jsonb ELSE '{}' END
          || CASE WHEN NOT (SELECT ambiguous FROM flagged) THEN '{}'::jsonb
                  WHEN (SELECT unplaced FROM farm) THEN '{"device_farm_ambiguous": true}'::jsonb
                  ELSE '{"geofence_ambiguous": true}'::jsonb END),
        (3, 'farm_ambiguous', jsonb_build_object('candidate_farms', (SELECT candidate_farms FROM farm))
          || (SELECT ${movedMeta} FROM farm))
      ) AS e(ord, event, meta)
      WHERE e.event <> 'farm_ambiguous' OR (SELECT ambiguous FROM flagged)
      ORDER BY e.ord
    ), ambiguity_note AS (
      -- notifyUsers' rules for an admin-only audience (active, type not turned off, once per scan),
      -- written here so the notice exists exactly when the scan does: ingest is one statement.
      INSERT INTO notifications (user_id, type, payload, dedupe_key)
      SELECT DISTINCT ur.user_id, ${AMBIGUOUS_TYPE}::text,
             jsonb_build_object('scan_id', scan.id, 'capture_id', ${plan.captureId}::text,
                                'candidate_farms', farm.candidate_farms)
               || ${movedMeta},
             ${`${AMBIGUOUS_TYPE}:`}::text || scan.id
        FROM scan, farm, user_roles ur
        JOIN roles r ON r.id = ur.role_id AND r.name = 'admin'
        JOIN users u ON u.id = ur.user_id AND u.status = 'active'
       WHERE (SELECT ambiguous FROM flagged)
         AND NOT EXISTS (SELECT 1 FROM user_notification_settings st
                          WHERE st.user_id = ur.user_id AND st.type = ${AMBIGUOUS_TYPE} AND NOT st.enabled)
      ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
      RETURNING user_id
    ), ambiguity_wake AS (
      SELECT pg_notify(${NOTIFICATION_CHANNEL},
                       json_build_object('type', ${AMBIGUOUS_TYPE}::text, 'user_ids', array_agg(user_id))::text)
        FROM ambiguity_note HAVING count(*) > 0
    ), job AS (
      INSERT INTO grading_jobs (scan_id) SELECT id FROM scan RETURNING id
    ), wake AS (
      -- Workers LISTEN here: the notification is delivered when this statement's transaction commits.
      SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '') FROM job
    ), counted AS (
      -- Only an existing device is updated here (a row inserted by this statement is invisible to it).
      UPDATE devices SET
        s3_prefix_hint = ${plan.s3PrefixHint},
        last_upload_at = now(),
        last_seen_at = GREATEST(last_seen_at, LEAST(${plan.capturedAt}::timestamptz, now())),
        captures_count = COALESCE(captures_count, 0) + 1,
        updated_at = now()
      WHERE id = (SELECT id FROM dev WHERE NOT created) AND EXISTS (SELECT 1 FROM scan)
    )
    SELECT (SELECT id FROM existing) AS existing_id, (SELECT stored_content FROM existing) AS stored_content_sha256,
           scan.id AS new_id, scan.farm_id, scan.farm_source,
           scan.operator_id, (SELECT count(*) FROM wake) AS woken,
           (SELECT count(*) FROM ambiguity_wake) AS ambiguity_woken
    FROM (SELECT 1) AS one LEFT JOIN scan ON true`;
}
