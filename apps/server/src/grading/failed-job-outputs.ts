import { processedObjectKey } from '@cti/contracts';
import type { Logger } from '@cti/runtime';
import type { Sql } from 'postgres';
import { deleteObject, type ObjectClient } from './object-store.ts';

/**
 * Where a job writes its overlay and mask: processed/{capture_id}/job-{id}-overlay.png / -mask.png.
 * Deterministic, so a retry of the job rewrites the same objects and nothing else.
 */
export function jobOutputKeys(captureId: string, jobId: string): { overlay: string; mask: string } {
  return {
    overlay: processedObjectKey(captureId, `job-${jobId}-overlay.png`),
    mask: processedObjectKey(captureId, `job-${jobId}-mask.png`),
  };
}

/** How long the clean-up of one failed job may take (the store may be the reason it failed). */
const DELETE_TIMEOUT_MS = 10_000;

/**
 * Deletes the overlay and mask a job that failed for good may have written before it failed (an error
 * or an outage past the allowance in the result transaction; a worker killed in the result phase of
 * its last attempt, failed by the reaper): no attempt follows to overwrite them and no asset row links
 * them, so they would stay in the store for ever (review r2 U1). Keys an asset row names are kept.
 * Best effort: a failure is logged, never thrown — the job's failure is already recorded. Not covered:
 * a worker cut off from the database that PUTs after the reaper failed its job.
 *
 * @example await deleteFailedJobOutputs({ sql, s3, log }, job.id);
 */
export async function deleteFailedJobOutputs(
  { sql, s3, log }: { sql: Sql; s3: ObjectClient; log: Logger },
  jobId: string,
): Promise<void> {
  try {
    const [row] = await sql<{ capture_id: string; bucket: string }[]>`
      SELECT s.capture_id, a.bucket FROM grading_jobs j
      JOIN scans s ON s.id = j.scan_id JOIN assets a ON a.id = s.image_asset_id
      WHERE j.id = ${jobId} AND j.status = 'failed'`;
    if (!row) return; // no image asset: the job never got as far as writing
    const { overlay, mask } = jobOutputKeys(row.capture_id, jobId);
    const linked = await sql<{ object_key: string }[]>`
      SELECT object_key FROM assets WHERE bucket = ${row.bucket} AND object_key IN (${overlay}, ${mask})`;
    const keys = [overlay, mask].filter((key) => !linked.some((a) => a.object_key === key));
    const signal = AbortSignal.timeout(DELETE_TIMEOUT_MS);
    await Promise.all(keys.map((key) => deleteObject(s3, { bucket: row.bucket, key }, { signal })));
    log.info({ jobId, bucket: row.bucket, keys }, "failed job's outputs deleted");
  } catch (err) {
    log.warn({ jobId, err: (err as Error).message }, "could not delete a failed job's outputs");
  }
}
