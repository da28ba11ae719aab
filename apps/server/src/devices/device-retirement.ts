import type { Sql, TransactionSql } from 'postgres';
import { DeviceKeyConflictError } from './device-keys.ts';

/** Refused, nothing written: no such device, or it is already retired / not retired (`code`). */
export class DeviceRetirementError extends DeviceKeyConflictError {
  override name = 'DeviceRetirementError';
  readonly code: 'no_device' | 'already_retired' | 'not_retired';
  constructor(code: DeviceRetirementError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** A device by its code (the command) or its id (the API and the device page). */
export type DeviceWhich = { code: string } | { id: string };

const which = (tx: TransactionSql, d: DeviceWhich) =>
  'code' in d ? tx`device_code = ${d.code}` : tx`id = ${d.id}`;
const named = (d: DeviceWhich) => ('code' in d ? d.code : d.id);

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
 * @example await retireDevice(sql, { code: 'pi-barn-1' }, { by: 'root (command line)', reason: 'replaced by pi-barn-2' });
 */
export async function retireDevice(
  sql: Sql,
  device: DeviceWhich,
  { by, reason = null }: { by: string; reason?: string | null },
): Promise<Retirement> {
  return sql.begin(async (tx) => {
    const [row] = await tx<
      { id: string; device_code: string; retired_at: Date | null; retired_by: string | null }[]
    >`SELECT id, device_code, retired_at, retired_by FROM devices WHERE ${which(tx, device)} FOR UPDATE`;
    if (!row) throw new DeviceRetirementError('no_device', `no device ${named(device)}`);
    if (row.retired_at)
      throw new DeviceRetirementError(
        'already_retired',
        `device ${row.device_code} was already retired at ${row.retired_at.toISOString()} by ${row.retired_by ?? 'unknown'}`,
      );
    const revoked = await tx`
      UPDATE device_keys SET expires_at = now()
       WHERE device_id = ${row.id} AND (expires_at IS NULL OR expires_at > now())`;
    const [done] = await tx<{ retired_at: Date }[]>`
      UPDATE devices SET retired_at = now(), retired_by = ${by}, retired_reason = ${reason}, updated_at = now()
       WHERE id = ${row.id} RETURNING retired_at`;
    return { retiredAt: done!.retired_at, keysRevoked: revoked.count };
  });
}

/**
 * `device unretire`: back in service, without a key (`device add` issues one). Its old health snapshot
 * is dropped, so it is "no heartbeat yet" rather than silent since its retirement until the Pi's first
 * heartbeat, and so are its heartbeats refused as retired (`device_retired`); the heartbeat history
 * stays (pruned as usual). Refused for no such device or one in service.
 */
export async function unretireDevice(sql: Sql, which_: DeviceWhich): Promise<void> {
  await sql.begin(async (tx) => {
    const [device] = await tx<{ id: string; device_code: string; retired_at: Date | null }[]>`
      SELECT id, device_code, retired_at FROM devices WHERE ${which(tx, which_)} FOR UPDATE`;
    if (!device) throw new DeviceRetirementError('no_device', `no device ${named(which_)}`);
    if (!device.retired_at)
      throw new DeviceRetirementError('not_retired', `device ${device.device_code} is not retired`);
    await tx`DELETE FROM device_health WHERE device_id = ${device.id}`;
    // Its heartbeats refused as retired describe the retirement that ends here: without them the fleet
    // does not say "refused: the device is retired — fix: unretire" of a device in service (review r13 F9).
    await tx`
      DELETE FROM device_request_rejections
       WHERE device_code = ${device.device_code} AND error_code = 'device_retired'`;
    await tx`
      UPDATE devices SET retired_at = NULL, retired_by = NULL, retired_reason = NULL, updated_at = now()
       WHERE id = ${device.id}`;
  });
}
