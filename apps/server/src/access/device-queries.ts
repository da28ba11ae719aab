import type { Sql } from 'postgres';
import { isAdmin, isTechnician, type Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { type Db, type Fragment, readableFarm, requireWritableFarm, writableFarm } from './farm-access.ts';
import { capturedAhead, isoUtc, scanSortKey } from './sql-fragments.ts';

export type DeviceRow = {
  id: string;
  device_code: string;
  label: string | null;
  farm: { id: string; name: string } | null;
  last_seen_at: string | null;
  last_upload_at: string | null;
  captures_count: number;
  scans_today: number;
  today_starts_at: string;
  /** Whether the caller may label it and set its farm (editableDevice). */
  can_edit: boolean;
};

/**
 * Devices a principal may see: admins all; technicians those of their farms and unassigned ones (a Pi
 * being set up); farmers those of their farms.
 */
export function visibleDevice(sql: Db, principal: Principal): Fragment {
  if (isAdmin(principal)) return sql`TRUE`;
  const own = readableFarm(sql, principal, sql`d.farm_id`);
  return isTechnician(principal) ? sql`(${own} OR d.farm_id IS NULL)` : own;
}

/**
 * Devices a principal may label and give a farm: admins all; technicians those of the farms they are
 * technician of and unassigned ones (claiming a Pi being set up, or taking theirs from one of their
 * farms to another, as a technician does going farm to farm); farmers none. A device's calibration
 * stays an admin's (it changes how its scans are measured).
 */
export function editableDevice(sql: Db, principal: Principal): Fragment {
  if (isAdmin(principal)) return sql`TRUE`;
  if (!isTechnician(principal)) return sql`FALSE`;
  return sql`(d.farm_id IS NULL OR ${writableFarm(sql, principal, sql`d.farm_id`)})`;
}

/**
 * The fleet: last seen, last upload, captures, and scans captured "today" in `timeZone` (a zone as
 * Postgres reads it: an IANA name, or the POSIX form api/devices.ts makes of an ISO offset; default UTC) — only scans on farms the caller may see are counted, and not those captured ahead of
 * the server clock (sql-fragments' capturedAhead: a device clock running fast).
 */
export async function listDevices(
  sql: Db,
  principal: Principal,
  { timeZone = 'UTC', id }: { timeZone?: string; id?: string } = {},
) {
  try {
    return await sql<DeviceRow[]>`
      WITH day AS (SELECT date_trunc('day', now() AT TIME ZONE ${timeZone}) AT TIME ZONE ${timeZone} AS starts)
      SELECT d.id, d.device_code, d.label,
             CASE WHEN f.id IS NULL THEN NULL ELSE json_build_object('id', f.id, 'name', f.name) END AS farm,
             ${isoUtc(sql, sql`d.last_seen_at`)} AS last_seen_at, ${isoUtc(sql, sql`d.last_upload_at`)} AS last_upload_at,
             coalesce(d.captures_count, 0) AS captures_count,
             (SELECT count(*)::int FROM scans s
               WHERE s.device_id = d.id AND ${scanSortKey(sql)} >= day.starts AND NOT ${capturedAhead(sql)}
                 AND ${readableFarm(sql, principal, sql`s.farm_id`)}) AS scans_today,
             ${isoUtc(sql, sql`day.starts`)} AS today_starts_at,
             ${editableDevice(sql, principal)} AS can_edit
        FROM devices d CROSS JOIN day LEFT JOIN farms f ON f.id = d.farm_id
       WHERE ${visibleDevice(sql, principal)} ${id ? sql`AND d.id = ${id}` : sql``}
       ORDER BY d.device_code`;
  } catch (err) {
    if ((err as { code?: string }).code === '22023') {
      throw new HttpError(422, 'invalid_request', 'unknown time zone', {
        problems: [{ pointer: '/query/tz', message: 'is not a time zone the database knows' }],
      });
    }
    throw err;
  }
}

/** The latest heartbeat snapshot of a device (`device_health`, migration 0006) as the fleet page shows it. */
export type DeviceHealthRow = {
  device_id: string;
  received_at: string;
  /** Seconds since the last heartbeat, by the database clock. */
  age_s: number;
  agent_version: string;
  uptime_s: number;
  pending_captures: number;
  pending_bytes: number;
  oldest_pending_age_s: number | null;
  quarantined: number;
  /** Captures given up on the device (heartbeat `outbox.discarded`); null when the agent does not report it. */
  discarded: number | null;
  disk_free_bytes: number | null;
  disk_floor_bytes: number | null;
  clock_synced: boolean;
  clock_source: string | null;
  clock_offset_ms: number | null;
  probe_connected: boolean;
  probe_model: string | null;
  frame_rate_fps: number | null;
  health_ok: boolean | null;
  health_reason: string | null;
  last_error: string | null;
  last_error_at: string | null;
  silent_since: string | null;
  backlog_since: string | null;
  disk_low_since: string | null;
  clock_unsynced_since: string | null;
  /** The models the agent runs (the hint and its view card), as its heartbeat lists them. */
  models: { name: string; version: string }[];
  /** Capture attempts since the agent started, by result (captured, refusal reasons, error, busy); null: not reported. */
  captures_by_result: Record<string, number> | null;
};

/** Health snapshots of the devices the principal may see (the same rule as listDevices); `id`: one device. */
export function listDeviceHealth(sql: Db, principal: Principal, opts: { id?: string } = {}) {
  return sql<DeviceHealthRow[]>`
    SELECT h.device_id, ${isoUtc(sql, sql`h.received_at`)} AS received_at,
           extract(epoch FROM now() - h.received_at)::float8 AS age_s, h.agent_version, h.uptime_s::float8 AS uptime_s,
           h.pending_captures, h.pending_bytes::float8 AS pending_bytes, h.oldest_pending_age_s, h.quarantined,
           h.disk_free_bytes::float8 AS disk_free_bytes, h.disk_floor_bytes::float8 AS disk_floor_bytes,
           h.clock_synced, h.clock_source, h.clock_offset_ms, h.probe_connected, h.probe_model,
           h.frame_rate_fps::float8 AS frame_rate_fps, h.health_ok, h.health_reason, h.last_error,
           ${isoUtc(sql, sql`h.last_error_at`)} AS last_error_at, ${isoUtc(sql, sql`h.silent_since`)} AS silent_since,
           ${isoUtc(sql, sql`h.backlog_since`)} AS backlog_since, ${isoUtc(sql, sql`h.disk_low_since`)} AS disk_low_since,
           ${isoUtc(sql, sql`h.clock_unsynced_since`)} AS clock_unsynced_since,
           h.models, h.body->'captures_by_result' AS captures_by_result,
           CASE WHEN jsonb_typeof(h.body->'outbox'->'discarded') = 'number'
                THEN (h.body->'outbox'->>'discarded')::int END AS discarded
      FROM device_health h JOIN devices d ON d.id = h.device_id
     WHERE ${visibleDevice(sql, principal)} ${opts.id ? sql`AND h.device_id = ${opts.id}` : sql``}`;
}

/**
 * Label and default farm of a device, by whoever may edit it (editableDevice): a device the principal
 * cannot see is false (404), one they see but may not change a 403; a new farm must be one they may
 * write (422 when they cannot see it, 403 when they only read it) — moving a device needs rights on
 * both farms, like moving an animal. One transaction, the device row locked.
 */
export async function updateDevice(
  sql: Sql,
  principal: Principal,
  id: string,
  input: { label?: string | null; farm_id?: string | null },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [device] = await tx<{ farm_id: string | null; can_edit: boolean }[]>`
      SELECT d.farm_id, ${editableDevice(tx, principal)} AS can_edit
        FROM devices d WHERE d.id = ${id} AND ${visibleDevice(tx, principal)} FOR UPDATE OF d`;
    if (!device) return false;
    if (!device.can_edit) throw forbidden('you may not change the devices of this farm');
    if (input.farm_id && input.farm_id !== device.farm_id)
      await requireWritableFarm(tx, principal, input.farm_id, 'you may not move devices to that farm');
    await tx`
      UPDATE devices d SET label = ${'label' in input ? (input.label ?? null) : (tx`d.label` as never)},
             farm_id = ${'farm_id' in input ? (input.farm_id ?? null) : (tx`d.farm_id` as never)}, updated_at = now()
       WHERE d.id = ${id}`;
    return true;
  });
}
