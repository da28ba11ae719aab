import { REGION_EXPECTED, REGION_PATTERN } from '@cti/contracts';
import { type LogLevel, logLevelProblem } from '@cti/runtime';

/** The relay's settings, read from the environment once at start-up (see README "Configuration"). */
export interface RelayConfig {
  /** Where signed webhooks go, e.g. http://127.0.0.1:8080/ingest/webhook. */
  webhookUrl: string;
  /** Signing secrets; the first signs, the rest exist so rotation can be staged like on the server. */
  webhookSecrets: string[];
  /** Secrets Manager secret id/ARN holding the comma-separated secrets (Lambda); replaces webhookSecrets. */
  webhookSecretsId: string | undefined;
  /** S3-compatible endpoint (s3rver, MinIO); undefined means AWS S3 itself. */
  s3Endpoint: string | undefined;
  region: string;
  /** Total time one object may take: waiting for missing files plus delivery retries. */
  budgetMs: number;
  /** Timeout of one HTTP attempt. */
  httpTimeoutMs: number;
  /** LOG_LEVEL, checked against the server's list (pino answers a bad one with a stack trace). */
  logLevel: LogLevel;
}

/** Settings only the local watcher (`cti-relay watch`) needs. */
export interface WatchConfig {
  bucket: string;
  prefix: string;
  stateFile: string;
  pollMs: number;
  /** How far behind the listing's newest LastModified a late-appearing meta.json is still noticed. */
  graceMs: number;
}

/** Settings of `cti-relay serve`, the HTTP endpoint for a self-hosted store's bucket notifications. */
export interface ServeConfig {
  host: string;
  port: number;
  /** Accepted notification secrets (rotation: add the new one, switch the store, drop the old). */
  notifySecrets: string[];
  /** Larger notification bodies are refused with 413 (a record is ~1-2 KB). */
  maxBodyBytes: number;
  /** Time one notification may take (files, webhook retries) before the store is told to re-send. */
  budgetMs: number;
  /** Where notifications the server rejected for good are kept, one replayable file each. */
  deadLetterDir: string;
  /**
   * A capture still incomplete (or whose meta.json does not exist) this long — the younger of its age by
   * the store's clock and by the relay's (since it first saw the record) — is dead-lettered and answered
   * 200: a persistent queue (Ceph RGW) re-sends everything behind a 503'd entry, so a capture that never
   * completes must not be answered 503 for ever. 0: at once.
   */
  incompleteMaxAgeMs: number;
}

type Env = Record<string, string | undefined>;

/** A bad or missing setting; the message names every offending variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid relay configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function collector(env: Env) {
  const problems: string[] = [];
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const url = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value;
    } catch {}
    problems.push(`${name}: must be an http(s) URL, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (/^\d+$/.test(raw) && n >= min && n <= max) return n;
    problems.push(`${name}: must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
    return fallback;
  };
  const logLevel = (): LogLevel => {
    const value = get('LOG_LEVEL') ?? 'info';
    const problem = logLevelProblem(value);
    if (problem === null) return value as LogLevel;
    problems.push(`LOG_LEVEL: ${problem}, got ${JSON.stringify(value)}`);
    return 'info';
  };
  return { problems, get, url, int, logLevel };
}

/**
 * LOG_LEVEL alone (default `info`), for the logger every command makes before its own settings are
 * read (`status` reads no other). Throws ConfigError naming it.
 *
 * @example const log = createLogger({ name: 'cti-relay', level: loadLogLevel(process.env) });
 */
export function loadLogLevel(env: Env): LogLevel {
  const { problems, logLevel } = collector(env);
  const level = logLevel();
  if (problems.length > 0) throw new ConfigError(problems);
  return level;
}

/** The server's rule for the same secrets (apps/server config-parsers.ts `secrets`). */
export const MIN_SECRET_LENGTH = 16;

/**
 * Both sides of one shared secret validate it alike: a secret the server refuses at start-up is refused
 * here too, rather than showing up later as 401 `bad_signature` on every capture.
 */
