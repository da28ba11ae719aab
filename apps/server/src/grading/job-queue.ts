import type { Sql } from 'postgres';
import { GRADING_JOBS_CHANNEL } from './grading-channel.ts';

/** A grading job this worker holds the lease of. Ids are bigint, kept as strings. */
export type ClaimedJob = {
  id: string;
  scanId: string;
  /** This attempt's number (1 for the first). */
  attempts: number;
  maxAttempts: number;
  reason: JobReason;
  modelVersion: string | null;
  /**
   * Whether a result of this job existed when it was claimed (a worker died after committing it, or one
   * was linked by hand); undefined when not known. false spares gradeJob its own look.
   */
  hasResult?: boolean;
  /** The job's first S3/database outage failure (grading_jobs.outage_since), null if none; for messages. */
  outageSince?: Date | null;
};

/** One attempt of a job: its id and the attempt number its claim gave it. Every "still mine" check
 * matches both, so a stale attempt cannot touch a job its own worker has re-claimed since. */
export type JobLock = { id: string; attempts: number };

/** A running job whose lease ran out (its worker died, hung or lost the network). */
export type ExpiredJob = { id: string; scanId: string; attempts: number; lockedBy: string | null };

/** What a job is for: a capture's first grading, or a re-run of an earlier one (claimed after captures). */
export type JobReason = 'ingest' | 'regrade';
export const JOB_REASONS: readonly JobReason[] = ['ingest', 'regrade'];

/** Per reason: jobs waiting, and the age of the oldest due one (0 when none). */
export type QueueStats = {
  running: number;
  waiting: Record<JobReason, { queued: number; oldestQueuedSeconds: number }>;
};

export type JobQueueOptions = {
  sql: Sql;
  workerId: string;
  leaseSeconds: number;
  maxAttempts: number;
  /** The model version this worker grades with: it never claims a job pinned to another one. */
  modelVersion: string;
};

/**
 * The grading queue as one Postgres table (migrations 0002 + 0009_grading_worker): claims with FOR UPDATE SKIP
 * LOCKED (N workers never hold the same job), a lease the heartbeat moves forward, and every state
 * change guarded by "still mine" (status running, locked_by me), so a worker that lost its lease
 * can no longer change the job.
 *
 * @example const queue = createJobQueue({ sql, workerId, leaseSeconds: 60, maxAttempts: 5, modelVersion: '2.3.0' });
 */
