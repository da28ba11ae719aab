import { readFileSync } from 'node:fs';
import { isValidBucketName } from '@cti/contracts';

/** Parsers for environment settings, shared by every command's config (serve, worker, …). */

export type Env = Record<string, string | undefined>;

/** A setting is missing or malformed; the message starts with the setting's name. */
export class ConfigError extends Error {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(`${setting} ${message}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function required(env: Env, name: string, what: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(name, `is not set; expected ${what}`);
  return value;
}

/**
 * A secret setting, from `NAME` or from the file `NAME_FILE` names (compose, Swarm and Kubernetes
 * secrets are files, e.g. /run/secrets/cti_webhook_secrets): the file's content with surrounding
 * whitespace (its trailing newline) trimmed. `setting` is what an error about the value should name.
 * Both set, an unreadable or empty file: ConfigError naming them.
 *
 * @example secretSetting({ DATABASE_URL_FILE: '/run/secrets/db' }, 'DATABASE_URL') // { value: 'postgres://…', setting: 'DATABASE_URL_FILE' }
 */
export function secretSetting(env: Env, name: string): { value: string | undefined; setting: string } {
  const fileSetting = `${name}_FILE`;
  const path = optional(env, fileSetting);
  if (path === undefined) return { value: optional(env, name), setting: name };
  if (optional(env, name) !== undefined)
    throw new ConfigError(name, `and ${fileSetting} are both set; set only one of them`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new ConfigError(fileSetting, `names a file that cannot be read: ${path} (${code})`);
  }
  const value = text.trim();
  if (value === '') throw new ConfigError(fileSetting, `names an empty file: ${path}`);
  return { value, setting: fileSetting };
}

export function databaseUrl(env: Env, name: string): string {
  const { value: given, setting } = secretSetting(env, name);
  if (given === undefined)
    throw new ConfigError(
      name,
      `is not set (nor ${name}_FILE); expected a postgres:// URL, e.g. postgres://cti:cti@127.0.0.1:5432/cti`,
    );
  const value = given;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, 'is not a URL; expected postgres://user:password@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(setting, `must start with postgres:// (got ${url.protocol}//)`);
  }
  if (url.pathname.replace(/^\//, '') === '') throw new ConfigError(setting, 'names no database');
  return value;
}

export function list(env: Env, name: string, what: string): string[] {
  const items = required(env, name, what)
    .split(',')
    .map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(name, `has an empty entry; expected ${what}`);
  return [...new Set(items)];
}

/**
 * Webhook secrets published in this repository (infra/docker/compose.yaml's default): anyone can sign
 * with them. Refused unless the process is told it serves a local stack (review r22 F11).
 */
export const PUBLISHED_PLACEHOLDER_SECRETS: readonly string[] = ['local-dev-webhook-secret-change-me'];

/**
 * Comma-separated webhook secrets, from `name` or `name_FILE`; each ≥ 16 characters, and none of the
 * published placeholders unless `localStack` (CTI_INSECURE_LOCALHOST_COOKIES=1: compose, the demo).
 */
export function secrets(env: Env, name: string, { localStack = false } = {}): string[] {
  const { value, setting } = secretSetting(env, name);
  const what = 'one or more comma-separated webhook signing secrets';
  const values = list({ [setting]: value }, setting, what);
  const short = values.findIndex((s) => s.length < 16);
  if (short !== -1) {
    throw new ConfigError(
      setting,
      `entry ${short + 1} is shorter than 16 characters; use a long random secret`,
    );
  }
  const placeholder = values.findIndex((s) => PUBLISHED_PLACEHOLDER_SECRETS.includes(s));
  if (placeholder !== -1 && !localStack) {
    throw new ConfigError(
      setting,
      `entry ${placeholder + 1} is the placeholder published in infra/docker/compose.yaml: anyone could sign webhooks with it; set a long random secret (e.g. openssl rand -hex 32), or CTI_INSECURE_LOCALHOST_COOKIES=1 for a local stack`,
    );
  }
  return values;
}

export function buckets(env: Env, name: string): string[] {
  const values = list(env, name, 'one or more comma-separated S3 bucket names');
  const bad = values.find((b) => !isValidBucketName(b));
  if (bad !== undefined) throw new ConfigError(name, `has an invalid bucket name ${JSON.stringify(bad)}`);
  return values;
}

export function integer(
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

export function flag(env: Env, name: string): boolean {
  const value = optional(env, name);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new ConfigError(name, `must be 1/true or 0/false (got ${JSON.stringify(value)})`);
}

export function oneOf(env: Env, name: string, allowed: string[], fallback: string): string {
  const value = optional(env, name) ?? fallback;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  return value;
}