function parseSecrets(raw: string | undefined, problems: string[], name: string): string[] {
  if (raw === undefined) return [];
  const secrets = raw.split(',').map((s) => s.trim());
  if (secrets.some((s) => s.length === 0)) {
    problems.push(`${name}: comma-separated secrets must not be empty (check for stray commas)`);
  }
  const short = secrets.findIndex((s) => s.length > 0 && s.length < MIN_SECRET_LENGTH);
  if (short !== -1) {
    problems.push(
      `${name}: entry ${short + 1} is shorter than ${MIN_SECRET_LENGTH} characters; use a long random secret (the server refuses it too)`,
    );
  }
  return secrets.filter((s) => s.length > 0);
}

/** Parse the comma-separated secret list stored in CTI_WEBHOOK_SECRETS or in a Secrets Manager secret. */
export function secretsFromString(raw: string, source: string): string[] {
  const problems: string[] = [];
  const secrets = parseSecrets(raw.trim() === '' ? undefined : raw, problems, source);
  if (secrets.length === 0) problems.push(`${source}: holds no secret`);
  if (problems.length > 0) throw new ConfigError(problems);
  return secrets;
}

/**
 * AWS_REGION, else AWS_DEFAULT_REGION (the Lambda runtime sets both); `us-east-1` with S3_ENDPOINT, as an
 * S3-compatible store accepts any signing region, while AWS itself needs the bucket's. A variable set
 * but blank ('' or spaces) is refused, as the agent refuses a blank region: taken as unset, it silently
 * gave us-east-1 or let the other variable decide.
 */
function regionFrom(env: Env, hasEndpoint: boolean, problems: string[]): string | undefined {
  const blank = ['AWS_REGION', 'AWS_DEFAULT_REGION'].filter((name) => env[name]?.trim() === '');
  for (const name of blank) problems.push(`${name}: is set but blank; give ${REGION_EXPECTED} or unset it`);
  const name = env.AWS_REGION?.trim() ? 'AWS_REGION' : 'AWS_DEFAULT_REGION';
  const region = env[name]?.trim() || (hasEndpoint ? 'us-east-1' : undefined);
  if (region === undefined) {
    if (blank.length === 0) problems.push('AWS_REGION: is required when S3_ENDPOINT is not set');
  } else if (!new RegExp(REGION_PATTERN).test(region)) {
    problems.push(`${name}: must be ${REGION_EXPECTED}, got ${JSON.stringify(region)}`);
  }
  return region;
}

/**
 * Read and validate the relay's environment. Throws ConfigError naming every bad setting.
 *
 * @example
 * const config = loadRelayConfig(process.env);
 */
export function loadRelayConfig(env: Env): RelayConfig {
  const { problems, get, url, int, logLevel } = collector(env);
  const webhookUrl = url('CTI_WEBHOOK_URL', get('CTI_WEBHOOK_URL'));
  if (get('CTI_WEBHOOK_URL') === undefined) problems.push('CTI_WEBHOOK_URL: is required');
  const webhookSecrets = parseSecrets(get('CTI_WEBHOOK_SECRETS'), problems, 'CTI_WEBHOOK_SECRETS');
  const webhookSecretsId = get('CTI_WEBHOOK_SECRETS_ID');
  if (webhookSecrets.length === 0 && webhookSecretsId === undefined) {
    problems.push(
      'CTI_WEBHOOK_SECRETS: is required (or CTI_WEBHOOK_SECRETS_ID naming a Secrets Manager secret)',
    );
  }
  const s3Endpoint = url('S3_ENDPOINT', get('S3_ENDPOINT'));
  const region = regionFrom(env, s3Endpoint !== undefined, problems);
  const budgetMs = int('CTI_RELAY_BUDGET_MS', 60_000, 0, 15 * 60_000);
  const httpTimeoutMs = int('CTI_RELAY_HTTP_TIMEOUT_MS', 10_000, 100, 120_000);
  const level = logLevel();
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    webhookUrl: webhookUrl as string,
    webhookSecrets,
    webhookSecretsId,
    s3Endpoint,
    region: region as string,
    budgetMs,
    httpTimeoutMs,
    logLevel: level,
  };
}

