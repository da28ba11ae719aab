import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random 256-bit session token (base64url, 43 characters): only its hash is ever stored. */
export const newSessionToken = (): string => randomBytes(32).toString('base64url');

/** A new per-session CSRF token (192 bits). */
export const newCsrfToken = (): string => randomBytes(24).toString('base64url');

export const hashSessionToken = (token: string): Buffer => createHash('sha256').update(token).digest();

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A well-formed token: 43 base64url characters. Anything else is not looked up at all. */
export const isSessionTokenShape = (value: string | undefined): value is string =>
  value !== undefined && value.length === 43 && TOKEN_SHAPE.test(value);

/** Constant-time string comparison (CSRF tokens). */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
