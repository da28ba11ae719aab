import { clientAddress } from '../auth/client-address.ts';
import { loadCurrentUser } from '../auth/current-user.ts';
import { changePassword } from '../auth/password-change.ts';
import { replaceSession } from '../auth/session-start.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { object, ref, shortText } from './common-schemas.ts';
import { passwordSchema } from './user-schemas.ts';

/** /me: the signed-in user's own profile and password (every role). */
export function meRoutes(deps: ApiDeps): ApiRoute[] {
  const { sql, config, sessions } = deps;
  return [
    route({
      method: 'get',
      path: '/me',
      tag: 'me',
      summary: 'The signed-in user: email, name, roles, farms',
      access: 'user',
      responses: { 200: { description: 'The user', schema: ref('CurrentUser') } },
      async handler({ c, principal }) {
        return c.json(await loadCurrentUser(sql, principal));
      },
    }),
    route<Record<string, never>, { full_name: string }>({
      method: 'patch',
      path: '/me',
      tag: 'me',
      summary: 'Change your own name',
      access: 'user',
      body: object({ full_name: shortText(200) }),
      responses: { 200: { description: 'The user', schema: ref('CurrentUser') } },
      async handler({ c, principal, body }) {
        await sql`UPDATE users SET full_name = ${body.full_name.trim()}, updated_at = now() WHERE id = ${principal.userId}`;
        return c.json(await loadCurrentUser(sql, { ...principal, fullName: body.full_name.trim() }));
      },
    }),
    route<Record<string, never>, { current_password: string; new_password: string }>({
      method: 'post',
      path: '/me/password',
      tag: 'me',
      summary: 'Change your password: every session ends, this one is replaced by a new one',
      access: 'user',
      errors: [429],
      body: object({ current_password: passwordSchema, new_password: passwordSchema }),
      responses: { 200: { description: 'Changed', schema: object({ csrf_token: { type: 'string' } }) } },
      async handler({ c, principal, body }) {
        const session = await changePassword(
          { sql, config: config.auth, sessions, throttle: deps.throttle },
          principal,
          {
            current: body.current_password,
            next: body.new_password,
            address: clientAddress(c, config.auth.trustProxyHops),
            userAgent: c.req.header('user-agent'),
          },
        );
        // changePassword already ended every session of this user, the current one included.
        c.set('principal', undefined);
        await replaceSession(c, { sessions, config: config.auth }, session);
        return c.json({ csrf_token: session.csrfToken });
      },
    }),
  ];
}
