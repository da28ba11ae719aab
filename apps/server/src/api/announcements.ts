import {
  type AnnouncementInput,
  createAnnouncement,
  deleteAnnouncement,
  findAnnouncement,
  listAnnouncements,
  updateAnnouncement,
} from '../access/announcement-queries.ts';
import { isAdmin } from '../auth/principal.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { createBody, dateTime, nullable, object, patchBody, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

export const announcementSchema: JsonSchema = object({
  id: uuid,
  title: { type: 'string' },
  body: { type: 'string', description: 'The source text as written. Never insert it into a page as HTML.' },
  format: { type: 'string', enum: ['plain', 'markdown'] },
  body_html: {
    type: 'string',
    description: 'Safe HTML: Markdown without raw HTML, http(s)/mailto links only; or escaped plain text.',
  },
  published_at: dateTime,
  expires_at: nullable(dateTime),
  created_at: nullable(dateTime),
  created_by: nullable(uuid),
});

const fields = {
  title: shortText(200),
  body: { type: 'string', minLength: 1, maxLength: 20_000 },
  format: { type: 'string', enum: ['plain', 'markdown'] },
  published_at: dateTime,
  expires_at: nullable(dateTime),
};

/** The body of POST /announcements (the dashboard's form is checked with the same schema). */
export const announcementCreateSchema = createBody(fields, ['title', 'body']);

/** /announcements: everyone signed in reads the current ones; admins write them. */
export function announcementRoutes({ sql }: ApiDeps): ApiRoute[] {
  const found = async (id: string) => {
    const a = await findAnnouncement(sql, id);
    if (!a) throw notFound('announcement');
    return a;
  };
  return [
    route<{ all?: boolean }>({
      method: 'get',
      path: '/announcements',
      tag: 'announcements',
      summary: 'Current announcements, newest first (admins: all=true includes scheduled and expired)',
      access: 'user',
      query: {
        all: { schema: { type: 'boolean' }, description: 'Admins only: include scheduled and expired ones.' },
      },
      responses: {
        200: {
          description: 'Announcements',
          schema: object({ items: { type: 'array', items: ref('Announcement') } }),
        },
      },
      async handler({ c, principal, query }) {
        return c.json({
          items: await listAnnouncements(sql, { all: query.all === true && isAdmin(principal) }),
        });
      },
    }),
    route<Record<string, never>, AnnouncementInput & { title: string; body: string }>({
      method: 'post',
      path: '/announcements',
      tag: 'announcements',
      summary: 'Publish an announcement (admin)',
      access: 'admin',
      body: announcementCreateSchema,
      responses: { 201: { description: 'Created', schema: ref('Announcement') } },
      async handler({ c, principal, body }) {
        return c.json(await found(await createAnnouncement(sql, principal.userId, body)), 201);
      },
    }),
    route<Record<string, never>, AnnouncementInput>({
      method: 'patch',
      path: '/announcements/{id}',
      tag: 'announcements',
      summary: 'Edit an announcement (admin)',
      access: 'admin',
      body: patchBody(fields),
      responses: { 200: { description: 'The announcement', schema: ref('Announcement') } },
      async handler({ c, params, body }) {
        if (!(await updateAnnouncement(sql, params.id!, body))) throw notFound('announcement');
        return c.json(await found(params.id!));
      },
    }),
    route({
      method: 'delete',
      path: '/announcements/{id}',
      tag: 'announcements',
      summary: 'Delete an announcement (admin)',
      access: 'admin',
      responses: { 204: { description: 'Deleted' } },
      async handler({ c, params }) {
        if (!(await deleteAnnouncement(sql, params.id!))) throw notFound('announcement');
        return c.body(null, 204);
      },
    }),
  ];
}
