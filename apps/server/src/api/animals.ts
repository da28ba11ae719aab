import {
  type AnimalInput,
  createAnimal,
  deleteAnimal,
  findAnimal,
  listAnimals,
  updateAnimal,
} from '../access/animal-queries.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import {
  createBody,
  cursorParam,
  dateTime,
  nullable,
  object,
  pageOf,
  patchBody,
  ref,
  shortText,
  uuid,
} from './common-schemas.ts';
import { decodeAnimalCursor, encodeCursor, keysetPage } from './list-cursor.ts';
import { notFound } from './request-validation.ts';

export const ANIMAL_SEXES = ['bull', 'steer', 'heifer', 'cow'];

export const animalSchema: JsonSchema = object({
  id: uuid,
  farm: object({ id: uuid, name: { type: 'string' } }),
  tag_id: { type: 'string' },
  eid: { type: ['string', 'null'] },
  breed: { type: ['string', 'null'] },
  sex: { type: ['string', 'null'] },
  birth_date: { type: ['string', 'null'], format: 'date' },
  created_at: nullable(dateTime),
  groups: { type: 'array', items: object({ id: uuid, name: { type: 'string' } }) },
  scan_count: { type: 'integer', description: 'Scans of this animal the caller may see.' },
  can_edit: { type: 'boolean' },
});

const fields: Record<string, JsonSchema> = {
  farm_id: uuid,
  tag_id: shortText(64),
  eid: {
    type: ['string', 'null'],
    pattern: '^[0-9]{15}$',
    'x-expected': 'a 15-digit ISO 11784 number, e.g. 982000123456789',
  },
  breed: { anyOf: [shortText(64), { type: 'null' }] },
  sex: { type: ['string', 'null'], enum: [...ANIMAL_SEXES, null] },
  birth_date: {
    type: ['string', 'null'],
    format: 'date',
    description: 'A day from 1950-01-01 to today (else 422 naming /birth_date).',
  },
};

/** The bodies of POST/PATCH /animals (the dashboard's forms are checked with the same schemas). */
export const animalCreateSchema = createBody(fields, ['farm_id', 'tag_id']);
export const animalPatchSchema = patchBody(fields);

type ListQuery = { farm_id?: string; group_id?: string; q?: string; limit?: number; cursor?: string };

/** The page size a list query may ask for; `default` is also the size without one. */
const PAGE_SIZE = { type: 'integer', minimum: 1, maximum: 500, default: 100 } as const;

/** /animals: read on visible farms; create/edit/delete by admins and the farm's technicians. */
export function animalRoutes({ sql }: ApiDeps): ApiRoute[] {
  return [
    route<ListQuery>({
      method: 'get',
      path: '/animals',
      tag: 'animals',
      summary: 'Animals the caller may see, by ear tag',
      access: 'user',
      query: {
        farm_id: { schema: uuid, description: 'Only this farm.' },
        group_id: { schema: uuid, description: 'Only members of this contemporary group.' },
        q: {
          schema: { type: 'string', minLength: 1, maxLength: 64 },
          description:
            'Ear tag prefix, in any case (`a-1` lists `A-101`), or an EID: its 15 digits, also as a reader prints them (`982 000123456789`, `LA 982000123456789 FDX-B`).',
        },
        limit: {
          schema: PAGE_SIZE,
          description: 'Page size (1–500, default 100).',
        },
        cursor: cursorParam,
      },
      responses: { 200: { description: 'A page of animals', schema: pageOf(ref('Animal')) } },
      async handler({ c, principal, query }) {
        const limit = query.limit ?? PAGE_SIZE.default;
        const after = query.cursor ? decodeAnimalCursor(query.cursor) : undefined;
        const rows = await listAnimals(sql, principal, { ...query, limit: limit + 1, after });
        return c.json(
          keysetPage(
            rows,
            limit,
            (last) => encodeCursor([last.tag_id, last.id]),
            (row) => row,
          ),
        );
      },
    }),
    route<Record<string, never>, AnimalInput & { farm_id: string; tag_id: string }>({
      method: 'post',
      path: '/animals',
      tag: 'animals',
      summary: 'Register an animal on a farm (tag_id unique per farm, EID unique everywhere)',
      access: 'user',
      body: animalCreateSchema,
      responses: { 201: { description: 'Created', schema: ref('Animal') } },
      async handler({ c, principal, body }) {
        const id = await createAnimal(sql, principal, body);
        return c.json(await findAnimal(sql, principal, id!), 201);
      },
    }),
    route({
      method: 'get',
      path: '/animals/{id}',
      tag: 'animals',
      summary: 'One animal with its groups',
      access: 'user',
      responses: { 200: { description: 'The animal', schema: ref('Animal') } },
      async handler({ c, principal, params }) {
        const animal = await findAnimal(sql, principal, params.id!);
        if (!animal) throw notFound('animal');
        return c.json(animal);
      },
    }),
    route<Record<string, never>, AnimalInput>({
      method: 'patch',
      path: '/animals/{id}',
      tag: 'animals',
      summary: 'Change an animal; moving it to another farm needs rights on both farms',
      access: 'user',
      body: animalPatchSchema,
      responses: { 200: { description: 'The animal', schema: ref('Animal') } },
      async handler({ c, principal, params, body }) {
        if (!(await updateAnimal(sql, principal, params.id!, body))) throw notFound('animal');
        return c.json(await findAnimal(sql, principal, params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/animals/{id}',
      tag: 'animals',
      summary: 'Delete an animal without scans',
      access: 'user',
      responses: { 204: { description: 'Deleted' } },
      async handler({ c, principal, params }) {
        if (!(await deleteAnimal(sql, principal, params.id!))) throw notFound('animal');
        return c.body(null, 204);
      },
    }),
  ];
}
