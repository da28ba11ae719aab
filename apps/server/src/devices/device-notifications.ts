import type { Sql, TransactionSql } from 'postgres';
import { linkedFarmIds } from '../access/farm-access.ts';
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
 * A Pi moved to another farm during the episode (review r14 F3): a technician who may not see its
 * activity before a move away from a farm they cannot read (historyFrom's rule, access/device-queries.ts)
 * is told the episode as of that move — `since` and `came_here_at` are the move, without the time it was
 * last heard on the other farm (`last_heard_at`), and `device_back`'s `silent_for_s` counts from the move.
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
  const dedupeKey = `${type}:${device.id}:${since.toISOString()}`;
  const notify = (at: Date, more: Record<string, unknown>, only: { except?: string[]; only?: string[] }) =>
    notifyUsers(sql, {
      type,
      dedupeKey,
      payload: {
        device_id: device.id,
        device_code: device.device_code,
        label: device.label,
        since: at.toISOString(),
        ...more,
      },
      audience: {
        roles: ['admin'],
        technicians: { farmId: row?.farm_id ?? null },
        ...(only.except ? { exceptUserIds: only.except } : {}),
        ...(only.only ? { onlyUserIds: only.only } : {}),
        // The end of a silence goes only to those told of it who may still see the device (review r13 F12).
        ...(type === 'device_back'
          ? { recipientsOf: `device_silent:${device.id}:${since.toISOString()}` }
          : {}),
      },
    });
  const cut = await techniciansCutAfter(sql, device.id, since);
  let sent = await notify(since, details, { except: [...cut.values()].flat() });
  for (const [at, users] of cut) {
    const from = new Date(at);
    sent += await notify(from, sinceArrival(type, details, from), { only: users });
  }
  return sent;
}

/**
 * Technicians (not admins) for whom a move of the device after `since` away from a farm they cannot
 * read cuts its history, by that move's time (the latest such move): ISO time → user ids.
 */
async function techniciansCutAfter(sql: Sql | TransactionSql, deviceId: string, since: Date) {
  const rows = await sql<{ user_id: string; cut: Date }[]>`
    SELECT ur.user_id, max(m.moved_at) AS cut
      FROM user_roles ur
      JOIN roles r ON r.id = ur.role_id AND r.name = 'technician'
      JOIN device_farm_moves m ON m.device_id = ${deviceId} AND m.moved_at > ${since}
       AND m.from_farm_id IS NOT NULL AND m.from_farm_id NOT IN (${linkedFarmIds(sql, sql`ur.user_id`)})
     WHERE NOT EXISTS (SELECT 1 FROM user_roles a JOIN roles ar ON ar.id = a.role_id
                        WHERE a.user_id = ur.user_id AND ar.name = 'admin')
     GROUP BY ur.user_id`;
  const byCut = new Map<string, string[]>();
  for (const r of rows) {
    const at = r.cut.toISOString();
    byCut.set(at, [...(byCut.get(at) ?? []), r.user_id]);
  }
  return byCut;
}

/** An episode's details as of the device's arrival at `from`: no time from before it. */
function sinceArrival(type: DeviceNotificationType, details: Record<string, unknown>, from: Date) {
  const { last_heard_at: _hidden, ...rest } = details;
  const back = typeof details.back_at === 'string' ? Date.parse(details.back_at) : Number.NaN;
  if (type === 'device_back' && Number.isFinite(back)) {
    rest.silent_for_s = Math.max(0, Math.round((back - from.getTime()) / 1000));
  }
  return { ...rest, came_here_at: from.toISOString() };
}
