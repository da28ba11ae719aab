import { backoffDelay, type Logger } from '@cti/runtime';
import type { Sql } from 'postgres';
import { createWatchedListener, type WatchedListener } from '../db/watched-listener.ts';
import { deleteFailedJobOutputs } from './failed-job-outputs.ts';
import type { Grader } from './grade-image.ts';
import { gradeJob } from './grade-job.ts';
import { GRADING_JOBS_CHANNEL } from './grading-channel.ts';
import { classifyGradingError, GradingError, LeaseLostError } from './grading-errors.ts';
import { type ClaimedJob, createJobQueue } from './job-queue.ts';
import type { ObjectClient } from './object-store.ts';
import { writeGradingFailure } from './result-writer.ts';
import type { WorkerConfig } from './worker-config.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export type GradingWorkerOptions = {
  sql: Sql;
  s3: ObjectClient;
  grader: Grader;
  config: Pick<
    WorkerConfig,
    | 'workerId'
    | 'concurrency'
    | 'leaseSeconds'
    | 'maxAttempts'
    | 'retryBaseMs'
    | 'retryCapMs'
    | 'outageAllowanceSeconds'
    | 'pollMs'
    | 'listenWatchdogMs'
    | 'jobTimeoutSeconds'
    | 's3Buckets'
  >;
  log: Logger;
  metrics: WorkerMetrics;
};

export type GradingWorker = {
  start(): Promise<void>;
  /** Stops claiming; waits up to `graceMs` for jobs in flight, then releases them to the queue. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Wall-clock ms of the last loop activity (claim attempt or idle wake-up), for liveness. */
  lastActivity(): number;
  inFlight(): number;
  /** Whether the LISTEN connection is up (a new job wakes the slots at once). */
  listening(): boolean;
};

/** The job queue as a worker with this configuration sees it (its id, lease and attempts), for the grading model's version. */
export function createWorkerQueue(
  sql: Sql,
  config: Pick<WorkerConfig, 'workerId' | 'leaseSeconds' | 'maxAttempts'>,
  modelVersion: string,
): ReturnType<typeof createJobQueue> {
  return createJobQueue({
    sql,
    workerId: config.workerId,
    leaseSeconds: config.leaseSeconds,
    maxAttempts: config.maxAttempts,
    modelVersion,
  });
}

/** Abort reason of jobs still running when the shutdown grace period ends: they are released. */
class StopRequest extends Error {}

/** Delay before an infrastructure retry of the same job, and the slot's own pause after it. */
const INFRA_BACKOFF = { baseMs: 250, capMs: 15_000 };

/**
 * The grading worker: `concurrency` slots each claim a job (SKIP LOCKED), grade it and record the
 * outcome. Idle slots sleep until a NOTIFY on GRADING_JOBS_CHANNEL or the poll interval; the LISTEN
 * connection is watched (db/watched-listener.ts: made anew when it closes or dies silently) and every
 * slot claims once each time it is (re-)established, for the jobs announced while it was deaf. A heartbeat keeps each job's lease; a reaper puts expired leases
 * back in the queue. Failures: permanent → failed at once; S3/database unavailable → requeued
 * without counting the attempt while the slot backs off, within the outage allowance of the job's
 * first such failure (then failed); anything else → retried with capped, full-jitter backoff until
 * max attempts.
 *
 * @example const worker = createGradingWorker({ sql, s3, grader, config, log, metrics }); await worker.start();
 */
