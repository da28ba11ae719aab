import type { Sql, TransactionSql } from 'postgres';
import { notifyUsers } from '../notifications/notify-users.ts';

export type DeviceNotificationType =
  | 'device_silent'
  | 'device_back'
  | 'device_backlog'
  | 'device_disk_low'
  | 'device_clock_unsynced';

export type DeviceRef = { id: string; device_code: string; label: string | null };

/**
 * Tell admins, and the technicians who see the device (those of its farm; every technician for an
 * unassigned device), that a device health episode started. Keyed by the episode
 * (`<type>:<device id>:<episode start>`), so however often it is called — a retried transaction, two
 * replicas — each user gets it once per episode. Call inside the transaction that records the episode.
 * A retired device (devices.retired_at) notifies nobody. The payload carries `device_id`: the
 * notification links to the device's page (`/fleet/{device_id}`). `device_back` goes only to those of
 * that audience who received the episode's `device_silent` (and have `device_back` on): nobody is told
 * "back" of a silence they were never told of.
 *
 * @example await notifyDeviceEpisode(tx, { type: 'device_silent', device, since: lastHeard, details: {} });
 */
export async function notifyDeviceEpisode(
  sql: Sql | TransactionSql,
  {
    type,
    device,
    since,
    details,
  }: { type: DeviceNotificationType; device: DeviceRef; since: Date; details: Record<string, unknown> },
): Promise<number> {
  // The device's farm now, as the read-time rule (visibleDevice) will judge it.
  const [row] = await sql<{ farm_id: string | null; retired: boolean }[]>`
    SELECT farm_id, retired_at IS NOT NULL AS retired FROM devices WHERE id = ${device.id}`;
  if (row?.retired) return 0;
  return notifyUsers(sql, {
    type,
    dedupeKey: `${type}:${device.id}:${since.toISOString()}`,
    payload: {
      device_id: device.id,
      device_code: device.device_code,
      label: device.label,
      since: since.toISOString(),
      ...details,
    },
    audience: {
      roles: ['admin'],
      technicians: { farmId: row?.farm_id ?? null },
      // The end of a silence goes only to those told of it who may still see the device (review r13 F12).
      ...(type === 'device_back'
        ? { recipientsOf: `device_silent:${device.id}:${since.toISOString()}` }
        : {}),
    },
  });
}
