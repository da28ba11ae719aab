import type { LinkRole } from '../access/farm-links.ts';
import { addMember, listMembers, removeMember, setOwner } from '../access/membership-queries.ts';
import { HttpError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { object, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';
import { emailSchema, linkRoleSchema } from './user-schemas.ts';

const memberSchema = object({
  user_id: uuid,
  email: { type: 'string' },
  full_name: { type: ['string', 'null'] },
  roles: { type: 'array', items: { type: 'string' } },
  is_owner: { type: 'boolean' },
  linked_as: {
    type: 'array',
    items: linkRoleSchema,
    minItems: 1,
    uniqueItems: true,
    description:
      'The roles the user is linked to this farm in; a user holding both roles may be linked in both.',
  },
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
    route<
      Record<string, never>,
      { user_id?: string; email?: string; is_owner?: boolean; linked_as?: LinkRole }
    >({
      method: 'post',
      path: '/farms/{id}/members',
      tag: 'farm members',
      summary:
        'Link a user to a farm in one role: admins any farmer/technician (owners too); a farm owner adds technicians',
      description:
        '`linked_as` is the role the link is made in: farmer (read-only; `is_owner` only here) or technician ' +
        '(read and write). Admins: it defaults to the user’s role, farmer for an owner; a user holding both ' +
        'roles needs it (422 naming `/linked_as` without it). Farm owners link technicians only, as technician. ' +
        'Linking a user in a second role adds a second link; `is_owner` is set on the farmer link.',
      access: 'user',
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          user_id: uuid,
          email: emailSchema,
          is_owner: { type: 'boolean' },
          linked_as: linkRoleSchema,
        },
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
          linkedAs: body.linked_as,
        });
        if (!done) throw notFound('farm');
        return c.json(await list(principal, params.id!));
      },
    }),
    route<Record<string, never>, { is_owner: boolean }>({
      method: 'patch',
      path: '/farms/{id}/members/{userId}',
      tag: 'farm members',
      summary: 'Make a member owner or not (admin; on their farmer link); never the last active owner',
      access: 'user',
      body: object({ is_owner: { type: 'boolean' } }),
      responses: { 200: { description: 'Members after the change', schema: members } },
      async handler({ c, principal, params, body }) {
        if (!(await setOwner(sql, principal, params.id!, params.userId!, body.is_owner)))
          throw notFound('member');
        return c.json(await list(principal, params.id!));
      },
    }),
    route<{ linked_as?: LinkRole }>({
      method: 'delete',
      path: '/farms/{id}/members/{userId}',
      tag: 'farm members',
      summary: 'Unlink a user from a farm: admins anyone, owners technicians; never the last active owner',
      access: 'user',
      query: {
        linked_as: {
          schema: linkRoleSchema,
          description:
            'Remove only the link made in this role (404 when there is none). Without it: every link of ' +
            'the user to the farm (admins), the technician link (farm owners).',
        },
      },
      responses: { 204: { description: 'Removed' } },
      async handler({ c, principal, params, query }) {
        const done = await removeMember(sql, principal, params.id!, params.userId!, query.linked_as);
        if (!done) throw notFound('member');
        return c.body(null, 204);
      },
    }),
  ];
}
