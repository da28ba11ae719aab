import { HttpError } from '../errors.ts';
import { renderStoredText } from '../text/safe-markdown.ts';
import type { Db } from './farm-access.ts';
import { isoUtc } from './sql-fragments.ts';

export type AnnouncementInput = {
  title?: string;
  body?: string;
  format?: 'plain' | 'markdown';
  published_at?: string;
  expires_at?: string | null;
};

type Row = {
  id: string;
  title: string;
  body: string;
  format: 'plain' | 'markdown';
  published_at: string;
  expires_at: string | null;
  created_at: string | null;
  created_by: string | null;
};

/** The CHECK of migration 0007 (expires after published) as a 422 naming the field. */
function windowProblem(err: unknown): never {
  if ((err as { code?: string }).code === '23514') {
    throw new HttpError(422, 'invalid_request', 'expires_at must be after published_at', {
      problems: [{ pointer: '/expires_at', message: 'must be after published_at' }],
    });
  }
  throw err;
}

/** An announcement as the API returns it: the source text and its safe HTML rendering. */
export const announcementView = (r: Row) => ({ ...r, body_html: renderStoredText(r.body, r.format) });

const columns = (sql: Db) => sql`
  a.id, a.title, a.body, a.format, ${isoUtc(sql, sql`a.published_at`)} AS published_at,
  ${isoUtc(sql, sql`a.expires_at`)} AS expires_at, ${isoUtc(sql, sql`a.created_at`)} AS created_at, a.created_by`;

/** Current announcements (published, not expired), newest first; `all` (admins) includes the rest. */
export async function listAnnouncements(sql: Db, { all = false } = {}) {
  const rows = await sql<Row[]>`
    SELECT ${columns(sql)} FROM announcements a
     ${all ? sql`` : sql`WHERE a.published_at <= now() AND (a.expires_at IS NULL OR a.expires_at > now())`}
     ORDER BY a.published_at DESC, a.id DESC LIMIT 200`;
  return rows.map(announcementView);
}

export async function findAnnouncement(sql: Db, id: string) {
  const [row] = await sql<Row[]>`SELECT ${columns(sql)} FROM announcements a WHERE a.id = ${id}`;
  return row && announcementView(row);
}

/**
 * A new announcement; its id. With `id` (a page form's one-time token, web/pages/create-token.ts) an
 * announcement that already has that id is left as it is and its id returned: one row per form.
 */
export async function createAnnouncement(
  sql: Db,
  by: string,
  input: Required<Pick<AnnouncementInput, 'title' | 'body'>> & AnnouncementInput,
  id?: string,
) {
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO announcements (id, title, body, format, published_at, expires_at, created_by)
    VALUES (${id ?? sql`gen_random_uuid()`}, ${input.title.trim()}, ${input.body}, ${input.format ?? 'plain'},
            ${input.published_at ?? sql`now()`}, ${input.expires_at ?? null}, ${by})
    ${id === undefined ? sql`` : sql`ON CONFLICT (id) DO NOTHING`} RETURNING id`.catch(windowProblem);
  return row?.id ?? id!;
}

export async function updateAnnouncement(sql: Db, id: string, input: AnnouncementInput): Promise<boolean> {
  const rows = await sql`
    UPDATE announcements a SET title = ${input.title?.trim() ?? sql`a.title`}, body = ${input.body ?? sql`a.body`},
           format = ${input.format ?? sql`a.format`}, published_at = ${input.published_at ?? sql`a.published_at`},
           expires_at = ${'expires_at' in input ? (input.expires_at ?? null) : (sql`a.expires_at` as never)}, updated_at = now()
     WHERE a.id = ${id}`.catch(windowProblem);
  return rows.count > 0;
}

export async function deleteAnnouncement(sql: Db, id: string): Promise<boolean> {
  return (await sql`DELETE FROM announcements WHERE id = ${id}`).count > 0;
}
