import type { Sql } from 'postgres';
import { GRADING_JOBS_CHANNEL } from './grading-channel.ts';

/** Which scans to regrade: one scan, or every scan of a device and/or captured since a date, or all. */
export type RegradeSelection =
  | { scanId: string }
  | { deviceCode?: string; since?: Date; all?: false }
  | { all: true };

export type RegradeOptions = {
  selection: RegradeSelection;
  /** Only workers running this model version take the jobs (null: any worker). */
  modelVersion: string | null;
  dryRun?: boolean;
};

export type RegradeSummary = {
  /** Scans the selection matched. */
  matched: number;
  /** New jobs queued (0 on a dry run). */
  enqueued: number;
  /** Scans skipped because a job for them is already queued or running. */
  alreadyPending: number;
  /** Selected device codes that do not exist (a typo should not look like "nothing to do"). */
  unknownDevice: boolean;
};

/**
 * Queues a `regrade` job for every selected scan that has no job waiting or running (the partial
 * unique index allows one per scan), in one transaction that also wakes the workers. A regrade adds a
 * new grading_results row when it runs and never deletes history; the latest result per scan (spec
 * §7: newest created_at, ties by id) is the new one.
 *
 * @example await enqueueRegrades(sql, { selection: { deviceCode: 'dev-0001' }, modelVersion: null });
 */
export async function enqueueRegrades(
  sql: Sql,
  { selection, modelVersion, dryRun = false }: RegradeOptions,
): Promise<RegradeSummary> {
  const scanId = 'scanId' in selection ? selection.scanId : null;
  const deviceCode = 'deviceCode' in selection ? (selection.deviceCode ?? null) : null;
  const since = 'since' in selection ? (selection.since ?? null) : null;
  return sql.begin(async (tx) => {
    const unknownDevice =
      deviceCode !== null && (await tx`SELECT 1 FROM devices WHERE device_code = ${deviceCode}`).length === 0;
    const [row] = await tx<{ matched: number; pending: number; enqueued: number }[]>`
      WITH selected AS (
        SELECT s.id FROM scans s JOIN devices d ON d.id = s.device_id
        WHERE (${scanId}::uuid IS NULL OR s.id = ${scanId}::uuid)
          AND (${deviceCode}::text IS NULL OR d.device_code = ${deviceCode}::text)
          AND (${since}::timestamptz IS NULL OR s.captured_at >= ${since}::timestamptz)
      ), pending AS (
        SELECT DISTINCT j.scan_id FROM grading_jobs j JOIN selected ON selected.id = j.scan_id
        WHERE j.status IN ('queued', 'running')
      ), inserted AS (
        INSERT INTO grading_jobs (scan_id, reason, model_version)
        SELECT id, 'regrade', ${modelVersion}::text FROM selected
        WHERE NOT ${dryRun} AND id NOT IN (SELECT scan_id FROM pending)
        ON CONFLICT (scan_id) WHERE status IN ('queued', 'running') DO NOTHING
        RETURNING id
      )
      SELECT (SELECT count(*) FROM selected)::int AS matched, (SELECT count(*) FROM pending)::int AS pending,
             (SELECT count(*) FROM inserted)::int AS enqueued`;
    if ((row?.enqueued ?? 0) > 0) await tx`SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '')`;
    return {
      matched: row?.matched ?? 0,
      enqueued: row?.enqueued ?? 0,
      alreadyPending: row?.pending ?? 0,
      unknownDevice,
    };
  });
}
