import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ConfigError, type Env, secretSetting } from '../config-parsers.ts';

/** The shortest CTI_METRICS_TOKEN taken: a scrape credential, not a password a person types. */
export const METRICS_TOKEN_MIN_LENGTH = 24;

/**
 * `CTI_METRICS_TOKEN`: when set, GET /metrics (server and worker) answers only a scrape with
 * `Authorization: Bearer <token>`; unset, /metrics is open and must be kept off public networks
 * (it names devices and agent versions). Also read from the file CTI_METRICS_TOKEN_FILE names (a
 * mounted secret). Throws ConfigError for a token too short to be a secret.
 */
export function metricsToken(env: Env): string | undefined {
  const { value: token, setting } = secretSetting(env, 'CTI_METRICS_TOKEN');
  if (token !== undefined && token.length < METRICS_TOKEN_MIN_LENGTH) {
    throw new ConfigError(
      setting,
      `must be at least ${METRICS_TOKEN_MIN_LENGTH} characters (e.g. openssl rand -hex 24), got ${token.length}`,
    );
  }
  return token;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Refuses a request without the bearer `token` (401 with `WWW-Authenticate: Bearer`); passes every
 * request when `token` is undefined. Compared in constant time (of the digests: no length leak).
 *
 * @example app.get('/metrics', requireBearer(config.metricsToken), handler);
 */
export function requireBearer(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (c, next) => {
    if (expected === undefined) return next();
    const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="metrics"');
      return c.json(
        { error: 'unauthorized', message: 'metrics need Authorization: Bearer <CTI_METRICS_TOKEN>' },
        401,
      );
    }
    return next();
  };
}
