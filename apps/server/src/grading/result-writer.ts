import type { Sql, TransactionSql } from 'postgres';
import { notifyUsers } from '../notifications/notify-users.ts';
import type { GradedImage } from './grade-image.ts';
import type { GradingFailureCode } from './grading-errors.ts';
import { LeaseLostError } from './grading-errors.ts';
import type { JobLock } from './job-queue.ts';
import type { StoredObject } from './object-store.ts';
import { type ResultOutcome, resultNews } from './regrade-news.ts';

export type ResultScan = { scanId: string; captureId: string; farmId: string | null };

export type GradingResultInput = {
  job: JobLock;
  /** The job's reason: a `regrade` notifies only when the outcome changed (resultNews). */
  reason: 'ingest' | 'regrade';
  workerId: string;
  scan: ResultScan;
  model: { name: string; version: string; sha256: string };
  graded: Pick<GradedImage, 'grade' | 'reasons' | 'confidence' | 'breakdown' | 'features'>;
  overlay: StoredObject & { sizeBytes: number };
  mask: StoredObject & { sizeBytes: number };
};

export type WrittenResult = { resultId: string; createdAt: Date };

/**
 * Records one grading in ONE transaction: the job done (only while this worker still holds it —
 * otherwise LeaseLostError and nothing is written), the `grading_results` row (one per job: the
 * UNIQUE grading_job_id), the overlay and mask assets and their links, the scan `graded`, a `graded`
 * scan event, and notifications (`scan_graded` to the farm; `scan_rejected` to admins and the farm's
 * users for grade R), each at most once per user per event — for a regrade only when its outcome
 * changed against the previous latest result (resultNews; the `graded` event records the decision).
 */
export async function writeGradingResult(sql: Sql, input: GradingResultInput): Promise<WrittenResult> {
  return sql.begin(async (tx) => {
    const { graded, scan, model, overlay, mask } = input;
    // The job finished and its result inserted in one statement, which also reads the previous latest
    // result as farm users saw it (migration 0010 keeps it on the scan row): the statement's snapshot
    // predates its own insert, whose trigger makes this result the latest. No row when the job is no
    // longer this attempt's (nothing is inserted, and the throw rolls the transaction back).
    const [result] = await tx<
      {
        id: string;
        created_at: Date;
        before_grade: ResultOutcome['grade'] | null;
        before_rea: number | null;
        before_fat: number | null;
      }[]
    >`
      WITH before AS (
        SELECT latest_grade AS grade, latest_rea_cm2 AS rea, latest_fat_thickness_mm AS fat
        FROM scans WHERE id = ${scan.scanId} AND latest_grading_id IS NOT NULL),
      owned AS (
        UPDATE grading_jobs SET status = 'done', finished_at = now(), locked_by = NULL, locked_at = NULL,
          lease_expires_at = NULL, updated_at = now()
        WHERE id = ${input.job.id} AND status = 'running' AND locked_by = ${input.workerId}
          AND attempts = ${input.job.attempts}
        RETURNING id),
      inserted AS (
        INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence,
          confidence_breakdown, features_used, created_by, grade, grade_reasons, grading_job_id)
        SELECT ${scan.scanId}, ${model.name}, ${model.version}, ${model.sha256}, ${graded.confidence},
          ${tx.json(graded.breakdown as never)}, ${tx.json(graded.features as never)}, NULL, ${graded.grade},
          ${graded.reasons}::text[], owned.id
        FROM owned
        RETURNING id, created_at)
      SELECT inserted.id, inserted.created_at, before.grade AS before_grade, before.rea AS before_rea,
             before.fat AS before_fat
      FROM inserted LEFT JOIN before ON TRUE`;
    if (!result)
      throw new LeaseLostError(
        `job ${input.job.id} (attempt ${input.job.attempts}) is no longer held by ${input.workerId}`,
      );
    const resultId = result.id;
    const news = resultNews(
      input.reason,
      result.before_grade
        ? { grade: result.before_grade, reaCm2: result.before_rea, fatMm: result.before_fat }
        : null,
      {
        grade: graded.grade,
        reaCm2: graded.features.rea_cm2 ?? null,
        fatMm: graded.features.fat_thickness_mm ?? null,
      },
    );
    const summary = {
      scan_id: scan.scanId,
      capture_id: scan.captureId,
      farm_id: scan.farmId,
      grading_result_id: resultId,
      grade: graded.grade,
      grade_reasons: graded.reasons,
      rea_cm2: graded.features.rea_cm2,
      fat_thickness_mm: graded.features.fat_thickness_mm,
      confidence: graded.confidence,
    };
    // Both assets and their links, the scan graded and its `graded` event: one statement (one round
    // trip instead of five).
    await tx`
      WITH stored AS (
        INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
        VALUES (${overlay.bucket}, ${overlay.key}, ${overlay.sha256}, ${overlay.sizeBytes}, 'image/png'),
               (${mask.bucket}, ${mask.key}, ${mask.sha256}, ${mask.sizeBytes}, 'image/png')
        RETURNING id, bucket, object_key),
      linked AS (
        INSERT INTO grading_result_assets (grading_result_id, asset_id, role)
        SELECT ${resultId}, stored.id,
               CASE WHEN stored.bucket = ${overlay.bucket} AND stored.object_key = ${overlay.key}
                    THEN 'overlay' ELSE 'mask' END
        FROM stored),
      marked AS (UPDATE scans SET status = 'graded' WHERE id = ${scan.scanId} RETURNING id)
      INSERT INTO scan_events (scan_id, event, meta)
      SELECT marked.id, 'graded', ${tx.json({ ...summary, job_id: input.job.id, model: `${model.name}@${model.version}`, job_reason: input.reason, notified: news.scanGraded, notify_decision: news.why } as never)}
      FROM marked`;
    if (news.scanGraded) {
      await notifyUsers(tx, {
        type: 'scan_graded',
        dedupeKey: `scan_graded:${resultId}`,
        payload: summary,
        audience: { farmId: scan.farmId },
      });
    }
    if (news.scanRejected) {
      await notifyUsers(tx, {
        type: 'scan_rejected',
        dedupeKey: `scan_rejected:${resultId}`,
        payload: summary,
        // The farm's users (its technicians among them) and admins.
        audience: { farmId: scan.farmId, roles: ['admin'] },
      });
    }
    return { resultId, createdAt: result.created_at };
  });
}

