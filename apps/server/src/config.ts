import { buckets, databaseUrl, type Env, flag, integer, oneOf, optional, secrets } from './config-parsers.ts';

export { ConfigError } from './config-parsers.ts';

/** Everything the server reads from the environment, validated once at start-up (see README). */
export type ServerConfig = {
  databaseUrl: string;
  /** All accepted for verification (key rotation); the relay signs with any one of them. */
  webhookSecrets: string[];
  /** Buckets whose captures this server ingests. */
  s3Buckets: string[];
  host: string;
  port: number;
  migrateOnStart: boolean;
  dbPoolMax: number;
  dbConnectTimeoutSeconds: number;
  bodyLimitBytes: number;
  signatureToleranceSeconds: number;
  retryAfterSeconds: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  devices: DeviceHealthConfig;
};

/** Fleet health: when a device counts as silent, backlogged, low on disk or off-clock (README, Devices). */
export type DeviceHealthConfig = {
  /** A device that sent heartbeats and has not been heard for this long is silent. */
  silentAfterSeconds: number;
  /** How often each replica runs the silence check and prunes history (one replica at a time does it). */
  checkIntervalSeconds: number;
  /** Heartbeat history and refused requests older than this are deleted. */
  historyDays: number;
  /** Backlog: the oldest capture waiting for upload is at least this old… */
  backlogAgeSeconds: number;
  /** …or at least this many captures wait (or any is quarantined). */
  backlogCaptures: number;
  /** Disk low: free space below this (or below the agent's own floor). */
  diskLowBytes: number;
  /** Clock unsynchronised: the device says so, or its clock is off by more than this. */
  clockMaxOffsetMs: number;
};

/** The settings the HTTP app (ingest route, health) reads; the rest are for main.ts's process setup. */
export type AppConfig = Pick<
  ServerConfig,
  | 'webhookSecrets'
  | 's3Buckets'
  | 'bodyLimitBytes'
  | 'signatureToleranceSeconds'
  | 'retryAfterSeconds'
  | 'devices'
>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Read and validate the server's settings; throws ConfigError naming the first bad setting.
 *
 * @example const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): ServerConfig {
  return {
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    webhookSecrets: secrets(env, 'CTI_WEBHOOK_SECRETS'),
    s3Buckets: buckets(env, 'CTI_S3_BUCKETS'),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65_535 }),
    migrateOnStart: flag(env, 'CTI_MIGRATE_ON_START'),
    dbPoolMax: integer(env, 'CTI_DB_POOL_MAX', { fallback: 10, min: 1, max: 500 }),
    dbConnectTimeoutSeconds: integer(env, 'CTI_DB_CONNECT_TIMEOUT_S', { fallback: 5, min: 1, max: 300 }),
    bodyLimitBytes: integer(env, 'CTI_BODY_LIMIT_BYTES', { fallback: 1024 * 1024, min: 1024, max: 64 << 20 }),
    signatureToleranceSeconds: integer(env, 'CTI_SIGNATURE_TOLERANCE_S', {
      fallback: 300,
      min: 1,
      max: 3600,
    }),
    retryAfterSeconds: integer(env, 'CTI_RETRY_AFTER_S', { fallback: 5, min: 1, max: 3600 }),
    shutdownTimeoutMs: integer(env, 'CTI_SHUTDOWN_TIMEOUT_MS', { fallback: 20_000, min: 100, max: 600_000 }),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    devices: loadDeviceHealthConfig(env),
  };
}

const DAY_S = 86_400;

/** The CTI_DEVICE_* settings alone (tests take the defaults with `loadDeviceHealthConfig({})`). */
export function loadDeviceHealthConfig(env: Env): DeviceHealthConfig {
  return {
    silentAfterSeconds: integer(env, 'CTI_DEVICE_SILENT_AFTER_S', { fallback: 600, min: 1, max: 7 * DAY_S }),
    checkIntervalSeconds: integer(env, 'CTI_DEVICE_CHECK_INTERVAL_S', { fallback: 60, min: 1, max: 3600 }),
    historyDays: integer(env, 'CTI_DEVICE_HISTORY_DAYS', { fallback: 7, min: 1, max: 366 }),
    backlogAgeSeconds: integer(env, 'CTI_DEVICE_BACKLOG_AGE_S', { fallback: 1800, min: 1, max: 30 * DAY_S }),
    backlogCaptures: integer(env, 'CTI_DEVICE_BACKLOG_CAPTURES', { fallback: 100, min: 1, max: 1_000_000 }),
    diskLowBytes:
      integer(env, 'CTI_DEVICE_DISK_LOW_MB', { fallback: 1024, min: 1, max: 16 * 1024 * 1024 }) * 1024 * 1024,
    clockMaxOffsetMs: integer(env, 'CTI_DEVICE_CLOCK_MAX_OFFSET_MS', {
      fallback: 5000,
      min: 1,
      max: 3_600_000,
    }),
  };
}
