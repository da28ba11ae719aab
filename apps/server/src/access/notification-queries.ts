import { UUID_RE } from '../api/request-validation.ts';
import { isAdmin, type Principal } from '../auth/principal.ts';
import { visibleDevice } from './device-queries.ts';
import { and, type Db, type Fragment, readableFarm } from './farm-access.ts';
import { isoUtc } from './sql-fragments.ts';

export type NotificationRow = {
  /** The bigserial id as decimal text: exact past 2^53, where a JavaScript number is not. */
  id: string;
  type: string;
  payload: unknown;
  is_read: boolean;
  created_at: string | null;
};

/** A uuid of notification `n`'s payload, NULL when missing or malformed (never a cast error). */
const payloadUuid = (sql: Db, key: string): Fragment =>
  sql`(CASE WHEN n.payload->>${key} ~* ${UUID_RE.source} THEN (n.payload->>${key})::uuid END)`;

/**
 * Notifications `n` the principal may see, decided at read time like every other row: one whose
 * payload names a scan or device (`scan_id`, `device_id`) the principal cannot see now — removed from
 * the farm, a technician unassigned, the scan moved to another farm — does not exist for them. The
 * scan's farm now decides, not the payload's `farm_id` (a snapshot). One that names neither (an
 * account request, a note) is unaffected; admins see all of theirs.
 */
export function visibleNotification(sql: Db, principal: Principal): Fragment {
  if (isAdmin(principal)) return sql`TRUE`;
  // Scalar subqueries, not NOT EXISTS: they stay one primary-key lookup per notification (the planner
  // may turn an anti join into a hash of the whole scans table, read on every page for the badge);
  // `OFFSET 0` parses the payload's id once per notification, not once per row of a small table.
  // coalesce(…, true): a payload that names no such row hides nothing; a scan without a farm is
  // not readable (FALSE, like in the scans list).
  const sees = (table: Fragment, alias: Fragment, key: string, rule: Fragment) =>
    sql`coalesce((SELECT (${rule}) IS TRUE FROM (SELECT ${payloadUuid(sql, key)} AS id OFFSET 0) k
                    JOIN ${table} ${alias} ON ${alias}.id = k.id), true)`;
  return sql`${sees(sql`scans`, sql`s`, 'scan_id', readableFarm(sql, principal, sql`s.farm_id`))}
         AND ${sees(sql`devices`, sql`d`, 'device_id', visibleDevice(sql, principal))}`;
}

/** The principal's own notifications that they may see now (visibleNotification). */
const own = (sql: Db, principal: Principal): Fragment[] => [
  sql`n.user_id = ${principal.userId}`,
  visibleNotification(sql, principal),
];

/**
 * A user's own notifications, newest first (keyset on id), optionally unread only. The bigserial id is
 * read and compared as decimal text (`isInt8Id`): int4 overflowed once the sequence passed 2^31, and
 * float8 rounded ids past 2^53 (the API listed, paged from and marked a neighbour's id).
 */
export function listNotifications(
  sql: Db,
  principal: Principal,
  { unread, beforeId, limit }: { unread?: boolean; beforeId?: string; limit: number },
) {
  const conds: Fragment[] = own(sql, principal);
  if (unread) conds.push(sql`NOT n.is_read`);
  if (beforeId !== undefined) conds.push(sql`n.id < ${beforeId}::int8`);
  return sql<NotificationRow[]>`
    SELECT n.id::text AS id, n.type, n.payload, coalesce(n.is_read, false) AS is_read, ${isoUtc(sql, sql`n.created_at`)} AS created_at
      FROM notifications n WHERE ${and(sql, conds)} ORDER BY n.id DESC LIMIT ${limit}`;
}

/**
 * The partial index idx_notifications_user_unread finds the rows; the access check costs one
 * primary-key lookup per unread notification (~17 µs). `atMost` stops counting there: the pages read
 * the count on every request for the badge, which shows "99+" beyond 99, so a technician with
 * thousands unread does not pay for each one on every page (the API's count stays exact).
 */
export async function unreadCount(
  sql: Db,
  principal: Principal,
  { atMost }: { atMost?: number } = {},
): Promise<number> {
  const unread = sql`SELECT 1 FROM notifications n WHERE ${and(sql, own(sql, principal))} AND NOT n.is_read`;
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (${unread} ${atMost === undefined ? sql`` : sql`LIMIT ${atMost}`}) u`;
  return row?.n ?? 0;
}

/** The most the header's badge counts (it shows "99+" beyond 99). */
export const BADGE_COUNT_LIMIT = 100;

/** Marks one of the user's own notifications read (`id` as isInt8Id text); false when it is not theirs to see (404). */
export async function markRead(sql: Db, principal: Principal, id: string): Promise<boolean> {
  const rows =
    await sql`UPDATE notifications n SET is_read = true WHERE n.id = ${id}::int8 AND ${and(sql, own(sql, principal))}`;
  return rows.count > 0;
}

/** Marks read what the user sees; notifications hidden from them now are left as they are. */
export async function markAllRead(sql: Db, principal: Principal): Promise<number> {
  return (
    await sql`UPDATE notifications n SET is_read = true WHERE ${and(sql, own(sql, principal))} AND NOT n.is_read`
  ).count;
}