export type FailureInput = {
  job: JobLock;
  code: GradingFailureCode;
  message: string;
  /** The worker failing its own job; null when a reaper fails a job whose lease expired. */
  workerId: string | null;
};

/**
 * A job that failed for good, in ONE transaction: the job `failed` with the reason, a `grading_failed`
 * scan event, `grading_failed` notifications to admins and the scan farm's technicians, and the scan `error` — unless
 * an earlier grading of it stands (a failed regrade leaves the scan graded with its latest result).
 * Returns false (and writes nothing) when the job was no longer this caller's to fail.
 */
export async function writeGradingFailure(sql: Sql, input: FailureInput): Promise<boolean> {
  return sql.begin(async (tx: TransactionSql) => {
    const rows = await tx<{ scan_id: string; attempts: number }[]>`
      UPDATE grading_jobs SET status = 'failed', finished_at = now(), last_error = ${input.message},
        last_error_code = ${input.code}, locked_by = NULL, locked_at = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE id = ${input.job.id} AND status = 'running' AND attempts = ${input.job.attempts}
        AND ${input.workerId === null ? tx`lease_expires_at < now()` : tx`locked_by = ${input.workerId}`}
      RETURNING scan_id, attempts`;
    const job = rows[0];
    if (!job) return false;
    const [scan] = await tx<{ capture_id: string; farm_id: string | null; graded_before: boolean }[]>`
      UPDATE scans SET status = CASE WHEN EXISTS (SELECT 1 FROM grading_results g WHERE g.scan_id = scans.id)
                                     THEN status ELSE 'error' END
      WHERE id = ${job.scan_id}
      RETURNING capture_id, farm_id, EXISTS (SELECT 1 FROM grading_results g WHERE g.scan_id = scans.id) AS graded_before`;
    const payload = {
      scan_id: job.scan_id,
      capture_id: scan!.capture_id,
      farm_id: scan!.farm_id,
      job_id: input.job.id,
      reason: input.code,
      message: input.message,
      attempts: job.attempts,
      earlier_result_kept: scan!.graded_before,
    };
    await tx`INSERT INTO scan_events (scan_id, event, meta) VALUES (${job.scan_id}, 'grading_failed', ${tx.json(payload as never)})`;
    await notifyUsers(tx, {
      type: 'grading_failed',
      dedupeKey: `grading_failed:${input.job.id}`,
      payload,
      // Admins and the scan farm's technicians (none for a scan without a farm: only admins see it).
      audience: { roles: ['admin'], ...(scan!.farm_id ? { technicians: { farmId: scan!.farm_id } } : {}) },
    });
    return true;
  });
}

/**
 * A job whose result already exists (written, then the worker died before it could finish the job,
 * or a result linked by hand): it is marked done, nothing else is written. True when it was.
 */
export async function finishAlreadyGraded(sql: Sql, job: JobLock, workerId: string): Promise<string | null> {
  const [row] = await sql<{ id: string }[]>`
    WITH result AS (SELECT id FROM grading_results WHERE grading_job_id = ${job.id})
    UPDATE grading_jobs SET status = 'done', finished_at = now(), locked_by = NULL, locked_at = NULL,
      lease_expires_at = NULL, updated_at = now()
    WHERE id = ${job.id} AND status = 'running' AND locked_by = ${workerId} AND attempts = ${job.attempts}
      AND EXISTS (SELECT 1 FROM result)
    RETURNING (SELECT id FROM result) AS id`;
  return row?.id ?? null;
}
