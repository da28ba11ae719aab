import type { Sql } from 'postgres';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';
import { checkPasswordPolicy } from './password-policy.ts';
import type { Principal } from './principal.ts';
import type { NewSession, SessionStore } from './session-store.ts';
import { tooManyAttempts } from './sign-in.ts';
import { accountKey, addressKey, type SignInThrottle } from './sign-in-throttle.ts';

/**
 * A signed-in user changes their password: the current one must be right (failures count towards the
 * account's sign-in lockout), the new one must pass the policy. Every session of the user ends; a new
 * one is returned for the caller to set (replaceSession).
 */
export async function changePassword(
  {
    sql,
    config,
    sessions,
    throttle,
  }: { sql: Sql; config: AuthConfig; sessions: SessionStore; throttle: SignInThrottle },
  principal: Principal,
  {
    current,
    next,
    address,
    userAgent,
  }: { current: string; next: string; address: string; userAgent: string | undefined },
): Promise<NewSession> {
  const keys = { account: accountKey(principal.email), address: addressKey(address) };
  const locked = await throttle.lockedFor(keys);
  if (locked > 0) throw tooManyAttempts(locked);
  const [user] = await sql<
    { password_hash: string | null }[]
  >`SELECT password_hash FROM users WHERE id = ${principal.userId}`;
  if (!(await verifyPassword(current, user?.password_hash))) {
    await throttle.recordFailure(keys);
    throw new HttpError(422, 'invalid_request', 'the current password is wrong', {
      problems: [{ pointer: '/current_password', message: 'is wrong' }],
    });
  }
  const problems = checkPasswordPolicy(next, principal.email, '/new_password');
  if (current === next)
    problems.push({ pointer: '/new_password', message: 'must differ from the current password' });
  if (problems.length > 0) {
    throw new HttpError(422, 'invalid_request', 'the new password does not meet the policy', { problems });
  }
  const hash = await hashPassword(next, config.scrypt);
  await sql`UPDATE users SET password_hash = ${hash}, password_changed_at = now(), updated_at = now() WHERE id = ${principal.userId}`;
  await sessions.endAllFor(principal.userId);
  return sessions.create(principal.userId, { address, userAgent });
}
