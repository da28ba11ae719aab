import type { Sql, TransactionSql } from 'postgres';
import { type DeviceRef, notifyDeviceEpisode } from './device-notifications.ts';

/**
 * Devices that sent heartbeats and have not been heard for `silentAfterSeconds` start a silence
 * episode: `device_health.silent_since` = their last heartbeat, and one `device_silent` notification
 * (keyed by that time). The UPDATE claims each episode under its row lock, so concurrent checks on
 * several replicas, or a heartbeat arriving meanwhile, never notify twice; the next heartbeat ends it.
 *
 * Silence is counted from `listeningSince` when that is later than the last heartbeat: a device is
 * only judged on a period in which the server could have heard it (not while this process was down or
 * its database away, when every heartbeat failed). Times are the database's (`now()`), the clock every
 * replica shares, never a replica's own.
 */
export async function checkSilentDevices(
  sql: Sql | TransactionSql,
  { silentAfterSeconds, listeningSince }: { silentAfterSeconds: number; listeningSince: Date },
): Promise<string[]> {
  const silent = await sql<(DeviceRef & { received_at: Date })[]>`
    UPDATE device_health h SET silent_since = h.received_at
    FROM devices d
    WHERE d.id = h.device_id AND h.silent_since IS NULL
      AND greatest(h.received_at, ${listeningSince}::timestamptz) < now() - make_interval(secs => ${silentAfterSeconds})
    RETURNING d.id, d.device_code, d.label, h.received_at`;
  for (const device of silent) {
    await notifyDeviceEpisode(sql, {
      type: 'device_silent',
      device,
      since: device.received_at,
      details: { last_heard_at: device.received_at.toISOString(), silent_after_s: silentAfterSeconds },
    });
  }
  return silent.map((d) => d.device_code);
}
