import { DEFAULT_MIGRATE_LOCK_TIMEOUT_MS } from '@cti/db';
import { LOG_LEVELS } from '@cti/runtime';
import type { ScryptParams } from './auth/password-hash.ts';
import {
  buckets,
  ConfigError,
  databaseUrl,
  type Env,
  flag,
  integer,
  oneOf,
  optional,
  secrets,
} from './config-parsers.ts';
import { metricsToken } from './http/metrics-token.ts';
import { loadS3Settings, type S3Settings } from './storage/s3-settings.ts';

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
  /** CTI_MIGRATE_LOCK_TIMEOUT_MS: lock_timeout of each migration file when migrating on start (@cti/db). */
  migrateLockTimeoutMs: number;
  dbPoolMax: number;
  dbConnectTimeoutSeconds: number;
  /**
   * CTI_DB_REPLY_TIMEOUT_S: a database connection that owes a reply and has received nothing for this
   * long is closed, so a request on a silent database answers 503 instead of hanging (serve-command.ts
   * for the server-side bounds that go with it). undefined: off (0).
   */
  dbReplyTimeoutSeconds: number | undefined;
  bodyLimitBytes: number;
  signatureToleranceSeconds: number;
  retryAfterSeconds: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  /** CTI_METRICS_TOKEN: GET /metrics needs `Authorization: Bearer` with it; undefined = open (http/metrics-token.ts). */
  metricsToken: string | undefined;
  devices: DeviceHealthConfig;
  auth: AuthConfig;
  api: ApiConfig;
  exports: ExportConfig;
  web: WebConfig;
  ingestionLog: IngestionLogConfig;
};

/** ingestion_log's growth (README, "ingestion_log: what is kept and for how long"). */
export type IngestionLogConfig = {
  /** CTI_INGESTION_LOG_DAYS: rows older than this are deleted (hourly, by every `serve`). */
  retentionDays: number;
  /**
   * CTI_INGESTION_LOG_UNVERIFIED_PER_MIN: rows per minute and process for requests whose signature was not
   * verified (no timestamp, a bad signature, a wrong content type, too large); beyond that they are counted
   * (`cti_ingestion_log_unverified_skipped_total`), not written. Requests with a valid signature always get one.
   */
  unverifiedPerMinute: number;
};

/** CSV/GeoJSON downloads (docs/exports.md, "Limits"). */
export type ExportConfig = {
  /**
   * CTI_EXPORT_STALL_TIMEOUT_S: a download whose client has taken nothing for this long (its socket's
   * buffers full) is cut: its transaction rolls back and its slot is free again.
   */
  stallTimeoutSeconds: number;
  /** CTI_EXPORT_MAX_DURATION_S: a download still running after this long is cut, however it is read. */
  maxDurationSeconds: number;
  /** CTI_EXPORTS_PER_USER: downloads one user may have in progress at once; one more is 429. */
  perUser: number;
};

/** The dashboard's pages. */
export type WebConfig = {
  /**
   * CTI_MAP_TILE_URL: a raster tile server (`https://tiles.example.org/{z}/{x}/{y}.png`) drawn under
   * the farm map; its origin is added to the CSP's img-src. Unset: the plain SVG map, no tiles.
   */
  mapTileUrl: string | undefined;
  /** CTI_MAP_TILE_ATTRIBUTION: the credit the tile provider asks for, written on the map. */
  mapTileAttribution: string | undefined;
};

