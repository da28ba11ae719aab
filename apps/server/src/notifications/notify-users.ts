import type { Sql, TransactionSql } from 'postgres';
import { linkRoleHeld } from '../access/farm-access.ts';
import type { NotificationType } from './notification-types.ts';

/** A role from the spec's `roles` table (§10). */
export type RoleName = 'admin' | 'technician' | 'farmer';

/**
 * Who receives a notification: the union of every user linked to `farmId` through `user_farms` (in a
 * role they hold), every
 * user holding one of `roles`, and the `technicians` who may see what it is about; active accounts
 * only. A null/absent farm adds nobody. Write a notification only for users who may read it (the
 * read-time filter, visibleNotification, is defence in depth): a farm's event never goes to every
 * technician, only to those of that farm.
 */
export type NotificationAudience = {
  farmId?: string | null;
  roles?: readonly RoleName[];
  /**
   * Technicians, as the access rules let them see it: `{ farmId }` those linked to that farm as technician;
   * `{ farmId: null }` every technician (an unassigned device, which all of them see). Leave it out
   * for a scan without a farm: only admins see that.
   */
  technicians?: { farmId: string | null };
  /** Left out of the audience: the person whose own action it is (a correction by hand). */
  exceptUserId?: string | null;
  /** Left out of the audience (those who get another wording of the same event). */
  exceptUserIds?: readonly string[];
  /** Only these of the audience (one wording of an event for some of its audience). */
  onlyUserIds?: readonly string[];
  /**
   * Only those of the audience who received the notification with this dedupe key (the end of an
   * episode goes to those told of its start, review r13 F12).
   */
  recipientsOf?: string;
};

export type NotificationInput = {
  /** Stable event type, one of notification-types.ts (each is a setting a user can turn off). */
  type: NotificationType;
  /** Names the event, not the recipient: the same key for every retry of the same event. */
  dedupeKey: string;
  payload: Record<string, unknown>;
  audience: NotificationAudience;
};

/** Channel on which each insert is announced (`pg_notify`), for live updates in the dashboard. */
export const NOTIFICATION_CHANNEL = 'cti_notifications';

/**
 * Inserts one `notifications` row per recipient, at most once per (user, dedupeKey) however often it
 * is called (unique index from migration 0004; a retry inserts nothing). Run it inside the
 * transaction that records the event itself, so the notification exists exactly when the event does.
 * Disabled users are skipped: they cannot read it, and a pile of stale ones would greet them when an
 * admin re-enables the account (they get the events from then on). So are users who turned this type
 * off in their notification settings (`user_notification_settings`, migration 0018; no row = on): they
 * are left out here, in the insert, never hidden afterwards. Returns the number of rows inserted by this call.
 *
 * @example
 * await sql.begin((tx) => notifyUsers(tx, { type: 'scan_graded', dedupeKey: `scan_graded:${resultId}`,
 *   payload: { scan_id, grade }, audience: { farmId } }));
 */
export async function notifyUsers(sql: Sql | TransactionSql, input: NotificationInput): Promise<number> {
  const farmId = input.audience.farmId ?? null;
  const roles = [...(input.audience.roles ?? [])];
  const except = input.audience.exceptUserId ?? null;
  const exceptIds = [...(input.audience.exceptUserIds ?? [])];
  const only = input.audience.onlyUserIds ? [...input.audience.onlyUserIds] : null;
  const techs = input.audience.technicians;
  const techScope =
    techs === undefined
      ? sql`FALSE`
      : techs.farmId === null
        ? sql`TRUE`
        : sql`ur.user_id IN (SELECT uf.user_id FROM user_farms uf WHERE uf.farm_id = ${techs.farmId}::uuid
                                                               AND uf.role = 'technician')`;
  const rows = await sql<{ user_id: string }[]>`
    WITH recipients AS (
      -- Linked to the farm in a role they hold (the read rule, farm-access.ts).
      SELECT uf.user_id FROM user_farms uf WHERE uf.farm_id = ${farmId}::uuid
         AND ${linkRoleHeld(sql)}
      UNION
      SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id
      WHERE r.name = ANY(${roles}::text[])
      UNION
      SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id
      WHERE r.name = 'technician' AND ${techScope}
    ), inserted AS (
      INSERT INTO notifications (user_id, type, payload, dedupe_key)
      SELECT r.user_id, ${input.type}, ${sql.json(input.payload as never)}, ${input.dedupeKey}
        FROM recipients r JOIN users u ON u.id = r.user_id AND u.status = 'active'
       WHERE r.user_id IS DISTINCT FROM ${except}::uuid
         AND NOT r.user_id = ANY(${exceptIds}::uuid[])
         AND (${only}::uuid[] IS NULL OR r.user_id = ANY(${only}::uuid[]))
         ${
           input.audience.recipientsOf === undefined
             ? sql``
             : sql`AND EXISTS (SELECT 1 FROM notifications told
                                WHERE told.user_id = r.user_id AND told.dedupe_key = ${input.audience.recipientsOf})`
         }
         -- The recipient's own setting for this type; no row means on (nobody lost a notice by upgrading).
         AND NOT EXISTS (SELECT 1 FROM user_notification_settings s
                          WHERE s.user_id = r.user_id AND s.type = ${input.type} AND NOT s.enabled)
      ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
      RETURNING user_id
    )
    SELECT user_id FROM inserted`;
  if (rows.length > 0) {
    // Only ids and the type: listeners re-read what the recipient may see through their own queries.
    await sql`SELECT pg_notify(${NOTIFICATION_CHANNEL}, ${JSON.stringify({
      type: input.type,
      user_ids: rows.map((r) => r.user_id),
    })})`;
  }
  return rows.length;
}
