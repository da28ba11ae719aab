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
};

/** The settings the HTTP app (ingest route, health) reads; the rest are for main.ts's process setup. */
export type AppConfig = Pick<
  ServerConfig,
  'webhookSecrets' | 's3Buckets' | 'bodyLimitBytes' | 'signatureToleranceSeconds' | 'retryAfterSeconds'
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
  };
}