/** Sign-in, sessions, CSRF and throttling (README "Accounts and access"). */
export type AuthConfig = {
  /** CTI_SESSION_IDLE_TIMEOUT_S: a session unused this long is over. */
  sessionIdleSeconds: number;
  /** CTI_SESSION_MAX_AGE_S: a session is over this long after sign-in, used or not. */
  sessionMaxAgeSeconds: number;
  /**
   * CTI_SESSION_CACHE_S: how long a server process may answer from a session it looked up before without
   * asking Postgres again (0 = ask every time). Sign-outs and account changes reach every process at
   * once through migration 0011's announcements; this bounds one that was missed (LISTEN down).
   */
  sessionCacheSeconds: number;
  /** CTI_INSECURE_LOCALHOST_COOKIES: omit `Secure` for plain-HTTP requests to localhost only. */
  insecureLocalhostCookies: boolean;
  /** CTI_PUBLIC_ORIGIN: the origin browsers use (behind a TLS proxy); unset = the request's own. */
  publicOrigin: string | undefined;
  /** CTI_TRUST_PROXY_HOPS: how many X-Forwarded-For entries (from the right) were added by our proxies. */
  trustProxyHops: number;
  /** CTI_SIGNIN_ACCOUNT_LIMIT / CTI_SIGNIN_ADDRESS_LIMIT failures within CTI_SIGNIN_WINDOW_S lock for CTI_SIGNIN_LOCKOUT_S. */
  accountFailureLimit: number;
  addressFailureLimit: number;
  failureWindowSeconds: number;
  lockoutSeconds: number;
  /** CTI_REGISTRATION_ADDRESS_LIMIT account requests from one address per CTI_REGISTRATION_WINDOW_S. */
  registrationAddressLimit: number;
  registrationWindowSeconds: number;
  /** CTI_SCRYPT_LOG2_N, CTI_SCRYPT_R, CTI_SCRYPT_P: cost of new password hashes. */
  scrypt: ScryptParams;
};

