import {
  approveRegistration,
  findRegistration,
  listRegistrations,
  rejectRegistration,
} from '../access/registration-queries.ts';
import { clientAddress } from '../auth/client-address.ts';
import { type RegistrationInput, requestRegistration } from '../auth/registration.ts';
import type { RoleName } from '../auth/roles.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { dateTime, nullable, object, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';
import { emailSchema, passwordSchema } from './user-schemas.ts';

export const registrationSchema: JsonSchema = object({
  id: uuid,
  email: { type: 'string' },
  full_name: { type: 'string' },
  requested_role: { type: 'string', enum: ['farmer', 'technician'] },
  message: { type: ['string', 'null'] },
  status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
  created_at: nullable(dateTime),
  decided_at: nullable(dateTime),
  decided_by: nullable(uuid),
  decision_reason: { type: ['string', 'null'] },
  user_id: nullable(uuid),
});

const registrable = { type: 'string', enum: ['farmer', 'technician'] };

/** /registrations: anyone asks for an account; admins approve (the account is created) or reject. */
export function registrationRoutes({ sql, config }: ApiDeps): ApiRoute[] {
  const found = async (id: string) => {
    const r = await findRegistration(sql, id);
    if (!r) throw notFound('registration');
    return r;
  };
  return [
    route<Record<string, never>, RegistrationInput>({
      method: 'post',
      path: '/registrations',
      tag: 'registrations',
      summary: 'Ask for an account as farmer or technician (no sign-in); an admin decides',
      description:
        'The answer is the same whether or not the email already has an account or a pending request.',
      access: 'public',
      errors: [429],
      body: object(
        {
          email: emailSchema,
          full_name: shortText(200),
          requested_role: registrable,
          password: passwordSchema,
          message: { type: ['string', 'null'], maxLength: 1000 },
        },
        { optional: ['message'] },
      ),
      responses: {
        202: {
          description: 'Received',
          schema: object({ status: { const: 'received' }, message: { type: 'string' } }),
        },
      },
      async handler({ c, body }) {
        await requestRegistration(sql, config.auth, body, {
          address: clientAddress(c, config.auth.trustProxyHops),
        });
        return c.json({ status: 'received', message: 'An administrator will review the request.' }, 202);
      },
    }),
    route<{ status?: string }>({
      method: 'get',
      path: '/registrations',
      tag: 'registrations',
      summary: 'Registration requests, newest first (admin)',
      access: 'admin',
      query: {
        status: {
          schema: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
          description: 'Only this status.',
        },
      },
      responses: {
        200: {
          description: 'Requests',
          schema: object({ items: { type: 'array', items: ref('Registration') } }),
        },
      },
      async handler({ c, query }) {
        return c.json({ items: await listRegistrations(sql, query.status) });
      },
    }),
    route<Record<string, never>, { role?: RoleName; farms?: { farm_id: string; is_owner?: boolean }[] }>({
      method: 'post',
      path: '/registrations/{id}/approve',
      tag: 'registrations',
      summary:
        'Approve: the account is created with the requested role (or farmer/technician as chosen) and farms',
      description:
        'The farms are linked in the account’s role: a technician’s links give read and write, a farmer’s ' +
        'read only (`is_owner` only for a farmer).',
      access: 'admin',
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          role: registrable,
          farms: {
            type: 'array',
            maxItems: 100,
            items: object({ farm_id: uuid, is_owner: { type: 'boolean' } }, { optional: ['is_owner'] }),
          },
        },
      },
      responses: { 200: { description: 'The decided request', schema: ref('Registration') } },
      async handler({ c, principal, params, body }) {
        if (!(await approveRegistration(sql, principal.userId, params.id!, body)))
          throw notFound('registration');
        return c.json(await found(params.id!));
      },
    }),
    route<Record<string, never>, { reason: string }>({
      method: 'post',
      path: '/registrations/{id}/reject',
      tag: 'registrations',
      summary: 'Reject with a reason',
      access: 'admin',
      body: object({ reason: { type: 'string', minLength: 1, maxLength: 1000, pattern: '\\S' } }),
      responses: { 200: { description: 'The decided request', schema: ref('Registration') } },
      async handler({ c, principal, params, body }) {
        if (!(await rejectRegistration(sql, principal.userId, params.id!, body.reason)))
          throw notFound('registration');
        return c.json(await found(params.id!));
      },
    }),
  ];
}
