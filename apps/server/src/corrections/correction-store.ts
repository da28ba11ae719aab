import type { Sql, TransactionSql } from 'postgres';
import { type Db, readableFarm, writableFarm } from '../access/farm-access.ts';
import { isoUtc, latestGradingJoin } from '../access/sql-fragments.ts';
import type { Principal } from '../auth/principal.ts';
import type { StoredObject } from '../grading/object-store.ts';
import { notifyUsers } from '../notifications/notify-users.ts';

/** A grading result of the scan being corrected, as the correction needs it. */
export type PriorResult = {
  id: string;
  model_name: string;
  model_version: string;
  inference_sha256: string | null;
  created_by: string | null;
  confidence: number | null;
  features_used: Record<string, unknown> | null;
  created_at: string | null;
};

/** A scan the principal can see, with its image and every grading result (newest first). */
export type CorrectionTarget = {
  scanId: string;
  captureId: string;
  farmId: string | null;
  /** Whether the principal may correct it (admins; technicians of its farm). */
  writable: boolean;
  image: (StoredObject & { id: string; mimeType: string | null }) | null;
  results: PriorResult[];
};

/** undefined when the scan does not exist for this principal (another farm's = a missing one). */
export async function loadCorrectionTarget(
  sql: Db,
  principal: Principal,
  scanId: string,
): Promise<CorrectionTarget | undefined> {
  const [scan] = await sql<
    {
      id: string;
      capture_id: string;
      farm_id: string | null;
      writable: boolean;
      image_id: string | null;
      bucket: string | null;
      object_key: string | null;
      sha256: string | null;
      mime_type: string | null;
    }[]
  >`
    SELECT s.id, s.capture_id, s.farm_id, ${writableFarm(sql, principal, sql`s.farm_id`)} AS writable,
           img.id AS image_id, img.bucket, img.object_key, img.sha256, img.mime_type
      FROM scans s LEFT JOIN assets img ON img.id = s.image_asset_id
     WHERE s.id = ${scanId} AND ${readableFarm(sql, principal, sql`s.farm_id`)}`;
  if (!scan) return undefined;
  const results = await sql<PriorResult[]>`
    SELECT g.id, g.model_name, g.model_version, g.inference_sha256, g.created_by, g.confidence::float8 AS confidence,
           g.features_used, ${isoUtc(sql, sql`g.created_at`)} AS created_at
      FROM grading_results g WHERE g.scan_id = ${scanId}
     ORDER BY g.created_at DESC NULLS LAST, g.id DESC`;
  return {
    scanId: scan.id,
    captureId: scan.capture_id,
    farmId: scan.farm_id,
    writable: scan.writable === true,
    image:
      scan.image_id && scan.bucket && scan.object_key && scan.sha256
        ? {
            id: scan.image_id,
            bucket: scan.bucket,
            key: scan.object_key,
            sha256: scan.sha256.trim(),
            mimeType: scan.mime_type,
          }
        : null,
    results,
  };
}

/**
 * Inside the transaction that records a correction, first: locks the scan row, so two corrections of
 * one scan are recorded one after the other. Read what must still hold (the session, access, the latest
 * result) in statements AFTER this one: their snapshot then sees what was committed while we waited.
 */
export async function lockScan(tx: TransactionSql, scanId: string): Promise<void> {
  await tx`SELECT 1 FROM scans WHERE id = ${scanId} FOR UPDATE`;
}

/** As of now: whether `principal` may still correct the scan and its latest result; undefined when gone for them. */
export async function correctionState(
  tx: TransactionSql,
  principal: Principal,
  scanId: string,
): Promise<{ writable: boolean; latestResultId: string | null } | undefined> {
  const [scan] = await tx<{ writable: boolean; latest_id: string | null }[]>`
    SELECT ${writableFarm(tx, principal, tx`s.farm_id`)} AS writable, lg.id AS latest_id
      FROM scans s ${latestGradingJoin(tx)}
     WHERE s.id = ${scanId} AND ${readableFarm(tx, principal, tx`s.farm_id`)}`;
  return scan && { writable: scan.writable === true, latestResultId: scan.latest_id };
}

export type CorrectionRecord = {
  resultId: string;
  scan: { scanId: string; captureId: string; farmId: string | null };
  userId: string;
  modelVersion: string;
  basedOnResultId: string;
  modelResultId: string | null;
  grade: string;
  reasons: string[];
  breakdown: Record<string, unknown>;
  features: Record<string, unknown> & { rea_cm2: number | null; fat_thickness_mm: number | null };
  mask: StoredObject & { sizeBytes: number };
  overlay: StoredObject & { sizeBytes: number };
};

/**
 * Records a correction in ONE transaction, next to the result it corrects (nothing is updated but
 * the scan's status): the `grading_results` row (`model_name` 'manual', `created_by` the person, no
 * job, no confidence), the mask and overlay assets linked with roles `mask` / `overlay`, the scan set
 * `graded` (the write the live scans list listens for), a `corrected` scan event, and a
 * `scan_corrected` notification to the farm's users other than the person who corrected it. `guard`
 * runs first in that transaction: what it throws rolls everything back (no row is written).
 */
export async function writeCorrection(
  sql: Sql,
  r: CorrectionRecord,
  guard: (tx: TransactionSql) => Promise<void>,
): Promise<void> {
  await sql.begin(async (tx) => {
    await guard(tx);
    await tx`
      INSERT INTO grading_results (id, scan_id, model_name, model_version, inference_sha256, confidence,
        confidence_breakdown, features_used, created_by, grade, grade_reasons, grading_job_id)
      VALUES (${r.resultId}, ${r.scan.scanId}, 'manual', ${r.modelVersion}, NULL, NULL,
        ${tx.json(r.breakdown as never)}, ${tx.json(r.features as never)}, ${r.userId}, ${r.grade},
        ${r.reasons}::text[], NULL)`;
    for (const [role, object] of [
      ['mask', r.mask],
      ['overlay', r.overlay],
    ] as const) {
      const [asset] = await tx<{ id: string }[]>`
        INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
        VALUES (${object.bucket}, ${object.key}, ${object.sha256}, ${object.sizeBytes}, 'image/png')
        RETURNING id`;
      await tx`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${r.resultId}, ${asset!.id}, ${role})`;
    }
    await tx`UPDATE scans SET status = 'graded' WHERE id = ${r.scan.scanId}`;
    const summary = {
      scan_id: r.scan.scanId,
      capture_id: r.scan.captureId,
      farm_id: r.scan.farmId,
      grading_result_id: r.resultId,
      based_on_result_id: r.basedOnResultId,
      model_result_id: r.modelResultId,
      corrected_by: r.userId,
      grade: r.grade,
      grade_reasons: r.reasons,
      rea_cm2: r.features.rea_cm2,
      fat_thickness_mm: r.features.fat_thickness_mm,
    };
    await tx`
      INSERT INTO scan_events (scan_id, event, meta)
      VALUES (${r.scan.scanId}, 'corrected', ${tx.json({ ...summary, model: `manual@${r.modelVersion}` } as never)})`;
    await notifyUsers(tx, {
      type: 'scan_corrected',
      dedupeKey: `scan_corrected:${r.resultId}`,
      payload: summary,
      audience: { farmId: r.scan.farmId, exceptUserId: r.userId },
    });
  });
}
