import type { Db, Fragment } from './farm-access.ts';
import { and } from './farm-access.ts';
import { isoUtc } from './sql-fragments.ts';

export type NotificationRow = {
  id: number;
  type: string;
  payload: unknown;
  is_read: boolean;
  created_at: string | null;
};

/**
 * A user's own notifications, newest first (keyset on id), optionally unread only. The bigserial id is
 * read as float8 (exact up to 2^53): int4 overflowed once the sequence passed 2^31, and int8 would come
 * back as a string.
 */
export function listNotifications(
  sql: Db,
  userId: string,
  { unread, beforeId, limit }: { unread?: boolean; beforeId?: number; limit: number },
) {
  const conds: Fragment[] = [sql`n.user_id = ${userId}`];
  if (unread) conds.push(sql`NOT n.is_read`);
  if (beforeId !== undefined) conds.push(sql`n.id < ${beforeId}`);
  return sql<NotificationRow[]>`
    SELECT n.id::float8 AS id, n.type, n.payload, coalesce(n.is_read, false) AS is_read, ${isoUtc(sql, sql`n.created_at`)} AS created_at
      FROM notifications n WHERE ${and(sql, conds)} ORDER BY n.id DESC LIMIT ${limit}`;
}

export async function unreadCount(sql: Db, userId: string): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM notifications WHERE user_id = ${userId} AND NOT is_read`;
  return row?.n ?? 0;
}

/** Marks one of the user's own notifications read; false when it is not theirs (404). */
export async function markRead(sql: Db, userId: string, id: number): Promise<boolean> {
  const rows = await sql`UPDATE notifications SET is_read = true WHERE id = ${id} AND user_id = ${userId}`;
  return rows.count > 0;
}

export async function markAllRead(sql: Db, userId: string): Promise<number> {
  return (await sql`UPDATE notifications SET is_read = true WHERE user_id = ${userId} AND NOT is_read`).count;
}
