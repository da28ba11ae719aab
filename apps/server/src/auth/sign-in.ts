import type { Sql } from 'postgres';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { createDummyHash, hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import type { NewSession, SessionStore } from './session-store.ts';
import { accountKey, addressKey, type SignInThrottle } from './sign-in-throttle.ts';
import { normalizeEmail } from './user-accounts.ts';

export type SignInRequest = {
  email: string;
  password: string;
  address: string;
  userAgent: string | undefined;
};
export type SignIn = (request: SignInRequest) => Promise<{ userId: string; session: NewSession }>;

/** The one answer for a wrong password, an unknown email and a disabled account. */
export const invalidCredentials = () =>
  new HttpError(401, 'invalid_credentials', 'the email or the password is wrong');

export const tooManyAttempts = (seconds: number) =>
  new HttpError(429, 'too_many_attempts', `too many failed sign-ins; try again in ${seconds} s`, {
    headers: { 'Retry-After': String(seconds) },
  });

/**
 * Email + password sign-in. Locks are checked first (429 + Retry-After); an unknown or disabled
 * account is verified against a dummy hash of the same cost, and every failure is counted the same
 * way, so neither the answer nor its timing tells whether the account exists. A success rehashes a
 * password stored with older parameters and opens a NEW session (the caller ends the old one).
 */
export function createSignIn({
  sql,
  config,
  sessions,
  throttle,
}: {
  sql: Sql;
  config: AuthConfig;
  sessions: SessionStore;
  throttle: SignInThrottle;
}): SignIn {
  const dummyHash = createDummyHash(config.scrypt);
  return async ({ email, password, address, userAgent }) => {
    const keys = { account: accountKey(email), address: addressKey(address) };
    const locked = await throttle.lockedFor(keys);
    if (locked > 0) throw tooManyAttempts(locked);
    const [user] = await sql<{ id: string; password_hash: string | null }[]>`
      SELECT id, password_hash FROM users WHERE lower(email) = ${normalizeEmail(email)} AND status = 'active'`;
    const hash = user?.password_hash ?? (await dummyHash());
    const ok = (await verifyPassword(password, hash)) && user !== undefined && user.password_hash !== null;
    if (!ok || user === undefined) {
      await throttle.recordFailure(keys);
      throw invalidCredentials();
    }
    await throttle.clearAccount(keys);
    const rehash = needsRehash(hash, config.scrypt) ? await hashPassword(password, config.scrypt) : null;
    await sql`
      UPDATE users SET last_sign_in_at = now(), password_hash = coalesce(${rehash}, password_hash)
       WHERE id = ${user.id}`;
    return { userId: user.id, session: await sessions.create(user.id, { address, userAgent }) };
  };
}
