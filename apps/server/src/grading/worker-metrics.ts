import { createMetricsRegistry } from '@cti/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JOB_REASONS, type QueueStats } from './job-queue.ts';

/** Gauges collected within this long of each other share one read of the queue (one scrape). */
const SCRAPE_SHARE_MS = 250;

export type WorkerMetricsOptions = {
  /** Reads queue depth and the oldest job's age on each scrape (one small query). */
  queueStats?: () => Promise<QueueStats>;
  /** Whether the S3 credential chain found credentials when last used (undefined: not yet asked). */
  s3Credentials?: () => boolean | undefined;
  defaults?: boolean;
};

/**
 * The worker's Prometheus series on a private registry. Queue gauges are read from the database when
 * scraped, so every worker reports the shared queue; a scrape during a database outage keeps the last
 * values.
 *
 * @example const metrics = createWorkerMetrics({ queueStats: queue.stats });
 */
export function createWorkerMetrics({
  queueStats,
  s3Credentials = () => undefined,
  defaults = true,
}: WorkerMetricsOptions = {}) {
  const registry: Registry = createMetricsRegistry({ prefix: 'cti_worker_', defaults });
  const registers = [registry];
  let last: QueueStats = {
    running: 0,
    waiting: {
      ingest: { queued: 0, oldestQueuedSeconds: 0 },
      regrade: { queued: 0, oldestQueuedSeconds: 0 },
    },
  };
  const read = async () => {
    if (!queueStats) return last;
    try {
      last = await queueStats();
    } catch {
      // keep the last known values; cti_grading_infrastructure_errors_total says why
    }
    return last;
  };
  // One query per scrape, shared by the three queue gauges (each awaits it): the depth, the running
  // count and the ages then come from the same moment (review r10 F6: two of them lagged one scrape).
  let reading: Promise<QueueStats> | undefined;
  const refresh = () => {
    reading ??= read().finally(() => {
      setTimeout(() => {
        reading = undefined;
      }, SCRAPE_SHARE_MS).unref();
    });
    return reading;
  };
  return {
    registry,
    jobs: new Counter({
      name: 'cti_grading_jobs_total',
      help: 'Grading job attempts by outcome: graded, already_graded, retried, failed, released, lease_lost',
      labelNames: ['outcome'] as const,
      registers,
    }),
    grades: new Counter({
      name: 'cti_grading_grades_total',
      help: 'Results written by grade (A usable, M marginal, R reject)',
      labelNames: ['grade'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'cti_grading_failures_total',
      help: 'Failed attempts by failure code (permanent and retried)',
      labelNames: ['code'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'cti_grading_duration_seconds',
      help: 'Claim to committed result, per graded job',
      buckets: [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    stage: new Histogram({
      name: 'cti_grading_stage_seconds',
      help: 'Time per grading stage (spacing, segmentation, hint, features, checks, images)',
      labelNames: ['stage'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    leaseExpiries: new Counter({
      name: 'cti_grading_lease_expiries_total',
      help: 'Running jobs found with an expired lease (their worker died, hung or lost the network) and requeued or failed',
      registers,
    }),
    inFlight: new Gauge({
      name: 'cti_grading_in_flight',
      help: 'Jobs this process is grading now',
      registers,
    }),
    infrastructureErrors: new Counter({
      name: 'cti_grading_infrastructure_errors_total',
      help: 'Database or S3 unavailable while claiming, grading or recording',
      labelNames: ['code'] as const,
      registers,
    }),
    listening: new Gauge({
      name: 'cti_grading_listening',
      help: 'Whether this process LISTENs on cti_grading_jobs (1), or is re-establishing that connection (0: new jobs wait for CTI_WORKER_POLL_MS)',
      registers,
    }),
    listenLost: new Counter({
      name: 'cti_grading_listen_lost_total',
      help: 'LISTEN connections lost: closed, or silently dead (their watchdog ping did not come back within CTI_WORKER_LISTEN_WATCHDOG_MS)',
      registers,
    }),
    s3Credentials: new Gauge({
      name: 'cti_grading_s3_credentials',
      help: 'Whether the AWS credential chain found S3 credentials when last used (1) or none (0: jobs wait as s3_unavailable); absent until first asked',
      registers,
      collect() {
        const found = s3Credentials();
        if (found === undefined) this.reset();
        else this.set(found ? 1 : 0);
      },
    }),
    silentConnections: new Counter({
      name: 'cti_grading_db_silent_connections_total',
      help: 'Database connections closed because they owed a reply and sent nothing for CTI_DB_REPLY_TIMEOUT_S (frozen host, partition, hung proxy)',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'cti_grading_queue_depth',
      help: 'Jobs waiting (queued), all workers, by reason: ingest (new captures, claimed first) or regrade',
      labelNames: ['reason'] as const,
      registers,
      async collect() {
        const { waiting } = await refresh();
        for (const reason of JOB_REASONS) this.set({ reason }, waiting[reason].queued);
      },
    }),
    running: new Gauge({
      name: 'cti_grading_jobs_running',
      help: 'Jobs being graded, all workers',
      registers,
      async collect() {
        this.set((await refresh()).running);
      },
    }),
    oldestQueued: new Gauge({
      name: 'cti_grading_oldest_queued_seconds',
      help: 'Age of the oldest due queued job by reason (0 when none): a growing ingest age means add workers; a regrade backlog waits for spare time by design',
      labelNames: ['reason'] as const,
      registers,
      async collect() {
        const { waiting } = await refresh();
        for (const reason of JOB_REASONS) this.set({ reason }, waiting[reason].oldestQueuedSeconds);
      },
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
