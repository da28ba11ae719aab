import type { Sql } from 'postgres';
import { type RegradeSelection, selectedScans, unknownSelection } from './regrade.ts';

/** grading_jobs.last_error_code of a regrade job cancelled before any worker claimed it. */
export const CANCELLED_CODE = 'cancelled';

export type CancelOptions = {
  /** Which scans' waiting regrade jobs (a calibration row is no selection here). */
  selection: Exclude<RegradeSelection, { calibrationId: string }>;
  /** Only jobs pinned to this model version (null: every waiting regrade job of the selection). */
  modelVersion: string | null;
  dryRun?: boolean;
};

export type CancelledJob = {
  id: string;
  scan_id: string;
  model_version: string | null;
  created_at: Date;
};

export type CancelSummary = {
  /** The jobs cancelled (or, on a dry run, that would be), oldest first. */
  cancelled: CancelledJob[];
  /** Matching regrade jobs a worker holds right now (running, or being claimed): never cancelled. */
  held: number;
  /** Selected device codes that do not exist. */
  unknownDevice: boolean;
  /** The selected scan id is no scan's. */
  unknownScan: boolean;
};

/**
 * Cancels the selected scans' regrade jobs that wait in the queue — pinned to a model version no
 * worker runs, say, which would otherwise hold the scan's one active job slot (migration 0009) for
 * ever, so that later regrades skip the scan. Only `queued` jobs with reason `regrade`: an ingest job
 * is the scan's first grading, and a job a worker holds (running, or locked by a claim at this very
 * moment: SKIP LOCKED) is left to finish. A cancelled job ends `failed` with last_error_code
 * `cancelled` and finished_at (the queue has no other final state; the row is kept as history). The
 * scan is not touched: its status and latest result stay what they were, and no scan_events row is
 * written (queueing a regrade writes none either; the job row is the record).
 *
 * @example await cancelRegrades(sql, { selection: { all: true }, modelVersion: '9.9.9' });
 */
export async function cancelRegrades(sql: Sql, options: CancelOptions): Promise<CancelSummary> {
  const { selection, modelVersion, dryRun = false } = options;
  return sql.begin(async (tx) => {
    const unknown = await unknownSelection(tx, selection);
    const matching = tx`
      SELECT j.id FROM grading_jobs j JOIN (${selectedScans(tx, selection)}) s ON s.id = j.scan_id
      WHERE j.reason = 'regrade' AND (${modelVersion}::text IS NULL OR j.model_version = ${modelVersion}::text)`;
    const cancelled = dryRun
      ? await tx<CancelledJob[]>`
          SELECT id, scan_id, model_version, created_at FROM grading_jobs
          WHERE id IN (${matching}) AND status = 'queued' ORDER BY id`
      : await tx<CancelledJob[]>`
          WITH waiting AS (
            SELECT id FROM grading_jobs WHERE id IN (${matching}) AND status = 'queued'
            ORDER BY id FOR UPDATE SKIP LOCKED
          )
          UPDATE grading_jobs j SET status = 'failed', finished_at = now(), updated_at = now(),
            last_error_code = ${CANCELLED_CODE},
            last_error = 'cancelled by cti-server regrade --cancel before any worker claimed it'
          FROM waiting WHERE j.id = waiting.id AND j.status = 'queued'
          RETURNING j.id, j.scan_id, j.model_version, j.created_at`;
    const cancelledIds = cancelled.map((c) => c.id);
    const [held] = await tx<{ n: number }[]>`
      SELECT count(*)::int AS n FROM grading_jobs
      WHERE id IN (${matching}) AND status IN ('queued', 'running') AND NOT (id = ANY(${cancelledIds}::bigint[]))`;
    return {
      cancelled: [...cancelled].sort((a, b) => Number(a.id) - Number(b.id)),
      held: held?.n ?? 0,
      ...unknown,
    };
  });
}