/**
 * Read the local watcher's settings; `overrides` are CLI flags, which win over the environment.
 *
 * @example
 * const watch = loadWatchConfig(process.env, { bucket: 'cti-dev' });
 */
export function loadWatchConfig(
  env: Env,
  overrides: Partial<Record<keyof WatchConfig, string>> = {},
): WatchConfig {
  const merged: Env = {
    ...env,
    ...(overrides.bucket && { CTI_RELAY_BUCKET: overrides.bucket }),
    ...(overrides.stateFile && { CTI_RELAY_STATE_FILE: overrides.stateFile }),
    ...(overrides.pollMs && { CTI_RELAY_POLL_MS: overrides.pollMs }),
    ...(overrides.prefix && { CTI_RELAY_PREFIX: overrides.prefix }),
    ...(overrides.graceMs && { CTI_RELAY_GRACE_MS: overrides.graceMs }),
  };
  const { problems, get, int } = collector(merged);
  const bucket = get('CTI_RELAY_BUCKET');
  if (bucket === undefined) problems.push('CTI_RELAY_BUCKET: is required for watch (or pass --bucket)');
  const prefix = get('CTI_RELAY_PREFIX') ?? 'raw/';
  if (!prefix.endsWith('/'))
    problems.push(`CTI_RELAY_PREFIX: must end with "/", got ${JSON.stringify(prefix)}`);
  const stateFile = get('CTI_RELAY_STATE_FILE') ?? '.cti/relay-state.json';
  const pollMs = int('CTI_RELAY_POLL_MS', 1000, 50, 3_600_000);
  const graceMs = int('CTI_RELAY_GRACE_MS', 15 * 60_000, 0, 7 * 24 * 3_600_000);
  if (problems.length > 0) throw new ConfigError(problems);
  return { bucket: bucket as string, prefix, stateFile, pollMs, graceMs };
}

/**
 * Read `cti-relay serve`'s settings; `overrides` are CLI flags, which win over the environment.
 *
 * @example
 * const serve = loadServeConfig(process.env, { port: '8090' });
 */
export function loadServeConfig(env: Env, overrides: { host?: string; port?: string } = {}): ServeConfig {
  const merged: Env = {
    ...env,
    ...(overrides.host && { CTI_RELAY_LISTEN_HOST: overrides.host }),
    ...(overrides.port && { CTI_RELAY_LISTEN_PORT: overrides.port }),
  };
  const { problems, get, int } = collector(merged);
  const notifySecrets = parseSecrets(get('CTI_RELAY_NOTIFY_SECRETS'), problems, 'CTI_RELAY_NOTIFY_SECRETS');
  if (notifySecrets.length === 0 && !problems.some((p) => p.startsWith('CTI_RELAY_NOTIFY_SECRETS'))) {
    problems.push('CTI_RELAY_NOTIFY_SECRETS: is required for serve (the shared secret the store sends)');
  }
  for (const secret of notifySecrets) {
    if (secret.length < 16)
      problems.push('CTI_RELAY_NOTIFY_SECRETS: each secret must be at least 16 characters');
  }
  const host = get('CTI_RELAY_LISTEN_HOST') ?? '127.0.0.1';
  const port = int('CTI_RELAY_LISTEN_PORT', 8090, 0, 65535);
  const maxBodyBytes = int('CTI_RELAY_NOTIFY_MAX_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024);
  const budgetMs = int('CTI_RELAY_NOTIFY_BUDGET_MS', 20_000, 1000, 15 * 60_000);
  const deadLetterDir = get('CTI_RELAY_DEAD_LETTER_DIR') ?? '.cti/relay-dead-letters';
  const incompleteMaxAgeS = int('CTI_RELAY_INCOMPLETE_MAX_AGE_S', 300, 0, 7 * 24 * 3600);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host,
    port,
    notifySecrets,
    maxBodyBytes,
    budgetMs,
    deadLetterDir,
    incompleteMaxAgeMs: incompleteMaxAgeS * 1000,
  };
}
