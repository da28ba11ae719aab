import { hostname } from 'node:os';
import { LOG_LEVELS } from '@cti/runtime';
import { buckets, ConfigError, databaseUrl, type Env, integer, oneOf, optional } from '../config-parsers.ts';
import { metricsToken } from '../http/metrics-token.ts';
import { loadS3Settings, type S3Settings } from '../storage/s3-settings.ts';

/** Everything `cti-server worker` reads from the environment, validated once at start-up (README). */
export type WorkerConfig = {
  databaseUrl: string;
  s3: S3Settings;
  /** Buckets whose scans this worker grades; a scan in another bucket fails as bucket_not_accepted. */
  s3Buckets: string[];
  /** Jobs graded at the same time by this process. */
  concurrency: number;
  /** A claimed job belongs to this worker for this long past its last heartbeat. */
  leaseSeconds: number;
  /** Attempts (crashes and transient failures included) before a job fails for good. */
  maxAttempts: number;
  /** First retry delay and cap of the capped, full-jitter backoff between a job's attempts. */
  retryBaseMs: number;
  retryCapMs: number;
  /**
   * S3/database outages do not count against a job's attempts within this long of the job's first
   * such failure (grading_jobs.outage_since); past it the job fails for good (ADR 0003 §4).
   */
  outageAllowanceSeconds: number;
  /** A job still running after this long is aborted and retried (a hung S3 call, a runaway image). */
  jobTimeoutSeconds: number;
  /** Safety net under LISTEN/NOTIFY: claim at least this often. */
  pollMs: number;
  /**
   * The LISTEN connection's watchdog pings the jobs channel this often; a connection whose ping has not
   * come back one period later (silently dead) is made anew, and the slots claim at once.
   */
  listenWatchdogMs: number;
  /** Directory with the model cards and ONNX files; undefined = the committed models of @cti/models. */
  modelsDir: string | undefined;
  onnxThreads: number;
  /** Liveness + metrics HTTP port (0 = any free port). */
  host: string;
  port: number;
  workerId: string;
  /** CTI_METRICS_TOKEN: /metrics needs `Authorization: Bearer` with it (undefined: open). */
  metricsToken: string | undefined;
  dbPoolMax: number;
  dbConnectTimeoutSeconds: number;
  /**
   * A database connection that owes a reply and has sent nothing for this long is closed (its query
   * fails as a lost connection and is retried); the server ends transactions left idle as long.
   * undefined: off (CTI_DB_REPLY_TIMEOUT_S=0).
   */
  dbReplyTimeoutSeconds: number | undefined;
  shutdownTimeoutMs: number;
  logLevel: string;
};

/** Slots per worker process when CTI_WORKER_CONCURRENCY is not set (the bench measures this by default). */
export const DEFAULT_WORKER_CONCURRENCY = 2;

/**
 * CTI_DB_REPLY_TIMEOUT_S: by default half the lease, at most 30 s. It must stay shorter than the lease:
 * a heartbeat stuck on a silent connection has to fail (and be retried on a new one) while the lease
 * still holds. Far above any healthy worker statement (milliseconds).
 */
function replyTimeout(env: Env, leaseSeconds: number): number | undefined {
  const seconds = integer(env, 'CTI_DB_REPLY_TIMEOUT_S', {
    fallback: Math.min(30, Math.floor(leaseSeconds / 2)),
    min: 0,
    max: 3600,
  });
  if (seconds >= leaseSeconds) {
    throw new ConfigError(
      'CTI_DB_REPLY_TIMEOUT_S',
      `must be shorter than CTI_GRADING_LEASE_S (${leaseSeconds} s), or 0 for off (got ${seconds}): a heartbeat stuck on a silent connection would outlive the lease`,
    );
  }
  return seconds === 0 ? undefined : seconds;
}

/**
 * The retry backoff: never under half the base (a retry at once would find the same failure), so a cap
 * below that would be exceeded on every retry — refused rather than silently ignored.
 */
function retryBackoff(env: Env): { retryBaseMs: number; retryCapMs: number } {
  const retryBaseMs = integer(env, 'CTI_GRADING_RETRY_BASE_MS', { fallback: 2000, min: 10, max: 600_000 });
  const retryCapMs = integer(env, 'CTI_GRADING_RETRY_CAP_MS', {
    fallback: 300_000,
    min: 10,
    max: 86_400_000,
  });
  if (retryCapMs < retryBaseMs / 2) {
    throw new ConfigError(
      'CTI_GRADING_RETRY_CAP_MS',
      `must be at least half of CTI_GRADING_RETRY_BASE_MS (${retryBaseMs} ms): got ${retryCapMs}; a retry never comes sooner than half the base, so the cap could not hold`,
    );
  }
  return { retryBaseMs, retryCapMs };
}

/**
 * Read and validate the worker's settings; throws ConfigError naming the first bad setting.
 *
 * @example const config = loadWorkerConfig(process.env);
 */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const concurrency = integer(env, 'CTI_WORKER_CONCURRENCY', {
    fallback: DEFAULT_WORKER_CONCURRENCY,
    min: 1,
    max: 64,
  });
  const leaseSeconds = integer(env, 'CTI_GRADING_LEASE_S', { fallback: 60, min: 2, max: 3600 });
  return {
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    s3: loadS3Settings(env),
    s3Buckets: buckets(env, 'CTI_S3_BUCKETS'),
    concurrency,
    leaseSeconds,
    maxAttempts: integer(env, 'CTI_GRADING_MAX_ATTEMPTS', { fallback: 5, min: 1, max: 100 }),
    ...retryBackoff(env),
    outageAllowanceSeconds: integer(env, 'CTI_GRADING_OUTAGE_ALLOWANCE_S', {
      fallback: 6 * 3600,
      min: 1,
      max: 7 * 86_400,
    }),
    jobTimeoutSeconds: integer(env, 'CTI_GRADING_JOB_TIMEOUT_S', { fallback: 120, min: 1, max: 3600 }),
    pollMs: integer(env, 'CTI_WORKER_POLL_MS', { fallback: 2000, min: 20, max: 600_000 }),
    listenWatchdogMs: integer(env, 'CTI_WORKER_LISTEN_WATCHDOG_MS', {
      fallback: 30_000,
      min: 100,
      max: 3_600_000,
    }),
    modelsDir: optional(env, 'CTI_MODELS_DIR'),
    onnxThreads: integer(env, 'CTI_ONNX_THREADS', { fallback: 1, min: 1, max: 64 }),
    host: optional(env, 'CTI_WORKER_HOST') ?? '0.0.0.0',
    port: integer(env, 'CTI_WORKER_PORT', { fallback: 9464, min: 0, max: 65_535 }),
    workerId: optional(env, 'CTI_WORKER_ID') ?? `${hostname()}:${process.pid}`,
    metricsToken: metricsToken(env),
    dbPoolMax: integer(env, 'CTI_DB_POOL_MAX', { fallback: concurrency + 3, min: 2, max: 500 }),
    dbConnectTimeoutSeconds: integer(env, 'CTI_DB_CONNECT_TIMEOUT_S', { fallback: 5, min: 1, max: 300 }),
    dbReplyTimeoutSeconds: replyTimeout(env, leaseSeconds),
    shutdownTimeoutMs: integer(env, 'CTI_SHUTDOWN_TIMEOUT_MS', { fallback: 30_000, min: 100, max: 600_000 }),
    logLevel: oneOf(env, 'LOG_LEVEL', [...LOG_LEVELS], 'info'),
  };
}
