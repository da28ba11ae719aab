import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AuthConfig } from '../config.ts';
import type { NewSession } from './session-store.ts';

/** Cookie name; with `Secure` it carries the `__Host-` prefix (no Domain, Path=/, HTTPS only). */
export const SESSION_COOKIE = 'cti_session';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `Secure` is dropped only when CTI_INSECURE_LOCALHOST_COOKIES=1 AND this request is plain HTTP to
 * localhost (a developer's machine, the demo): a request for any other host gets a Secure cookie.
 */
export function cookieIsSecure(c: Context, config: AuthConfig): boolean {
  if (!config.insecureLocalhostCookies) return true;
  const url = new URL(c.req.url);
  return !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
}

export function readSessionCookie(c: Context, config: AuthConfig): string | undefined {
  return cookieIsSecure(c, config) ? getCookie(c, SESSION_COOKIE, 'host') : getCookie(c, SESSION_COOKIE);
}

/** HttpOnly (page scripts never see it), SameSite=Lax, lives as long as the session's absolute limit. */
export function writeSessionCookie(c: Context, config: AuthConfig, session: NewSession): void {
  const maxAge = Math.max(0, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000));
  const options = { httpOnly: true, sameSite: 'Lax', path: '/', maxAge } as const;
  if (cookieIsSecure(c, config)) setCookie(c, SESSION_COOKIE, session.token, { ...options, prefix: 'host' });
  else setCookie(c, SESSION_COOKIE, session.token, options);
}

export function clearSessionCookie(c: Context, config: AuthConfig): void {
  if (cookieIsSecure(c, config))
    deleteCookie(c, SESSION_COOKIE, { prefix: 'host', httpOnly: true, sameSite: 'Lax', path: '/' });
  else deleteCookie(c, SESSION_COOKIE, { httpOnly: true, sameSite: 'Lax', path: '/' });
}
