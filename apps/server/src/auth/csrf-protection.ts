import type { MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import type { AuthVariables } from './principal.ts';
import { sameToken } from './session-token.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export const csrfFailed = (message: string) => new HttpError(403, 'csrf_failed', message);

/**
 * Layer 1, every unsafe request a browser can send cross-site without a preflight (form posts):
 * hono/csrf accepts it only when `Sec-Fetch-Site: same-origin` or `Origin` is our origin
 * (CTI_PUBLIC_ORIGIN behind a proxy, else the request's own). Refusals become our JSON 403.
 */
export function originCheck(config: AuthConfig): MiddlewareHandler {
  const check = csrf({
    origin: config.publicOrigin ? [config.publicOrigin] : undefined,
    secFetchSite: 'same-origin',
  });
  return async (c, next) => {
    try {
      await check(c, next);
    } catch (err) {
      if (err instanceof HTTPException && err.status === 403) {
        throw csrfFailed('cross-site form submission refused (Origin / Sec-Fetch-Site)');
      }
      throw err;
    }
  };
}

/**
 * Layer 2, every unsafe API call made with a session cookie: the X-CSRF-Token header must equal the
 * session's token (pages put it in a meta tag; it is also in GET /api/v1/session). A cross-site
 * attacker can make the browser send the cookie but cannot read the token.
 */
export function requireCsrfHeader(): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (principal !== undefined && !SAFE_METHODS.has(c.req.method)) {
      if (!sameToken(c.req.header(CSRF_HEADER), principal.csrfToken)) {
        throw csrfFailed(`missing or wrong ${CSRF_HEADER} header for this session`);
      }
    }
    await next();
  };
}

/** Form posts of signed-in pages carry the token as the hidden field `_csrf`. */
export function checkCsrfField(value: unknown, expected: string): void {
  if (!sameToken(typeof value === 'string' ? value : undefined, expected)) {
    throw csrfFailed('the form is stale or was not sent by this site; reload the page and try again');
  }
}