export function createGradingWorker({
  sql,
  s3,
  grader,
  config,
  log,
  metrics,
}: GradingWorkerOptions): GradingWorker {
  const queue = createWorkerQueue(sql, config, grader.modelVersion);
  const deps = { sql, s3, grader, acceptedBuckets: config.s3Buckets, workerId: config.workerId };
  let stopping = false;
  const stopController = new AbortController();
  const stopSignal = stopController.signal;
  let activity = Date.now();
  const wakers = new Set<() => void>();
  const jobs = new Map<string, AbortController>();
  const slots: Promise<void>[] = [];
  let reaper: NodeJS.Timeout | undefined;
  let listener: WatchedListener | undefined;

  /** A pause that only stopping cuts short (a NOTIFY during an outage must not end it). */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const onStop = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        stopSignal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      stopSignal.addEventListener('abort', onStop, { once: true });
    });
  /** Wake-ups so far: a slot busy claiming when one comes claims again instead of sleeping. */
  let wakes = 0;
  /** Wakes every idle slot (a NOTIFY, a reconnect of the LISTEN connection, stopping). */
  const wake = () => {
    wakes++;
    for (const w of [...wakers]) w();
  };
  /** Sleeps until woken or `ms` passed; either way it leaves no waker behind. */
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  /** Consecutive infrastructure failures of this process: its slots pause longer and longer. */
  let outages = 0;
  const outagePause = () => Math.max(100, backoffDelay(outages, INFRA_BACKOFF));

  async function failForGood(job: ClaimedJob, code: GradingError['code'], message: string): Promise<void> {
    if (await writeGradingFailure(sql, { job, code, message, workerId: config.workerId })) {
      metrics.jobs.inc({ outcome: 'failed' });
      log.warn({ jobId: job.id, scanId: job.scanId, code, err: message }, 'grading failed for good');
      await deleteFailedJobOutputs({ sql, s3, log }, job.id);
    }
  }

  async function recordOutage(job: ClaimedJob, err: GradingError): Promise<void> {
    metrics.infrastructureErrors.inc({ code: err.code });
    outages++;
    const delayMs = outagePause();
    const allowance = config.outageAllowanceSeconds;
    const requeued = await queue.retryLater(job, {
      code: err.code,
      message: err.message,
      delayMs,
      outageAllowanceSeconds: allowance,
    });
    if (requeued) {
      metrics.jobs.inc({ outcome: 'retried' });
      log.warn(
        { jobId: job.id, code: err.code, err: err.message, delayMs },
        'infrastructure unavailable: job requeued, attempt not counted',
      );
      return;
    }
    // Past the allowance (or no longer ours, which the failure's own "still mine" check finds too): an
    // answer that has not changed for that long is taken as this job's, not a passing outage.
    const since = job.outageSince ? ` since ${job.outageSince.toISOString()}` : '';
    await failForGood(
      job,
      err.code,
      `${err.message}; S3 or the database unavailable for this job${since}, longer than CTI_GRADING_OUTAGE_ALLOWANCE_S (${allowance} s)`,
    );
  }

  async function recordFailure(job: ClaimedJob, err: GradingError): Promise<void> {
    metrics.failures.inc({ code: err.code });
    if (err.infrastructure) return recordOutage(job, err);
    if (err.permanent || job.attempts >= job.maxAttempts) {
      const message = err.permanent
        ? err.message
        : `${err.message} (attempt ${job.attempts} of ${job.maxAttempts})`;
      return failForGood(job, err.code, message);
    }
    const delayMs = Math.max(
      config.retryBaseMs / 2,
      backoffDelay(job.attempts - 1, { baseMs: config.retryBaseMs, capMs: config.retryCapMs }),
    );
    await queue.retryLater(job, { code: err.code, message: err.message, delayMs });
    metrics.jobs.inc({ outcome: 'retried' });
    log.warn(
      { jobId: job.id, scanId: job.scanId, code: err.code, err: err.message, delayMs },
      'grading will be retried',
    );
  }

  /**
   * When a claim or renewal answered at `answeredAt` after being sent at `sentAt` can have set the
   * lease, at the earliest: Postgres ran it after it was sent, but a statement can wait long for a
   * connection (the pool reconnecting after an outage) and then run at once — counting from the send
   * would give such a job up for nothing. So from 0.1 lease before the answer when that is later: the
   * answer's way back is assumed shorter than that (milliseconds, not seconds).
   */
  const leaseStart = (sentAt: number, answeredAt: number) =>
    Math.max(sentAt, answeredAt - 0.1 * config.leaseSeconds * 1000);

  /**
   * Renews the lease every third of it, and gives the job up (aborts it) when the lease is lost or at
   * 0.8 × lease after the last successful renewal (leaseStart) — a timer of its own, since a renewal
   * stuck on a dead connection fails only after CTI_DB_REPLY_TIMEOUT_S, when the lease may have run out
   * and another worker re-claimed the job (both would then PUT the same keys).
   */
  function keepLease(job: ClaimedJob, controller: AbortController, claimedAt: number): () => void {
    const leaseMs = config.leaseSeconds * 1000;
    const giveUpAfterMs = 0.8 * leaseMs;
    const giveUp = () =>
      controller.abort(
        new LeaseLostError(
          `lease of job ${job.id} could not be renewed within 80 % of CTI_GRADING_LEASE_S (${config.leaseSeconds} s)`,
        ),
      );
    let lastRenewal = claimedAt;
    let deadline = setTimeout(giveUp, Math.max(0, lastRenewal + giveUpAfterMs - Date.now()));
    const timer = setInterval(() => {
      const sentAt = Date.now();
      queue.heartbeat(job).then(
        (mine) => {
          if (controller.signal.aborted) return;
          if (!mine) {
            controller.abort(new LeaseLostError(`lease of job ${job.id} was lost`));
            return;
          }
          activity = Date.now();
          const renewedAt = leaseStart(sentAt, activity);
          if (renewedAt <= lastRenewal) return;
          lastRenewal = renewedAt;
          clearTimeout(deadline);
          deadline = setTimeout(giveUp, Math.max(0, lastRenewal + giveUpAfterMs - Date.now()));
        },
        // Database unreachable: the next renewal tries again; the deadline above gives the job up.
        () => {},
      );
    }, leaseMs / 3);
    return () => {
      clearInterval(timer);
      clearTimeout(deadline);
    };
  }

  async function runJob(job: ClaimedJob, claimedAt: number): Promise<void> {
    const controller = new AbortController();
    jobs.set(job.id, controller);
    metrics.inFlight.inc();
    const stopLease = keepLease(job, controller, claimedAt);
    const deadline = setTimeout(
      () =>
        controller.abort(
          new GradingError(
            'internal_error',
            `grading took longer than ${config.jobTimeoutSeconds} s (CTI_GRADING_JOB_TIMEOUT_S)`,
          ),
        ),
      config.jobTimeoutSeconds * 1000,
    );
    const started = performance.now();
    try {
      const result = await gradeJob(deps, job, controller.signal);
      outages = 0;
      metrics.jobs.inc({ outcome: result.outcome });
      if (result.outcome === 'graded') {
        metrics.grades.inc({ grade: result.grade });
        metrics.duration.observe((performance.now() - started) / 1000);
        for (const [stage, ms] of Object.entries(result.timings)) metrics.stage.observe({ stage }, ms / 1000);
      }
      log.info(
        { jobId: job.id, scanId: job.scanId, ...result, ms: Math.round(performance.now() - started) },
        'job done',
      );
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof LeaseLostError) {
        metrics.jobs.inc({ outcome: 'lease_lost' });
        log.warn({ jobId: job.id, err: reason.message }, 'dropped a job whose lease was lost');
      } else if (reason instanceof StopRequest) {
        if (await queue.release(job).catch(() => false)) metrics.jobs.inc({ outcome: 'released' });
      } else {
        await recordFailure(job, classifyGradingError(reason)).catch((e: unknown) => {
          // The database is gone too: the lease will expire and any worker will requeue the job.
          metrics.infrastructureErrors.inc({ code: 'database_unavailable' });
          log.warn({ jobId: job.id, err: (e as Error).message }, 'could not record a failed attempt');
        });
      }
    } finally {
      clearTimeout(deadline);
      activity = Date.now();
      stopLease();
      metrics.inFlight.dec();
      jobs.delete(job.id);
    }
  }

  async function slot(index: number): Promise<void> {
    while (!stopping) {
      activity = Date.now();
      let job: ClaimedJob | null;
      const wakesBefore = wakes;
      const claimSentAt = Date.now();
      try {
        job = await queue.claim();
      } catch (err) {
        metrics.infrastructureErrors.inc({ code: 'database_unavailable' });
        outages++;
        const delayMs = outagePause();
        log.warn({ slot: index, err: (err as Error).message, delayMs }, 'cannot claim: database unavailable');
        await pause(delayMs);
        continue;
      }
      if (!job) {
        // A NOTIFY that came during the claim may announce a job it did not see yet.
        if (wakes === wakesBefore) await idle(config.pollMs);
        continue;
      }
      await runJob(job, leaseStart(claimSentAt, Date.now()));
      // After an outage hit this job the slot pauses too, instead of claiming the next job at once.
      if (outages > 0 && !stopping) await pause(outagePause());
    }
  }

  async function reap(): Promise<void> {
    try {
      const { requeued, exhausted } = await queue.reapExpired();
      for (const job of requeued)
        log.warn({ jobId: job.id, worker: job.lockedBy }, 'lease expired: job requeued');
      metrics.leaseExpiries.inc(requeued.length);
      for (const job of exhausted) {
        const message = `the workers grading it stopped renewing its lease ${job.attempts} times (crash, out of memory or lost network); last: ${job.lockedBy ?? '?'}`;
        if (await writeGradingFailure(sql, { job, code: 'lease_expired', message, workerId: null })) {
          metrics.leaseExpiries.inc();
          metrics.jobs.inc({ outcome: 'failed' });
          await deleteFailedJobOutputs({ sql, s3, log }, job.id);
        }
      }
    } catch (err) {
      metrics.infrastructureErrors.inc({ code: 'database_unavailable' });
      log.debug({ err: (err as Error).message }, 'reaper: database unavailable');
    }
  }

  return {
    async start() {
      metrics.listening.set(0);
      listener = createWatchedListener({
        sql,
        channel: GRADING_JOBS_CHANNEL,
        log,
        watchdogMs: config.listenWatchdogMs,
        onPayload: wake,
        onUp: () => {
          metrics.listening.set(1);
          wake();
        },
        onDown: () => {
          metrics.listening.set(0);
          metrics.listenLost.inc();
        },
      });
      // Not fatal: the listener tries again by itself, and the poll claims meanwhile.
      await listener.ready().catch(() => {});
      const reapEvery = Math.max(500, Math.min(10_000, (config.leaseSeconds * 1000) / 4));
      reaper = setInterval(() => void reap(), reapEvery);
      await reap();
      for (let i = 0; i < config.concurrency; i++) slots.push(slot(i));
      log.info(
        {
          workerId: config.workerId,
          concurrency: config.concurrency,
          model: `${grader.modelName}@${grader.modelVersion}`,
          view: grader.viewModel,
        },
        'worker started',
      );
    },
    async stop({ graceMs = 10_000 } = {}) {
      stopping = true;
      stopController.abort();
      clearInterval(reaper);
      wake();
      const finished = Promise.all(slots);
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), graceMs).unref(),
      );
      if ((await Promise.race([finished, grace])) === 'timeout') {
        log.warn({ jobs: [...jobs.keys()] }, 'shutdown: releasing jobs still in flight');
        for (const controller of jobs.values()) controller.abort(new StopRequest('worker stopping'));
        await finished;
      }
      await listener?.close();
    },
    lastActivity: () => activity,
    inFlight: () => jobs.size,
    listening: () => listener?.listening() ?? false,
  };
}
