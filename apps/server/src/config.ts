import { isValidBucketName } from '@cti/contracts';

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

/** A setting is missing or malformed; the message starts with the setting's name. */
export class ConfigError extends Error {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(`${setting} ${message}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

type Env = Record<string, string | undefined>;

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

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string, what: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(name, `is not set; expected ${what}`);
  return value;
}

function databaseUrl(env: Env, name: string): string {
  const value = required(env, name, 'a postgres:// URL, e.g. postgres://cti:cti@127.0.0.1:5432/cti');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a URL; expected postgres://user:password@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must start with postgres:// (got ${url.protocol}//)`);
  }
  if (url.pathname.replace(/^\//, '') === '') throw new ConfigError(name, 'names no database');
  return value;
}

function list(env: Env, name: string, what: string): string[] {
  const items = required(env, name, what)
    .split(',')
    .map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(name, `has an empty entry; expected ${what}`);
  return [...new Set(items)];
}

function secrets(env: Env, name: string): string[] {
  const values = list(env, name, 'one or more comma-separated webhook signing secrets');
  const short = values.findIndex((s) => s.length < 16);
  if (short !== -1) {
    throw new ConfigError(name, `entry ${short + 1} is shorter than 16 characters; use a long random secret`);
  }
  return values;
}

function buckets(env: Env, name: string): string[] {
  const values = list(env, name, 'one or more comma-separated S3 bucket names');
  const bad = values.find((b) => !isValidBucketName(b));
  if (bad !== undefined) throw new ConfigError(name, `has an invalid bucket name ${JSON.stringify(bad)}`);
  return values;
}

function integer(
  env: Env,
  name: string,
  { fallback, min, max }: { fallback: number; min: number; max: number },
) {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

function flag(env: Env, name: string): boolean {
  const value = optional(env, name);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new ConfigError(name, `must be 1/true or 0/false (got ${JSON.stringify(value)})`);
}

function oneOf(env: Env, name: string, allowed: string[], fallback: string): string {
  const value = optional(env, name) ?? fallback;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  return value;
}
