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

export function databaseUrl(env: Env, name: string): string {
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

export function list(env: Env, name: string, what: string): string[] {
  const items = required(env, name, what)
    .split(',')
    .map((s) => s.trim());
  if (items.some((s) => s === '')) throw new ConfigError(name, `has an empty entry; expected ${what}`);
  return [...new Set(items)];
}

export function secrets(env: Env, name: string): string[] {
  const values = list(env, name, 'one or more comma-separated webhook signing secrets');
  const short = values.findIndex((s) => s.length < 16);
  if (short !== -1) {
    throw new ConfigError(name, `entry ${short + 1} is shorter than 16 characters; use a long random secret`);
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
