import type { Sql, TransactionSql } from 'postgres';
import {
  findUser,
  listUsers,
  logUnlinked,
  operatorCodeConflict,
  updateUser,
} from '../access/user-queries.ts';
import { hashPassword } from '../auth/password-hash.ts';
import { checkPasswordPolicy } from '../auth/password-policy.ts';
import type { RoleName } from '../auth/roles.ts';
import { createUser } from '../auth/user-accounts.ts';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { object, patchBody, ref, shortText } from './common-schemas.ts';
import { notFound } from './request-validation.ts';
import { emailSchema, passwordSchema, roleSchema } from './user-schemas.ts';

const roles = { type: 'array', items: roleSchema, minItems: 1, uniqueItems: true };
const operatorCode = { anyOf: [shortText(64), { type: 'null' }] };

/** The bodies of POST/PATCH /users (the dashboard's forms are checked with the same schemas). */
export const userCreateSchema = object(
  {
    email: emailSchema,
    full_name: shortText(200),
    roles,
    password: passwordSchema,
    operator_code: operatorCode,
  },
  { optional: ['operator_code'] },
);
export const userPatchSchema = patchBody({
  full_name: shortText(200),
  roles,
  status: { type: 'string', enum: ['active', 'disabled'] },
  operator_code: operatorCode,
});

export type NewUserBody = {
  email: string;
  full_name: string;
  roles: RoleName[];
  password: string;
  operator_code?: string | null;
};

function policy(password: string, email: string, pointer = '/password') {
  const problems = checkPasswordPolicy(password, email, pointer);
  if (problems.length > 0)
    throw new HttpError(422, 'invalid_request', 'the password does not meet the policy', { problems });
}

/** An account made by an admin (API and dashboard): the policy, the hash, roles, an operator code. */
/**
 * The user, its roles and its operator code in one transaction (a taken operator code leaves no account
 * behind). `begin` runs the insert: a plain transaction, or the dashboard's once-per-form claim.
 */
export async function createUserAccount(
  sql: Sql,
  config: AuthConfig,
  body: NewUserBody,
  begin: (insert: (tx: TransactionSql) => Promise<string>) => Promise<string> = (insert) => sql.begin(insert),
): Promise<string> {
  policy(body.password, body.email);
  const passwordHash = await hashPassword(body.password, config.scrypt);
  return begin(async (tx) => {
    const id = await createUser(tx, {
      email: body.email,
      fullName: body.full_name.trim(),
      roles: body.roles,
      passwordHash,
    });
    if (body.operator_code) {
      await tx`UPDATE users SET operator_code = ${body.operator_code} WHERE id = ${id}`.catch(
        operatorCodeConflict,
      );
    }
    return id;
  });
}

/** An admin sets a new password for `user`: the policy, the hash, and every session of theirs ends. */
export async function resetUserPassword(
  { sql, config, sessions }: Pick<ApiDeps, 'sql' | 'config' | 'sessions'>,
  user: { id: string; email: string },
  password: string,
): Promise<void> {
  policy(password, user.email);
  const hash = await hashPassword(password, config.auth.scrypt);
  await sql`UPDATE users SET password_hash = ${hash}, password_changed_at = now(), updated_at = now() WHERE id = ${user.id}`;
  await sessions.endAllFor(user.id);
}

/** /users: account administration (admins only). */
export function userRoutes({ sql, config, sessions, log }: ApiDeps): ApiRoute[] {
  const found = async (id: string) => {
    const u = await findUser(sql, id);
    if (!u) throw notFound('user');
    return u;
  };
  return [
    route<{ role?: string; status?: string; q?: string }>({
      method: 'get',
      path: '/users',
      tag: 'users',
      summary: 'Every user (admin)',
      access: 'admin',
      query: {
        role: { schema: roleSchema, description: 'Only users with this role.' },
        status: {
          schema: { type: 'string', enum: ['active', 'disabled'] },
          description: 'Only this status.',
        },
        q: {
          schema: { type: 'string', minLength: 1, maxLength: 100 },
          description: 'Part of the email or name.',
        },
      },
      responses: {
        200: { description: 'Users', schema: object({ items: { type: 'array', items: ref('User') } }) },
      },
      async handler({ c, query }) {
        return c.json({ items: await listUsers(sql, query) });
      },
    }),
    route<Record<string, never>, NewUserBody>({
      method: 'post',
      path: '/users',
      tag: 'users',
      summary: 'Create a user with roles and an initial password (admin)',
      access: 'admin',
      body: userCreateSchema,
      responses: { 201: { description: 'Created', schema: ref('User') } },
      async handler({ c, body }) {
        const id = await createUserAccount(sql, config.auth, body);
        return c.json(await found(id), 201);
      },
    }),
    route({
      method: 'get',
      path: '/users/{id}',
      tag: 'users',
      summary: 'One user (admin)',
      access: 'admin',
      responses: { 200: { description: 'The user', schema: ref('User') } },
      async handler({ c, params }) {
        return c.json(await found(params.id!));
      },
    }),
    route<
      Record<string, never>,
      {
        full_name?: string;
        roles?: RoleName[];
        status?: 'active' | 'disabled';
        operator_code?: string | null;
      }
    >({
      method: 'patch',
      path: '/users/{id}',
      tag: 'users',
      summary:
        'Name, roles, status (disabling signs them out), operator code (admin); never the last admin; ' +
        "never a farm's only active owner: disabling or taking the farmer role is 409 last_owner",
      access: 'admin',
      body: userPatchSchema,
      responses: { 200: { description: 'The user', schema: ref('User') } },
      async handler({ c, params, body }) {
        const done = await updateUser(sql, params.id!, body);
        if (!done) throw notFound('user');
        logUnlinked(log, params.id!, done.unlinkedFarms);
        return c.json(await found(params.id!));
      },
    }),
    route<Record<string, never>, { password: string }>({
      method: 'post',
      path: '/users/{id}/password',
      tag: 'users',
      summary: "Reset a user's password (admin); every session of that user ends",
      access: 'admin',
      body: object({ password: passwordSchema }),
      responses: { 200: { description: 'The user', schema: ref('User') } },
      async handler({ c, params, body }) {
        const user = await found(params.id!);
        await resetUserPassword({ sql, config, sessions }, user, body.password);
        return c.json(user);
      },
    }),
  ];
}
