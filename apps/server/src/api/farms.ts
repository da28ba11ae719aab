import {
  createFarm,
  deleteFarm,
  type FarmInput,
  findFarm,
  listFarms,
  updateFarm,
} from '../access/farm-queries.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { dateTime, nullable, object, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

export const farmSchema: JsonSchema = object({
  id: uuid,
  name: { type: 'string' },
  geofence: nullable({ type: 'object' }),
  centroid: nullable(object({ lat: { type: 'number' }, lon: { type: 'number' } })),
  created_at: nullable(dateTime),
  updated_at: nullable(dateTime),
  can_edit: { type: 'boolean' },
});

// Geometry is checked by validateGeofence (structure, then PostGIS) so that every problem is named
// precisely; the schema only asks for an object or null.
const geometryField = (what: string) => ({ type: ['object', 'null'], description: what });
/**
 * A farm's centre in either shape: the GeoJSON Point, or `{lat, lon}` as every answer gives it, so a
 * farm read with GET can be sent back with PATCH (review r12 F4). validateCentroid checks it again and
 * names the problem as `invalid_geometry`.
 */
const centroidField: JsonSchema = {
  type: ['object', 'null'],
  description:
    "The farm's centre: a GeoJSON Point [longitude, latitude] (WGS 84), or {lat, lon} as answers give it; null removes it. Defaults to the centroid of the geofence.",
  // if/then/else rather than anyOf: a mistake is named in the shape the client meant, not in both.
  if: { properties: { type: true }, required: ['type'] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword, not a thenable
  then: {
    title: 'GeoJSON Point',
    required: ['type', 'coordinates'],
    properties: {
      type: { const: 'Point' },
      coordinates: { type: 'array', minItems: 2, maxItems: 3, items: { type: 'number' } },
    },
  },
  else: {
    title: 'Latitude and longitude',
    additionalProperties: false,
    required: ['lat', 'lon'],
    properties: {
      lat: { type: 'number', minimum: -90, maximum: 90 },
      lon: { type: 'number', minimum: -180, maximum: 180 },
    },
  },
};

export const farmBody = (required: boolean): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  ...(required ? { required: ['name'] } : { minProperties: 1 }),
  properties: {
    name: shortText(200),
    geofence: geometryField(
      'GeoJSON Polygon, WGS 84 (SRID 4326), [longitude, latitude] positions, closed rings; checked with PostGIS ST_IsValid. null removes it.',
    ),
    centroid: centroidField,
  },
});

/** /farms: every role reads its farms; admins create and delete; admins and the farm's technicians edit. */
export function farmRoutes({ sql }: ApiDeps): ApiRoute[] {
  return [
    route({
      method: 'get',
      path: '/farms',
      tag: 'farms',
      summary: 'Farms the caller may see, with geofence (GeoJSON) and centroid',
      access: 'user',
      responses: {
        200: { description: 'Farms', schema: object({ items: { type: 'array', items: ref('Farm') } }) },
      },
      async handler({ c, principal }) {
        return c.json({ items: await listFarms(sql, principal) });
      },
    }),
    route<Record<string, never>, FarmInput & { name: string }>({
      method: 'post',
      path: '/farms',
      tag: 'farms',
      summary: 'Create a farm (admin). An invalid geofence is a 422 naming the problem.',
      access: 'admin',
      body: farmBody(true),
      responses: { 201: { description: 'Created', schema: ref('Farm') } },
      async handler({ c, principal, body }) {
        const id = await createFarm(sql, body);
        return c.json(await findFarm(sql, principal, id), 201);
      },
    }),
    route({
      method: 'get',
      path: '/farms/{id}',
      tag: 'farms',
      summary: 'One farm',
      access: 'user',
      responses: { 200: { description: 'The farm', schema: ref('Farm') } },
      async handler({ c, principal, params }) {
        const farm = await findFarm(sql, principal, params.id!);
        if (!farm) throw notFound('farm');
        return c.json(farm);
      },
    }),
    route<Record<string, never>, FarmInput>({
      method: 'patch',
      path: '/farms/{id}',
      tag: 'farms',
      summary: 'Rename a farm or change its geofence/centroid (admin, or a technician of the farm)',
      access: 'user',
      body: farmBody(false),
      responses: { 200: { description: 'The farm', schema: ref('Farm') } },
      async handler({ c, principal, params, body }) {
        if (!(await updateFarm(sql, principal, params.id!, body))) throw notFound('farm');
        return c.json(await findFarm(sql, principal, params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/farms/{id}',
      tag: 'farms',
      summary: 'Delete a farm nothing refers to (admin); 409 farm_in_use otherwise',
      access: 'admin',
      responses: { 204: { description: 'Deleted' } },
      async handler({ c, params }) {
        if (!(await deleteFarm(sql, params.id!))) throw notFound('farm');
        return c.body(null, 204);
      },
    }),
  ];
}
