import type { Sql, TransactionSql } from 'postgres';
import { NOTIFICATION_TYPE_NAMES, type NotificationType } from './notification-types.ts';

/** Whether the user receives each type: every type the server sends, `true` unless they turned it off. */
export type NotificationSettings = Record<NotificationType, boolean>;

/**
 * The user's settings for every type (migration 0018: no row = on, today's behaviour). notifyUsers
 * reads the same rows when it writes notifications; this is what the API and the account page show.
 *
 * @example
 * const { scan_graded } = await loadNotificationSettings(sql, principal.userId);
 */
export async function loadNotificationSettings(
  sql: Sql | TransactionSql,
  userId: string,
): Promise<NotificationSettings> {
  const rows = await sql<{ type: string; enabled: boolean }[]>`
    SELECT type, enabled FROM user_notification_settings WHERE user_id = ${userId}`;
  const set = new Map(rows.map((r) => [r.type, r.enabled]));
  return Object.fromEntries(
    NOTIFICATION_TYPE_NAMES.map((t) => [t, set.get(t) ?? true]),
  ) as NotificationSettings;
}

/**
 * Sets the types named in `changes` for the user, in one statement (all or nothing); types not named
 * keep their setting. The caller has checked that every name is a NotificationType. Returns every
 * setting afterwards.
 */
export async function saveNotificationSettings(
  sql: Sql,
  userId: string,
  changes: Partial<NotificationSettings>,
): Promise<NotificationSettings> {
  if (Object.keys(changes).length > 0) {
    await sql`
      INSERT INTO user_notification_settings (user_id, type, enabled)
      SELECT ${userId}::uuid, c.key, c.value::boolean
        FROM jsonb_each_text(${sql.json(changes)}) AS c
      ON CONFLICT (user_id, type) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()
       WHERE user_notification_settings.enabled IS DISTINCT FROM EXCLUDED.enabled`;
  }
  return loadNotificationSettings(sql, userId);
}
