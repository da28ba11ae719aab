import { addMember, listMembers, removeMember, setOwner } from '../access/membership-queries.ts';
import { HttpError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { object, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';
import { emailSchema } from './user-schemas.ts';

const memberSchema = object({
  user_id: uuid,
  email: { type: 'string' },
  full_name: { type: ['string', 'null'] },
  roles: { type: 'array', items: { type: 'string' } },
  is_owner: { type: 'boolean' },
});
const members = object({ items: { type: 'array', items: memberSchema } });

/** /farms/{id}/members: who is linked to a farm; admins and the farm's owners manage it. */
export function farmMemberRoutes({ sql }: ApiDeps): ApiRoute[] {
  const list = async (principal: Parameters<typeof listMembers>[1], farmId: string) => {
    const rows = await listMembers(sql, principal, farmId);
    if (!rows) throw notFound('farm');
    return { items: rows };
  };
  return [
    route({
      method: 'get',
      path: '/farms/{id}/members',
      tag: 'farm members',
      summary: "A farm's farmers and technicians (who owns it)",
      access: 'user',
      responses: { 200: { description: 'Members', schema: members } },
      async handler({ c, principal, params }) {
        return c.json(await list(principal, params.id!));
      },
    }),
    route<Record<string, never>, { user_id?: string; email?: string; is_owner?: boolean }>({
      method: 'post',
      path: '/farms/{id}/members',
      tag: 'farm members',
      summary:
        'Link a user to a farm: admins any farmer/technician (owners too); a farm owner adds technicians',
      access: 'user',
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: { user_id: uuid, email: emailSchema, is_owner: { type: 'boolean' } },
      },
      responses: { 200: { description: 'Members after the change', schema: members } },
      async handler({ c, principal, params, body }) {
        if ((body.user_id === undefined) === (body.email === undefined)) {
          throw new HttpError(422, 'invalid_request', 'name the user by user_id or by email (one of them)', {
            problems: [{ pointer: '/user_id', message: 'give exactly one of user_id and email' }],
          });
        }
        const done = await addMember(sql, principal, params.id!, {
          userId: body.user_id,
          email: body.email,
          isOwner: body.is_owner,
        });
        if (!done) throw notFound('farm');
        return c.json(await list(principal, params.id!));
      },
    }),
    route<Record<string, never>, { is_owner: boolean }>({
      method: 'patch',
      path: '/farms/{id}/members/{userId}',
      tag: 'farm members',
      summary: 'Make a member owner or not (admin); never the last active owner',
      access: 'user',
      body: object({ is_owner: { type: 'boolean' } }),
      responses: { 200: { description: 'Members after the change', schema: members } },
      async handler({ c, principal, params, body }) {
        if (!(await setOwner(sql, principal, params.id!, params.userId!, body.is_owner)))
          throw notFound('member');
        return c.json(await list(principal, params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/farms/{id}/members/{userId}',
      tag: 'farm members',
      summary: 'Unlink a user from a farm: admins anyone, owners technicians; never the last active owner',
      access: 'user',
      responses: { 204: { description: 'Removed' } },
      async handler({ c, principal, params }) {
        if (!(await removeMember(sql, principal, params.id!, params.userId!))) throw notFound('member');
        return c.body(null, 204);
      },
    }),
  ];
}
