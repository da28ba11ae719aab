import type { Sql } from 'postgres';
import { DeviceKeyConflictError } from './device-keys.ts';

/** A retirement reason: one line of typed text, at most this long (devices_retired_reason_length). */
export const RETIRED_REASON_MAX = 500;

export type Retirement = { retiredAt: Date; keysRevoked: number };

/**
 * `device retire`: the device's keys are revoked (expire now) and it is marked retired — when, by
 * whom, why — in one transaction under its row lock (a heartbeat in flight waits for it, then is
 * refused). A retired device is never silent, notified or on /metrics and is listed apart on the
 * fleet; its page, heartbeat history and scans stay. Refused (DeviceKeyConflictError, nothing written)
 * for no such device or one already retired.
 *
 * @example await retireDevice(sql, 'pi-barn-1', { by: 'root (command line)', reason: 'replaced by pi-barn-2' });
 */
export async function retireDevice(
  sql: Sql,
  deviceCode: string,
  { by, reason = null }: { by: string; reason?: string | null },
): Promise<Retirement> {
  return sql.begin(async (tx) => {
    const [device] = await tx<{ id: string; retired_at: Date | null; retired_by: string | null }[]>`
      SELECT id, retired_at, retired_by FROM devices WHERE device_code = ${deviceCode} FOR UPDATE`;
    if (!device) throw new DeviceKeyConflictError(`no device ${deviceCode}`);
    if (device.retired_at)
      throw new DeviceKeyConflictError(
        `device ${deviceCode} was already retired at ${device.retired_at.toISOString()} by ${device.retired_by ?? 'unknown'}`,
      );
    const revoked = await tx`
      UPDATE device_keys SET expires_at = now()
       WHERE device_id = ${device.id} AND (expires_at IS NULL OR expires_at > now())`;
    const [row] = await tx<{ retired_at: Date }[]>`
      UPDATE devices SET retired_at = now(), retired_by = ${by}, retired_reason = ${reason}, updated_at = now()
       WHERE id = ${device.id} RETURNING retired_at`;
    return { retiredAt: row!.retired_at, keysRevoked: revoked.count };
  });
}

/**
 * `device unretire`: back in service, without a key (`device add` issues one). Its old health snapshot
 * is dropped, so it is "no heartbeat yet" rather than silent since its retirement until the Pi's first
 * heartbeat; the heartbeat history stays (pruned as usual). Refused for no such device or one in service.
 */
export async function unretireDevice(sql: Sql, deviceCode: string): Promise<void> {
  await sql.begin(async (tx) => {
    const [device] = await tx<{ id: string; retired_at: Date | null }[]>`
      SELECT id, retired_at FROM devices WHERE device_code = ${deviceCode} FOR UPDATE`;
    if (!device) throw new DeviceKeyConflictError(`no device ${deviceCode}`);
    if (!device.retired_at) throw new DeviceKeyConflictError(`device ${deviceCode} is not retired`);
    await tx`DELETE FROM device_health WHERE device_id = ${device.id}`;
    await tx`
      UPDATE devices SET retired_at = NULL, retired_by = NULL, retired_reason = NULL, updated_at = now()
       WHERE id = ${device.id}`;
  });
}