export function createJobQueue({ sql, workerId, leaseSeconds, maxAttempts, modelVersion }: JobQueueOptions) {
  const lease = `${leaseSeconds} seconds`;
  return {
    /**
     * The next due job, or null: fresh captures (`ingest`) first, oldest first, then `regrade` jobs,
     * oldest first — a bulk regrade never holds back a new scan (migration 0019, whose index serves this
     * order). The attempt is counted now: a crash counts too.
     */
    async claim(): Promise<ClaimedJob | null> {
      const [row] = await sql<
        {
          id: string;
          scan_id: string;
          attempts: number;
          reason: JobReason;
          model_version: string | null;
          has_result: boolean;
          outage_since: Date | null;
        }[]
      >`
        UPDATE grading_jobs SET status = 'running', attempts = attempts + 1, max_attempts = ${maxAttempts},
          locked_by = ${workerId}, locked_at = now(), lease_expires_at = now() + ${lease}::interval,
          updated_at = now()
        WHERE id = (
          SELECT id FROM grading_jobs
          WHERE status = 'queued' AND run_after <= now()
            AND (model_version IS NULL OR model_version = ${modelVersion})
          ORDER BY (reason <> 'ingest'), run_after, id
          FOR UPDATE SKIP LOCKED
          LIMIT 1)
        RETURNING id, scan_id, attempts, reason, model_version, outage_since,
          EXISTS (SELECT 1 FROM grading_results g WHERE g.grading_job_id = grading_jobs.id) AS has_result`;
      if (!row) return null;
      return {
        id: row.id,
        scanId: row.scan_id,
        attempts: row.attempts,
        maxAttempts,
        reason: row.reason,
        modelVersion: row.model_version,
        hasResult: row.has_result,
        outageSince: row.outage_since,
      };
    },

    /** Extends the lease; false when the job is no longer ours (expired and re-claimed, or finished). */
    async heartbeat(job: JobLock): Promise<boolean> {
      const rows = await sql`
        UPDATE grading_jobs SET lease_expires_at = now() + ${lease}::interval, locked_at = now(), updated_at = now()
        WHERE id = ${job.id} AND status = 'running' AND locked_by = ${workerId} AND attempts = ${job.attempts}
        RETURNING id`;
      return rows.length === 1;
    },

    /**
     * A transient failure: back to the queue after `delayMs`, the failure kept in last_error. With
     * `outageAllowanceSeconds` it is an S3/database outage: the attempt is not counted (the
     * infrastructure was down, not the job at fault) and the job's first outage is stamped
     * (outage_since) — but only within that many seconds of the first one; past it nothing is written
     * and false is returned, as when the job is no longer ours: the caller fails it for good.
     */
    async retryLater(
      job: JobLock,
      {
        code,
        message,
        delayMs,
        outageAllowanceSeconds,
      }: { code: string; message: string; delayMs: number; outageAllowanceSeconds?: number },
    ): Promise<boolean> {
      const outage = outageAllowanceSeconds !== undefined;
      const rows = await sql.begin(async (tx) => {
        const updated = await tx`
          UPDATE grading_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL, lease_expires_at = NULL,
            attempts = attempts - ${outage ? 1 : 0}, run_after = now() + ${`${Math.max(0, Math.round(delayMs))} milliseconds`}::interval,
            outage_since = ${outage ? tx`coalesce(outage_since, now())` : tx`outage_since`},
            last_error = ${message}, last_error_code = ${code}, updated_at = now()
          WHERE id = ${job.id} AND status = 'running' AND locked_by = ${workerId} AND attempts = ${job.attempts}
            ${outage ? tx`AND (outage_since IS NULL OR outage_since >= now() - ${`${outageAllowanceSeconds} seconds`}::interval)` : tx``}
          RETURNING id`;
        if (updated.length > 0) await tx`SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '')`;
        return updated;
      });
      return rows.length === 1;
    },

    /** Graceful stop: the job goes back to the queue at once, its attempt not counted. */
    async release(job: JobLock): Promise<boolean> {
      const rows = await sql.begin(async (tx) => {
        const updated = await tx`
          UPDATE grading_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL, lease_expires_at = NULL,
            attempts = greatest(attempts - 1, 0), run_after = now(), updated_at = now()
          WHERE id = ${job.id} AND status = 'running' AND locked_by = ${workerId} AND attempts = ${job.attempts}
          RETURNING id`;
        if (updated.length > 0) await tx`SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '')`;
        return updated;
      });
      return rows.length === 1;
    },

    /**
     * Running jobs whose lease ran out go back to the queue; those that used up their attempts are
     * returned in `exhausted`, still running, for the caller to fail (scan, event, notification).
     */
    async reapExpired(): Promise<{ requeued: ExpiredJob[]; exhausted: ExpiredJob[] }> {
      return sql.begin(async (tx) => {
        const expired = await tx<
          { id: string; scan_id: string; attempts: number; max_attempts: number; locked_by: string | null }[]
        >`
          SELECT id, scan_id, attempts, max_attempts, locked_by FROM grading_jobs
          WHERE status = 'running' AND lease_expires_at < now()
          ORDER BY id FOR UPDATE SKIP LOCKED`;
        const toJob = (r: (typeof expired)[number]): ExpiredJob => ({
          id: r.id,
          scanId: r.scan_id,
          attempts: r.attempts,
          lockedBy: r.locked_by,
        });
        const requeue = expired.filter((r) => r.attempts < r.max_attempts);
        if (requeue.length > 0) {
          await tx`
            UPDATE grading_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL, lease_expires_at = NULL,
              run_after = now(), last_error = 'lease expired: worker ' || coalesce(locked_by, '?') || ' stopped renewing it',
              last_error_code = 'lease_expired', updated_at = now()
            WHERE id = ANY(${requeue.map((r) => r.id)}::bigint[])`;
          await tx`SELECT pg_notify(${GRADING_JOBS_CHANNEL}, '')`;
        }
        return {
          requeued: requeue.map(toJob),
          exhausted: expired.filter((r) => r.attempts >= r.max_attempts).map(toJob),
        };
      });
    },

    /**
     * Queue depth and the age of the oldest due job per reason, for the metrics: a regrade backlog
     * waits by design (captures are claimed first), so only the ingest age says "add workers".
     */
    async stats(): Promise<QueueStats> {
      const [row] = await sql<
        {
          running: number;
          ingest: number;
          regrade: number;
          ingest_oldest: number | null;
          regrade_oldest: number | null;
        }[]
      >`
        SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
               count(*) FILTER (WHERE status = 'queued' AND reason = 'ingest')::int AS ingest,
               count(*) FILTER (WHERE status = 'queued' AND reason = 'regrade')::int AS regrade,
               extract(epoch FROM now() - min(created_at) FILTER (
                 WHERE status = 'queued' AND reason = 'ingest' AND run_after <= now()))::float8 AS ingest_oldest,
               extract(epoch FROM now() - min(created_at) FILTER (
                 WHERE status = 'queued' AND reason = 'regrade' AND run_after <= now()))::float8 AS regrade_oldest
        FROM grading_jobs WHERE status IN ('queued', 'running')`;
      return {
        running: row?.running ?? 0,
        waiting: {
          ingest: { queued: row?.ingest ?? 0, oldestQueuedSeconds: row?.ingest_oldest ?? 0 },
          regrade: { queued: row?.regrade ?? 0, oldestQueuedSeconds: row?.regrade_oldest ?? 0 },
        },
      };
    },
  };
}

export type JobQueue = ReturnType<typeof createJobQueue>;
