import type { Sql, TransactionSql } from 'postgres';
import { scanSortKey } from '../access/sql-fragments.ts';
import { GRADING_JOBS_CHANNEL } from './grading-channel.ts';

/**
 * Which scans to regrade: one scan, or every scan of a device and/or captured since a date, or all,
 * or the scans a device calibration row applies to (see calibrationScans).
 */
export type RegradeSelection =
  | { scanId: string }
  | { deviceCode?: string; since?: Date; all?: false }
  | { all: true }
  | { calibrationId: string };

export type RegradeOptions = {
  selection: RegradeSelection;
  /** Only workers running this model version take the jobs (null: any worker). */
  modelVersion: string | null;
  dryRun?: boolean;
  /**
   * Refuse (TooManyRegradesError, nothing queued) when more than this many jobs would be queued;
   * undefined: no limit (the command line).
   */
  maxJobs?: number;
  /**
   * Also regrade scans whose latest result is a correction made by hand (`created_by` set): the model's
   * new result would then be the latest and replace the person's outline in lists, reports and exports.
   * Default false: they are left as they are and counted in `keptCorrected`.
   */
  includeCorrected?: boolean;
};

/** More jobs than the caller's maxJobs would be queued: nothing was. */
export class TooManyRegradesError extends Error {
  readonly jobs: number;
  readonly maxJobs: number;
  constructor(jobs: number, maxJobs: number) {
    super(`${jobs} regrade jobs would be queued, more than ${maxJobs}`);
    this.name = 'TooManyRegradesError';
    this.jobs = jobs;
    this.maxJobs = maxJobs;
  }
}

export type RegradeSummary = {
  /** Scans the selection matched. */
  matched: number;
  /** New jobs queued (0 on a dry run). */
  enqueued: number;
  /** Scans skipped because a job for them is already queued or running. */
  alreadyPending: number;
  /** Scans skipped because their latest result is a correction made by hand (see includeCorrected). */
  keptCorrected: number;
  /** Selected device codes that do not exist (a typo should not look like "nothing to do"). */
  unknownDevice: boolean;
  /** The selected scan id is no scan's (mistyped, or copied from another environment). */
  unknownScan: boolean;
};

/** Whether the selection names a device or a scan that does not exist (regrade and its --cancel). */
export async function unknownSelection(
  tx: TransactionSql,
  selection: RegradeSelection,
): Promise<{ unknownDevice: boolean; unknownScan: boolean }> {
  const deviceCode = 'deviceCode' in selection ? (selection.deviceCode ?? null) : null;
  const scanId = 'scanId' in selection ? selection.scanId : null;
  return {
    unknownDevice:
      deviceCode !== null && (await tx`SELECT 1 FROM devices WHERE device_code = ${deviceCode}`).length === 0,
    unknownScan: scanId !== null && (await tx`SELECT 1 FROM scans WHERE id = ${scanId}::uuid`).length === 0,
  };
}

/**
 * Queues a `regrade` job for every selected scan that has no job waiting or running (the partial
 * unique index allows one per scan) and whose latest result is not a correction made by hand (unless
 * includeCorrected), in one transaction that also wakes the workers. A regrade adds a
 * new grading_results row when it runs and never deletes history; the latest result per scan (spec
 * §7: newest created_at, ties by id) is the new one.
 *
 * @example await enqueueRegrades(sql, { selection: { deviceCode: 'dev-0001' }, modelVersion: null });
 */
export async function enqueueRegrades(sql: Sql, options: RegradeOptions): Promise<RegradeSummary> {
  return sql.begin((tx) => queueRegrades(tx, options));
}

/**
 * enqueueRegrades inside the caller's transaction (e.g. with the calibration row the regrade is for:
 * all or nothing). With maxJobs, counts first and throws TooManyRegradesError over the limit.
 */
export async function queueRegrades(tx: TransactionSql, options: RegradeOptions): Promise<RegradeSummary> {
  const { selection, maxJobs } = options;
  const unknown = await unknownSelection(tx, selection);
  if (maxJobs !== undefined && !options.dryRun) {
    const probe = await runQuery(tx, { ...options, dryRun: true });
    const jobs = probe.matched - probe.corrected - probe.pending;
    if (jobs > maxJobs) throw new TooManyRegradesError(jobs, maxJobs);
  }
  const row = await runQuery(tx, options);
  if (row.enqueued > 0) await tx`SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '')`;
  return {
    matched: row.matched,
    enqueued: row.enqueued,
    alreadyPending: row.pending,
    keptCorrected: row.corrected,
    ...unknown,
  };
}

