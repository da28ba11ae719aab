import type { Context } from 'hono';
import type { AuthConfig } from '../config.ts';
import type { AuthVariables } from './principal.ts';
import { clearSessionCookie, writeSessionCookie } from './session-cookie.ts';
import type { NewSession, SessionStore } from './session-store.ts';

/**
 * Rotation: whenever a session starts (sign-in, password change) the request's previous session, if
 * any, is deleted and the cookie replaced — a token planted before sign-in (session fixation) or seen
 * before a password change is worthless afterwards.
 */
export async function replaceSession(
  c: Context<{ Variables: AuthVariables }>,
  { sessions, config }: { sessions: SessionStore; config: AuthConfig },
  session: NewSession,
): Promise<void> {
  const previous = c.get('principal');
  if (previous !== undefined) await sessions.end(previous.sessionHash);
  writeSessionCookie(c, config, session);
}

/** Sign-out: the session row is deleted (the token is dead everywhere at once) and the cookie cleared. */
export async function endSession(
  c: Context<{ Variables: AuthVariables }>,
  { sessions, config }: { sessions: SessionStore; config: AuthConfig },
): Promise<void> {
  const principal = c.get('principal');
  if (principal !== undefined) await sessions.end(principal.sessionHash);
  clearSessionCookie(c, config);
}
