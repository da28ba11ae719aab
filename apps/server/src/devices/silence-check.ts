import type { Sql, TransactionSql } from 'postgres';
import type { DeafPeriod } from './deaf-periods.ts';
import { type DeviceRef, notifyDeviceEpisode } from './device-notifications.ts';

/**
 * Devices that sent heartbeats and have not been heard for `silentAfterSeconds` start a silence
 * episode: `device_health.silent_since` = their last heartbeat, and one `device_silent` notification
 * (keyed by that time). The UPDATE claims each episode under its row lock, so concurrent checks on
 * several replicas, or a heartbeat arriving meanwhile, never notify twice; the next heartbeat ends it.
 *
 * Only time in which the server could have heard a device counts: the parts of `deaf` periods after
 * its last heartbeat are taken off (while this process was down or its database away, every heartbeat
 * failed, so a device's last heartbeat is old without the device being quiet), at most
 * `deafAllowanceSeconds` of it per silence: a silence is notified at most that much later than without
 * (plus one check interval), however often the server restarts or loses its database. Times are the
 * database's (`now()`), the clock every replica shares, never a replica's own.
 *
 * Hysteresis (review r11 F8): a device back from a notified silence (`silence_ended_at`) that goes
 * quiet again before it has been back for `renotifySeconds` is notified only once the new silence
 * lasts longer than `renotifySeconds` too — a Pi on flaky barn Wi-Fi notifies once, not at every drop.
 * Retired devices (devices.retired_at) are never silent.
 */
export async function checkSilentDevices(
  sql: Sql | TransactionSql,
  {
    silentAfterSeconds,
    renotifySeconds = 0,
    deafAllowanceSeconds,
    deaf,
  }: {
    silentAfterSeconds: number;
    renotifySeconds?: number;
    /** At most this much deaf time is taken off a silence (CTI_DEVICE_DEAF_ALLOWANCE_S). */
    deafAllowanceSeconds: number;
    deaf: DeafPeriod[];
  },
): Promise<string[]> {
  const periods = deaf.map((p) => ({ from: p.from?.toISOString() ?? null, to: p.to.toISOString() }));
  // How long the device has not been heard while the server could have heard it; the deaf time taken
  // off is at most `deafAllowanceSeconds` (review r13 F1), so a crash-looping server or a check that
  // loses its connection every other round still reports a silence, at most that much late, while an
  // outage or maintenance window up to that long raises no burst of false alerts.
  const heardNot = sql`(now() - h.received_at - least(coalesce((
      SELECT sum(greatest(p."to" - greatest(p."from", h.received_at), interval '0'))
        FROM jsonb_to_recordset(${sql.json(periods)}) AS p("from" timestamptz, "to" timestamptz)
    ), interval '0'), make_interval(secs => ${deafAllowanceSeconds})))`;
  const silent = await sql<(DeviceRef & { received_at: Date })[]>`
    UPDATE device_health h SET silent_since = h.received_at
    FROM devices d
    WHERE d.id = h.device_id AND h.silent_since IS NULL AND d.retired_at IS NULL
      AND ${heardNot} > make_interval(secs => ${silentAfterSeconds})
      AND (h.silence_ended_at IS NULL
           OR h.received_at >= h.silence_ended_at + make_interval(secs => ${renotifySeconds})
           OR ${heardNot} > make_interval(secs => ${renotifySeconds}))
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
