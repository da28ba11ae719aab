import type { Db, Fragment } from '../access/farm-access.ts';

/** One hour of a device's heartbeat history: the worst of what its heartbeats said in that hour. */
export type HealthHour = {
  /** Start of the hour, UTC ISO. */
  t: string;
  /** Heartbeats received in the hour; 0: the device was not heard (the figures are null). */
  heartbeats: number;
  /** The largest outbox backlog reported (captures waiting). */
  pending_captures: number | null;
  /** The least free disk reported, bytes. */
  disk_free_bytes: number | null;
  /** The clock offset farthest from zero, ms (the agent's own measurement). */
  clock_offset_ms: number | null;
};

/**
 * A device's health by the hour over the last `days` days of `device_heartbeats` (kept for
 * `CTI_DEVICE_HISTORY_DAYS`), from the hour of its first heartbeat in that window to the current hour;
 * hours without a heartbeat are rows with `heartbeats: 0`, so silence shows as a gap. Empty when the
 * device sent nothing in the window. The caller has already checked that the principal may see the
 * device. Hours are UTC hours whatever the session's TimeZone (the server sets none, so it is the
 * database's default, which may be half an hour off UTC: Adelaide, India). One index range scan
 * (idx_device_heartbeats_device_time). `hidden`: a tstzmultirange of times none of whose heartbeats
 * count (device-queries' hiddenStays: the device's stays on farms the caller cannot read, review r11
 * F12, r14 F6).
 *
 * @example const hours = await deviceHealthTrend(sql, id, 7, { hidden: hiddenStays(sql, principal, sql`${id}::uuid`) });
 */
export async function deviceHealthTrend(
  sql: Db,
  deviceId: string,
  days: number,
  { hidden = null }: { hidden?: Fragment | null } = {},
): Promise<HealthHour[]> {
  return sql<HealthHour[]>`
    WITH beats AS (
      SELECT date_trunc('hour', received_at, 'UTC') AS hour, pending_captures, disk_free_bytes, clock_offset_ms
        FROM device_heartbeats
       WHERE device_id = ${deviceId} AND received_at > now() - make_interval(days => ${days})
         AND NOT ${hidden ?? sql`'{}'::tstzmultirange`} @> received_at
    ), hours AS (
      SELECT generate_series(min(hour), date_trunc('hour', now(), 'UTC'), interval '1 hour') AS hour FROM beats
    )
    SELECT to_char(h.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS t,
           count(b.hour)::int AS heartbeats,
           max(b.pending_captures)::int AS pending_captures,
           min(b.disk_free_bytes)::float8 AS disk_free_bytes,
           (array_agg(b.clock_offset_ms ORDER BY abs(b.clock_offset_ms) DESC NULLS LAST))[1] AS clock_offset_ms
      FROM hours h LEFT JOIN beats b ON b.hour = h.hour
     GROUP BY h.hour
     ORDER BY h.hour`;
}