/** The selected scans' ids, as a query (scans `s` of devices `d`); also what `regrade --cancel` selects. */
export function selectedScans(tx: TransactionSql, selection: RegradeSelection) {
  if ('calibrationId' in selection) return calibrationScans(tx, selection.calibrationId);
  const scanId = 'scanId' in selection ? selection.scanId : null;
  const deviceCode = 'deviceCode' in selection ? (selection.deviceCode ?? null) : null;
  const since = 'since' in selection ? (selection.since ?? null) : null;
  return tx`
    SELECT s.id FROM scans s JOIN devices d ON d.id = s.device_id
    WHERE (${scanId}::uuid IS NULL OR s.id = ${scanId}::uuid)
      AND (${deviceCode}::text IS NULL OR d.device_code = ${deviceCode}::text)
      AND (${since}::timestamptz IS NULL OR ${scanSortKey(tx)} >= ${since}::timestamptz)`;
}

/**
 * The scans a device calibration row applies to, as grading chooses it (scan-context's
 * loadScanContext + applicableCalibration): the row's device, captured at or after its valid_from (a
 * scan without a capture time counts as captured when it arrived, scanSortKey), and no newer row of the device already valid
 * at that capture time for every size or for the row's own size. The database does not record a
 * scan's image size (grading reads it from the image), so a row for one image size selects the
 * device's scans of every size in its window: a scan of another size is regraded to the same figures.
 */
function calibrationScans(tx: TransactionSql, calibrationId: string) {
  return tx`
    SELECT s.id FROM device_calibrations c JOIN scans s ON s.device_id = c.device_id
    WHERE c.id = ${calibrationId}::bigint
      AND ${scanSortKey(tx)} >= c.valid_from
      AND NOT EXISTS (
        SELECT 1 FROM device_calibrations n
        WHERE n.device_id = c.device_id AND (n.valid_from, n.id) > (c.valid_from, c.id)
          AND n.valid_from <= ${scanSortKey(tx)}
          AND (n.image_width IS NULL OR (n.image_width = c.image_width AND n.image_height = c.image_height)))`;
}

type QueryCounts = { matched: number; corrected: number; pending: number; enqueued: number };

async function runQuery(
  tx: TransactionSql,
  { selection, modelVersion, dryRun = false, includeCorrected = false }: RegradeOptions,
): Promise<QueryCounts> {
  // Scans whose latest result (scans.latest_grading_id, migration 0010) someone corrected by hand.
  const [row] = await tx<QueryCounts[]>`
    WITH selected AS (${selectedScans(tx, selection)}),
    corrected AS (
      SELECT s.id FROM selected JOIN scans s ON s.id = selected.id
        JOIN grading_results g ON g.id = s.latest_grading_id
       WHERE NOT ${includeCorrected} AND g.created_by IS NOT NULL
    ), eligible AS (
      SELECT id FROM selected WHERE id NOT IN (SELECT id FROM corrected)
    ), pending AS (
      SELECT DISTINCT j.scan_id FROM grading_jobs j JOIN eligible ON eligible.id = j.scan_id
      WHERE j.status IN ('queued', 'running')
    ), inserted AS (
      INSERT INTO grading_jobs (scan_id, reason, model_version)
      SELECT id, 'regrade', ${modelVersion}::text FROM eligible
      WHERE NOT ${dryRun} AND id NOT IN (SELECT scan_id FROM pending)
      ON CONFLICT (scan_id) WHERE status IN ('queued', 'running') DO NOTHING
      RETURNING id
    )
    SELECT (SELECT count(*) FROM selected)::int AS matched, (SELECT count(*) FROM corrected)::int AS corrected,
           (SELECT count(*) FROM pending)::int AS pending, (SELECT count(*) FROM inserted)::int AS enqueued`;
  return {
    matched: row?.matched ?? 0,
    corrected: row?.corrected ?? 0,
    pending: row?.pending ?? 0,
    enqueued: row?.enqueued ?? 0,
  };
}
