import type { Context, MiddlewareHandler } from 'hono';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { type AuthVariables, isAdmin, type Principal } from './principal.ts';
import { readSessionCookie } from './session-cookie.ts';
import type { SessionStore } from './session-store.ts';
import { isSessionTokenShape } from './session-token.ts';

type Env = { Variables: AuthVariables };

/** Methods that change nothing (RFC 9110 safe methods). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Reads the session cookie and sets `principal` (undefined when anonymous or the session is over).
 * After a request that may have written (any other method), the principals cached in this process are
 * forgotten, so a sign-out, a disabled account or a role change holds for the very next request here.
 */
export function loadPrincipal({
  sessions,
  config,
}: {
  sessions: SessionStore;
  config: AuthConfig;
}): MiddlewareHandler<Env> {
  return async (c, next) => {
    const token = readSessionCookie(c, config);
    c.set('principal', isSessionTokenShape(token) ? await sessions.find(token) : undefined);
    if (SAFE_METHODS.has(c.req.method)) return next();
    try {
      await next();
    } finally {
      sessions.forgetCached();
    }
  };
}

export const unauthenticated = () =>
  new HttpError(401, 'unauthenticated', 'sign in first (POST /api/v1/session or /sign-in)');

export const forbidden = (message = 'your role does not allow this') =>
  new HttpError(403, 'forbidden', message);

/** The signed-in principal, or a 401. */
export function requirePrincipal(c: Context<Env>): Principal {
  const principal = c.get('principal');
  if (principal === undefined) throw unauthenticated();
  return principal;
}

/** The signed-in admin, or 401 (anonymous) / 403 (another role). */
export function requireAdmin(c: Context<Env>): Principal {
  const principal = requirePrincipal(c);
  if (!isAdmin(principal)) throw forbidden('only admins may do this');
  return principal;
}
