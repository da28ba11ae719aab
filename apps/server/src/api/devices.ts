import { listDevices, updateDevice } from '../access/device-queries.ts';
import { HttpError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { dateTime, nullable, object, patchBody, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

export const deviceSchema: JsonSchema = object({
  id: uuid,
  device_code: { type: 'string' },
  label: { type: ['string', 'null'] },
  farm: nullable(object({ id: uuid, name: { type: 'string' } })),
  last_seen_at: nullable(dateTime),
  last_upload_at: nullable(dateTime),
  captures_count: { type: 'integer' },
  scans_today: {
    type: 'integer',
    description: 'Scans captured since midnight in `tz` that the caller may see.',
  },
  today_starts_at: dateTime,
});

const tzParam = {
  schema: { type: 'string', minLength: 1, maxLength: 64 },
  description: 'IANA time zone that defines "today" (default UTC), e.g. America/Toronto.',
};

function timeZone(tz: string | undefined): string {
  if (tz === undefined) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    throw new HttpError(422, 'invalid_request', `unknown time zone ${JSON.stringify(tz)}`, {
      problems: [{ pointer: '/query/tz', message: 'is not an IANA time zone name' }],
    });
  }
}

/** /devices: the fleet (every role sees the devices of its farms); admins label and assign them. */
export function deviceRoutes({ sql }: ApiDeps): ApiRoute[] {
  return [
    route<{ tz?: string }>({
      method: 'get',
      path: '/devices',
      tag: 'devices',
      summary: 'The fleet: last seen, last upload, captures, scans today',
      access: 'user',
      query: { tz: tzParam },
      responses: {
        200: { description: 'Devices', schema: object({ items: { type: 'array', items: ref('Device') } }) },
      },
      async handler({ c, principal, query }) {
        return c.json({ items: await listDevices(sql, principal, { timeZone: timeZone(query.tz) }) });
      },
    }),
    route<{ tz?: string }>({
      method: 'get',
      path: '/devices/{id}',
      tag: 'devices',
      summary: 'One device',
      access: 'user',
      query: { tz: tzParam },
      responses: { 200: { description: 'The device', schema: ref('Device') } },
      async handler({ c, principal, params, query }) {
        const [device] = await listDevices(sql, principal, { timeZone: timeZone(query.tz), id: params.id! });
        if (!device) throw notFound('device');
        return c.json(device);
      },
    }),
    route<Record<string, never>, { label?: string | null; farm_id?: string | null }>({
      method: 'patch',
      path: '/devices/{id}',
      tag: 'devices',
      summary: 'Label a device or set its default farm (admin)',
      access: 'admin',
      body: patchBody({
        label: { anyOf: [shortText(100), { type: 'null' }] },
        farm_id: { type: ['string', 'null'], format: 'uuid' },
      }),
      responses: { 200: { description: 'The device', schema: ref('Device') } },
      async handler({ c, principal, params, body }) {
        if (!(await updateDevice(sql, params.id!, body))) throw notFound('device');
        const [device] = await listDevices(sql, principal, { id: params.id! });
        return c.json(device);
      },
    }),
  ];
}
