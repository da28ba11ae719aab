import { listNotifications, markAllRead, markRead, unreadCount } from '../access/notification-queries.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { cursorParam, dateTime, nullable, object, pageOf, ref } from './common-schemas.ts';
import { decodeCursor, encodeCursor, keysetPage } from './list-cursor.ts';
import { notFound } from './request-validation.ts';

export const notificationSchema: JsonSchema = object({
  id: {
    type: 'string',
    pattern: '^[1-9][0-9]{0,18}$',
    description:
      'The bigserial id as a decimal string, exact past 2^53 (a JSON number read into a JavaScript number is not). ' +
      'POST /notifications/{id}/read takes it as it is.',
  },
  type: {
    type: 'string',
    description: 'scan_graded, scan_rejected, grading_failed, device_*, registration_pending, …',
  },
  payload: {},
  is_read: { type: 'boolean' },
  created_at: nullable(dateTime),
});

/** The page size a list query may ask for; `default` is also the size without one. */
const PAGE_SIZE = { type: 'integer', minimum: 1, maximum: 200, default: 50 } as const;

/** /notifications: each user's own — list, unread count, mark read. */
export function notificationRoutes({ sql }: ApiDeps): ApiRoute[] {
  return [
    route<{ unread?: boolean; limit?: number; cursor?: string }>({
      method: 'get',
      path: '/notifications',
      tag: 'notifications',
      summary: 'Your notifications, newest first',
      access: 'user',
      query: {
        unread: { schema: { type: 'boolean' }, description: 'Only unread ones.' },
        limit: {
          schema: PAGE_SIZE,
          description: 'Page size (1–200, default 50).',
        },
        cursor: cursorParam,
      },
      responses: { 200: { description: 'A page of notifications', schema: pageOf(ref('Notification')) } },
      async handler({ c, principal, query }) {
        const limit = query.limit ?? PAGE_SIZE.default;
        const beforeId = query.cursor ? String(decodeCursor(query.cursor, ['id'])[0]) : undefined;
        const rows = await listNotifications(sql, principal, {
          unread: query.unread,
          beforeId,
          limit: limit + 1,
        });
        return c.json(
          keysetPage(
            rows,
            limit,
            (last) => encodeCursor([last.id]),
            (row) => row,
          ),
        );
      },
    }),
    route({
      method: 'get',
      path: '/notifications/unread-count',
      tag: 'notifications',
      summary: 'How many of your notifications are unread',
      access: 'user',
      responses: { 200: { description: 'Count', schema: object({ unread: { type: 'integer' } }) } },
      async handler({ c, principal }) {
        return c.json({ unread: await unreadCount(sql, principal) });
      },
    }),
    route({
      method: 'post',
      path: '/notifications/{id}/read',
      tag: 'notifications',
      summary: 'Mark one of your notifications read',
      access: 'user',
      params: { id: 'integer' },
      responses: { 204: { description: 'Marked' } },
      async handler({ c, principal, params }) {
        if (!(await markRead(sql, principal, params.id!))) throw notFound('notification');
        return c.body(null, 204);
      },
    }),
    route({
      method: 'post',
      path: '/notifications/read-all',
      tag: 'notifications',
      summary: 'Mark all your notifications read',
      access: 'user',
      responses: {
        200: { description: 'How many were marked', schema: object({ marked: { type: 'integer' } }) },
      },
      async handler({ c, principal }) {
        return c.json({ marked: await markAllRead(sql, principal) });
      },
    }),
  ];
}
