import { clientAddress } from '../auth/client-address.ts';
import { loadCurrentUser } from '../auth/current-user.ts';
import { endSession, replaceSession } from '../auth/session-start.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { object, ref } from './common-schemas.ts';
import { passwordSchema } from './user-schemas.ts';

/** /session: sign in (sets the HttpOnly cookie), who am I + CSRF token, sign out. */
export function sessionRoutes(deps: ApiDeps): ApiRoute[] {
  const { sql, config, sessions, signIn } = deps;
  const auth = { sessions, config: config.auth };
  return [
    route<Record<string, never>, { email: string; password: string }>({
      method: 'post',
      path: '/session',
      tag: 'session',
      summary: 'Sign in with email and password; sets the session cookie and returns the CSRF token',
      description:
        'A wrong password, an unknown email and a disabled account all answer 401 invalid_credentials in the same time. ' +
        'Too many failures for one email or from one address lock it for a while: 429 with Retry-After.',
      access: 'public',
      errors: [401, 429],
      body: object({ email: { type: 'string', minLength: 1, maxLength: 320 }, password: passwordSchema }),
      responses: { 200: { description: 'Signed in', schema: ref('Session') } },
      async handler({ c, body }) {
        const { userId, session } = await signIn({
          email: body.email,
          password: body.password,
          address: clientAddress(c, config.auth.trustProxyHops),
          userAgent: c.req.header('user-agent'),
        });
        await replaceSession(c, auth, session);
        const principal = await sessions.find(session.token);
        if (principal === undefined || principal.userId !== userId) throw new Error('new session not found');
        return c.json({ user: await loadCurrentUser(sql, principal), csrf_token: session.csrfToken });
      },
    }),
    route({
      method: 'get',
      path: '/session',
      tag: 'session',
      summary: 'The signed-in user and the CSRF token of this session',
      access: 'user',
      responses: { 200: { description: 'The session', schema: ref('Session') } },
      async handler({ c, principal }) {
        return c.json({ user: await loadCurrentUser(sql, principal), csrf_token: principal.csrfToken });
      },
    }),
    route({
      method: 'delete',
      path: '/session',
      tag: 'session',
      summary: 'Sign out: the session ends on the server at once and the cookie is cleared',
      access: 'user',
      responses: { 204: { description: 'Signed out' } },
      async handler({ c }) {
        await endSession(c, auth);
        return c.body(null, 204);
      },
    }),
  ];
}