/** The JSON API's settings. */
export type ApiConfig = {
  /** CTI_SIGNED_URL_TTL_S: lifetime of presigned S3 URLs, at most 300 s. */
  signedUrlTtlSeconds: number;
  /** S3_ENDPOINT / AWS_REGION / S3_FORCE_PATH_STYLE; undefined when neither endpoint nor region is set. */
  s3: S3Settings | undefined;
  /** CTI_S3_PUBLIC_ENDPOINT: the S3 endpoint as browsers reach it, when it differs from S3_ENDPOINT. */
  s3PublicEndpoint: string | undefined;
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
  /**
   * CTI_DEVICE_HEARTBEATS_PER_MINUTE: heartbeats one device may have recorded in any 60 s; one more is
   * a 429 with Retry-After and writes nothing (0 = no limit). An agent sends one a minute by default.
   */
  heartbeatsPerMinute: number;
  /**
   * CTI_DEVICE_UPLOAD_ARRIVAL_S: a Pi that reports an upload this long ago (its clock corrected by its
   * measured offset) while no capture of it arrived here since is flagged "uploads not arriving".
   */
  uploadArrivalSeconds: number;
  /**
   * CTI_DEVICE_SILENT_RENOTIFY_S: a device back from a notified silence is not notified silent again
   * within this long of its return unless the new silence lasts longer than this (0: no hysteresis).
   */
  silentRenotifySeconds: number;
  /**
   * CTI_DEVICE_DEAF_ALLOWANCE_S: at most this much of the time the server could not hear (down, or its
   * database away) is taken off a device's silence. A maintenance window or outage up to this long
   * raises no burst of false "went silent"; a crash-looping server or a flapping database still reports
   * a silent device, at most this much late.
   */
  deafAllowanceSeconds: number;
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
  | 'auth'
  | 'api'
  | 'exports'
  | 'web'
> &
  Partial<Pick<ServerConfig, 'metricsToken' | 'ingestionLog'>>;

/** CTI_DB_REPLY_TIMEOUT_S: 30 s by default, 0 = off. */
function replyTimeout(env: Env): number | undefined {
  const seconds = integer(env, 'CTI_DB_REPLY_TIMEOUT_S', { fallback: 30, min: 0, max: 3600 });
  return seconds === 0 ? undefined : seconds;
}

/**
 * Read and validate the server's settings; throws ConfigError naming the first bad setting.
 *
 * @example const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): ServerConfig {
  return {
    databaseUrl: databaseUrl(env, 'DATABASE_URL'),
    webhookSecrets: secrets(env, 'CTI_WEBHOOK_SECRETS', {
      localStack: flag(env, 'CTI_INSECURE_LOCALHOST_COOKIES'),
    }),
    s3Buckets: buckets(env, 'CTI_S3_BUCKETS'),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65_535 }),
    migrateOnStart: flag(env, 'CTI_MIGRATE_ON_START'),
    migrateLockTimeoutMs: integer(env, 'CTI_MIGRATE_LOCK_TIMEOUT_MS', {
      fallback: DEFAULT_MIGRATE_LOCK_TIMEOUT_MS,
      min: 0,
      max: 600_000,
    }),
    dbPoolMax: integer(env, 'CTI_DB_POOL_MAX', { fallback: 10, min: 1, max: 500 }),
    dbConnectTimeoutSeconds: integer(env, 'CTI_DB_CONNECT_TIMEOUT_S', { fallback: 5, min: 1, max: 300 }),
    dbReplyTimeoutSeconds: replyTimeout(env),
    bodyLimitBytes: integer(env, 'CTI_BODY_LIMIT_BYTES', { fallback: 1024 * 1024, min: 1024, max: 64 << 20 }),
    signatureToleranceSeconds: integer(env, 'CTI_SIGNATURE_TOLERANCE_S', {
      fallback: 300,
      min: 1,
      max: 3600,
    }),
    retryAfterSeconds: integer(env, 'CTI_RETRY_AFTER_S', { fallback: 5, min: 1, max: 3600 }),
    shutdownTimeoutMs: integer(env, 'CTI_SHUTDOWN_TIMEOUT_MS', { fallback: 20_000, min: 100, max: 600_000 }),
    logLevel: oneOf(env, 'LOG_LEVEL', [...LOG_LEVELS], 'info'),
    metricsToken: metricsToken(env),
    devices: loadDeviceHealthConfig(env),
    auth: loadAuthConfig(env),
    api: loadApiConfig(env),
    exports: loadExportConfig(env),
    web: loadWebConfig(env),
    ingestionLog: loadIngestionLogConfig(env),
  };
}

/** The CTI_INGESTION_LOG_* defaults (also what an app built without the settings uses). */
export const INGESTION_LOG_DEFAULTS: IngestionLogConfig = { retentionDays: 90, unverifiedPerMinute: 60 };

/** The CTI_INGESTION_LOG_* settings alone. */
export function loadIngestionLogConfig(env: Env): IngestionLogConfig {
  return {
    retentionDays: integer(env, 'CTI_INGESTION_LOG_DAYS', {
      fallback: INGESTION_LOG_DEFAULTS.retentionDays,
      min: 1,
      max: 3650,
    }),
    unverifiedPerMinute: integer(env, 'CTI_INGESTION_LOG_UNVERIFIED_PER_MIN', {
      fallback: INGESTION_LOG_DEFAULTS.unverifiedPerMinute,
      min: 0,
      max: 1_000_000,
    }),
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
    heartbeatsPerMinute: integer(env, 'CTI_DEVICE_HEARTBEATS_PER_MINUTE', {
      fallback: 120,
      min: 0,
      max: 60_000,
    }),
    uploadArrivalSeconds: integer(env, 'CTI_DEVICE_UPLOAD_ARRIVAL_S', {
      fallback: 900,
      min: 60,
      max: 7 * DAY_S,
    }),
    silentRenotifySeconds: integer(env, 'CTI_DEVICE_SILENT_RENOTIFY_S', {
      fallback: 3600,
      min: 0,
      max: 7 * DAY_S,
    }),
    deafAllowanceSeconds: integer(env, 'CTI_DEVICE_DEAF_ALLOWANCE_S', {
      fallback: 3600,
      min: 0,
      max: 7 * DAY_S,
    }),
  };
}

export function loadAuthConfig(env: Env): AuthConfig {
  const idle = integer(env, 'CTI_SESSION_IDLE_TIMEOUT_S', { fallback: 8 * 3600, min: 60, max: 30 * 86_400 });
  const maxAge = integer(env, 'CTI_SESSION_MAX_AGE_S', { fallback: 7 * 86_400, min: 60, max: 90 * 86_400 });
  if (maxAge < idle)
    throw new ConfigError('CTI_SESSION_MAX_AGE_S', `must be at least CTI_SESSION_IDLE_TIMEOUT_S (${idle})`);
  return {
    sessionIdleSeconds: idle,
    sessionMaxAgeSeconds: maxAge,
    sessionCacheSeconds: integer(env, 'CTI_SESSION_CACHE_S', { fallback: 5, min: 0, max: 60 }),
    insecureLocalhostCookies: flag(env, 'CTI_INSECURE_LOCALHOST_COOKIES'),
    publicOrigin: origin(env, 'CTI_PUBLIC_ORIGIN'),
    trustProxyHops: integer(env, 'CTI_TRUST_PROXY_HOPS', { fallback: 0, min: 0, max: 10 }),
    accountFailureLimit: integer(env, 'CTI_SIGNIN_ACCOUNT_LIMIT', { fallback: 5, min: 1, max: 1000 }),
    addressFailureLimit: integer(env, 'CTI_SIGNIN_ADDRESS_LIMIT', { fallback: 20, min: 1, max: 100_000 }),
    failureWindowSeconds: integer(env, 'CTI_SIGNIN_WINDOW_S', { fallback: 900, min: 1, max: 86_400 }),
    lockoutSeconds: integer(env, 'CTI_SIGNIN_LOCKOUT_S', { fallback: 900, min: 1, max: 86_400 }),
    registrationAddressLimit: integer(env, 'CTI_REGISTRATION_ADDRESS_LIMIT', {
      fallback: 5,
      min: 1,
      max: 100_000,
    }),
    registrationWindowSeconds: integer(env, 'CTI_REGISTRATION_WINDOW_S', {
      fallback: 3600,
      min: 1,
      max: 86_400,
    }),
    scrypt: {
      log2N: integer(env, 'CTI_SCRYPT_LOG2_N', { fallback: 14, min: 10, max: 20 }),
      r: integer(env, 'CTI_SCRYPT_R', { fallback: 8, min: 1, max: 32 }),
      p: integer(env, 'CTI_SCRYPT_P', { fallback: 5, min: 1, max: 16 }),
    },
  };
}

export function loadApiConfig(env: Env): ApiConfig {
  const configured =
    optional(env, 'S3_ENDPOINT') ?? optional(env, 'AWS_REGION') ?? optional(env, 'AWS_DEFAULT_REGION');
  return {
    signedUrlTtlSeconds: integer(env, 'CTI_SIGNED_URL_TTL_S', { fallback: 300, min: 5, max: 300 }),
    s3: configured === undefined ? undefined : loadS3Settings(env),
    s3PublicEndpoint: origin(env, 'CTI_S3_PUBLIC_ENDPOINT'),
  };
}

/** The CTI_EXPORT* settings alone (tests take the defaults with `loadExportConfig({})`). */
export function loadExportConfig(env: Env): ExportConfig {
  return {
    stallTimeoutSeconds: integer(env, 'CTI_EXPORT_STALL_TIMEOUT_S', { fallback: 60, min: 1, max: 3600 }),
    maxDurationSeconds: integer(env, 'CTI_EXPORT_MAX_DURATION_S', { fallback: 3600, min: 60, max: DAY_S }),
    perUser: integer(env, 'CTI_EXPORTS_PER_USER', { fallback: 2, min: 1, max: 100 }),
  };
}

export function loadWebConfig(env: Env): WebConfig {
  const url = optional(env, 'CTI_MAP_TILE_URL');
  if (url !== undefined) {
    const example = 'e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png';
    if (!['{z}', '{x}', '{y}'].every((p) => url.includes(p)))
      throw new ConfigError('CTI_MAP_TILE_URL', `must contain {z}, {x} and {y} (${example})`);
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/\{[zxy]\}/g, '0'));
    } catch {
      throw new ConfigError('CTI_MAP_TILE_URL', `is not a URL (got ${JSON.stringify(url)}); ${example}`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      throw new ConfigError('CTI_MAP_TILE_URL', `must start with https:// or http:// (${example})`);
  }
  return { mapTileUrl: url, mapTileAttribution: optional(env, 'CTI_MAP_TILE_ATTRIBUTION') };
}

function origin(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `is not a URL (got ${JSON.stringify(value)}); e.g. https://cti.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must start with http:// or https:// (got ${url.protocol}//)`);
  }
  return url.origin;
}
