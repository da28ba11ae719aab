import {
  addGroupAnimal,
  createGroup,
  deleteGroup,
  findGroup,
  type GroupInput,
  listGroups,
  removeGroupAnimal,
  updateGroup,
} from '../access/group-queries.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { createBody, object, patchBody, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

const date = { type: ['string', 'null'], format: 'date' };

export const groupSchema: JsonSchema = object({
  id: uuid,
  farm: object({ id: uuid, name: { type: 'string' } }),
  name: { type: 'string' },
  birth_date_from: date,
  birth_date_to: date,
  animals: {
    type: 'array',
    items: object({
      id: uuid,
      tag_id: { type: 'string' },
      eid: { type: ['string', 'null'] },
      sex: { type: ['string', 'null'] },
      birth_date: date,
      outside_window: {
        type: 'boolean',
        description:
          "Born outside the group's window: recorded before the window was enforced. Correct the birth date or remove the animal from the group; it does not block other edits.",
      },
    }),
  },
  can_edit: { type: 'boolean' },
});

const fields = { name: shortText(100), birth_date_from: date, birth_date_to: date };

/** The bodies of POST/PATCH /groups (the dashboard's forms are checked with the same schemas). */
export const groupCreateSchema = createBody({ farm_id: uuid, ...fields }, ['farm_id', 'name']);
export const groupPatchSchema = patchBody(fields);

/** /groups: contemporary groups — a named group of a farm's animals born within a window. */
export function groupRoutes({ sql }: ApiDeps): ApiRoute[] {
  const found = async (principal: Parameters<typeof findGroup>[1], id: string) => {
    const g = await findGroup(sql, principal, id);
    if (!g) throw notFound('group');
    return g;
  };
  return [
    route<{ farm_id?: string }>({
      method: 'get',
      path: '/groups',
      tag: 'groups',
      summary: 'Contemporary groups the caller may see',
      access: 'user',
      query: { farm_id: { schema: uuid, description: 'Only this farm.' } },
      responses: {
        200: { description: 'Groups', schema: object({ items: { type: 'array', items: ref('Group') } }) },
      },
      async handler({ c, principal, query }) {
        return c.json({ items: await listGroups(sql, principal, query.farm_id) });
      },
    }),
    route<Record<string, never>, GroupInput & { farm_id: string; name: string }>({
      method: 'post',
      path: '/groups',
      tag: 'groups',
      summary: 'Create a group on a farm (admin, technician of the farm)',
      access: 'user',
      body: groupCreateSchema,
      responses: { 201: { description: 'Created', schema: ref('Group') } },
      async handler({ c, principal, body }) {
        const id = await createGroup(sql, principal, body);
        return c.json(await found(principal, id!), 201);
      },
    }),
    route({
      method: 'get',
      path: '/groups/{id}',
      tag: 'groups',
      summary: 'One group with its animals',
      access: 'user',
      responses: { 200: { description: 'The group', schema: ref('Group') } },
      async handler({ c, principal, params }) {
        return c.json(await found(principal, params.id!));
      },
    }),
    route<Record<string, never>, GroupInput>({
      method: 'patch',
      path: '/groups/{id}',
      tag: 'groups',
      summary: 'Rename a group or change its birth-date window',
      access: 'user',
      body: groupPatchSchema,
      responses: { 200: { description: 'The group', schema: ref('Group') } },
      async handler({ c, principal, params, body }) {
        if (!(await updateGroup(sql, principal, params.id!, body))) throw notFound('group');
        return c.json(await found(principal, params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/groups/{id}',
      tag: 'groups',
      summary: 'Delete a group (its animals stay)',
      access: 'user',
      responses: { 204: { description: 'Deleted' } },
      async handler({ c, principal, params }) {
        if (!(await deleteGroup(sql, principal, params.id!))) throw notFound('group');
        return c.body(null, 204);
      },
    }),
    route({
      method: 'put',
      path: '/groups/{id}/animals/{animalId}',
      tag: 'groups',
      summary: "Add an animal of the group's farm, born within the window",
      access: 'user',
      responses: { 200: { description: 'The group', schema: ref('Group') } },
      async handler({ c, principal, params }) {
        if (!(await addGroupAnimal(sql, principal, params.id!, params.animalId!))) throw notFound('group');
        return c.json(await found(principal, params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/groups/{id}/animals/{animalId}',
      tag: 'groups',
      summary: 'Remove an animal from a group',
      access: 'user',
      responses: { 204: { description: 'Removed' } },
      async handler({ c, principal, params }) {
        if (!(await removeGroupAnimal(sql, principal, params.id!, params.animalId!)))
          throw notFound('group member');
        return c.body(null, 204);
      },
    }),
  ];
}
