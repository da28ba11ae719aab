import type { Sql } from 'postgres';
import { isAdmin, isTechnician, type Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { lockDeviceForMove } from '../devices/device-lock.ts';
import { refusalWords } from '../devices/refusal-words.ts';
import { HttpError } from '../errors.ts';
import { moveTimeRefusal, NO_REFILE, type Refile, refileScans, setMoveTime } from './device-move.ts';
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
  /** Heartbeats naming this device refused since its last accepted one (device_request_rejections); null: none. */
  heartbeats_refused: HeartbeatRefusal | null;
  /** What the Pi says of its own captures and uploads in its latest accepted heartbeat; null: never heard. */
  reported: ReportedUploads | null;
  /**
   * The Pi reported an upload more than `uploadArrivalSeconds` ago (its clock corrected by its measured
   * offset) and no capture of it arrived here since: the relay, the bucket or the webhook is broken.
   */
  uploads_not_arriving: boolean;
  /** Retired by an admin (`cti-server device retire`, migration 0022): listed apart, never silent; null: in service. */
  retired: DeviceRetirement | null;
  /**
   * Its heartbeats, last seen and snapshot are shown to the caller only from this time: the device came
   * from a farm they cannot read: the end of its latest stay hidden from them (hiddenStays; earlier
   * stays on their farms are shown); null: nothing hidden.
   */
  history_from: string | null;
};

export type DeviceRetirement = { at: string; by: string; reason: string | null };

export type HeartbeatRefusal = {
  /** The first refusal after the last accepted heartbeat (within the kept history). */
  since: string;
  /** The newest refusal; its status and code below. */
  last_at: string;
  /** Refusals naming the device in the last hour (any code), counted up to REFUSALS_COUNTED ("1000 or more"). */
  last_hour: number;
  http_status: number;
  error_code: string;
  /** The newest refusal's cause in words, and what fixes it (devices/refusal-words.ts). */
  reason: string;
  fix: string;
};

export type ReportedUploads = {
  /** The Pi's last successful upload, by its own clock; null also when that was in a stay hidden from the caller. */
  last_upload_at: string | null;
  last_capture_at: string | null;
  /** Captures since the agent started (`captures_by_result.captured`); null: not reported, or withheld. */
  captured: number | null;
  /** When the agent started: the heartbeat's arrival minus its uptime; null: withheld. */
  agent_started_at: string | null;
  /** The agent ran or held its backlog through a stay on a farm the caller cannot read (carriedOver): its counters are null. */
  withheld: boolean;
};

/** The hour's refusals are counted up to this many: a flood of forged requests costs a bounded index read. */
export const REFUSALS_COUNTED = 1000;
/** Slack between the Pi's corrected upload time and an arrival here (offset measurement, replica clocks). */
const ARRIVAL_SLACK_S = 60;
/** What listDevices judges devices by (the server's config); the defaults serve the lists that show no health (scan filters, exports). */
export type DeviceReadSettings = { uploadArrivalSeconds: number; signatureToleranceSeconds: number };
const DEFAULTS: DeviceReadSettings = { uploadArrivalSeconds: 900, signatureToleranceSeconds: 300 };
export const deviceReadSettings = (config: {
  devices: { uploadArrivalSeconds: number };
  signatureToleranceSeconds: number;
}): DeviceReadSettings => ({
  uploadArrivalSeconds: config.devices.uploadArrivalSeconds,
  signatureToleranceSeconds: config.signatureToleranceSeconds,
});

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
 * The times of device `device`'s activity hidden from a principal, as a tstzmultirange: its stays on
 * farms they cannot read (review r11 F12, r14 F4, F6). A stay runs from a move into a farm
 * (device_farm_moves, migrations 0023/0024) to the next move; the stay before its first move is on
 * that move's `from_farm_id` — or, when the device was unassigned until then (a Pi registered without a
 * farm, then claimed), on the first farm it was given: setting a Pi up is no stay of its own (review r15
 * F4), so its first farm's people see it whole. A later unassigned stay is readable by technicians (they see unassigned
 * devices), not by farmers. Empty for admins and for a device never moved. A heartbeat, last seen or
 * reported time inside it is not shown; what a viewer sees is the device's time on farms they read —
 * A → B → A shows A both stays, B → unassigned → A shows A's farmer neither B nor the unassigned stay.
 * One range of idx_device_farm_moves_device.
 */
export function hiddenStays(sql: Db, principal: Principal, device: Fragment = sql`d.id`): Fragment {
  if (isAdmin(principal)) return sql`'{}'::tstzmultirange`;
  const unassigned = isTechnician(principal) ? sql`TRUE` : sql`FALSE`;
  return sql`(
    SELECT coalesce(range_agg(tstzrange(st.since, st.until)), '{}'::tstzmultirange) FROM (
      SELECT m.to_farm_id AS farm_id, m.moved_at AS since,
             coalesce(lead(m.moved_at) OVER (ORDER BY m.moved_at, m.id), 'infinity') AS until
        FROM device_farm_moves m WHERE m.device_id = ${device}
      UNION ALL
      (SELECT coalesce(m.from_farm_id, m.to_farm_id), '-infinity', m.moved_at FROM device_farm_moves m
        WHERE m.device_id = ${device} ORDER BY m.moved_at, m.id LIMIT 1)) st
     WHERE NOT CASE WHEN st.farm_id IS NULL THEN ${unassigned}
                    ELSE ${readableFarm(sql, principal, sql`st.farm_id`)} END)`;
}

/**
 * The captures of `d` and the last that arrived, as the caller may know them: the device's own counts
 * for admins; for others the sum of its stored per-farm counts (device_farm_captures, migration 0024)
 * over the farms they may read (a Pi moved between farms does not tell one farm's farmer how much was
 * captured on another, review r11 F12) — a probe per farm of the device, not a pass over the scans
 * (review r14 F9). `mine.n` (null: none), `mine.last`.
 */
function capturesSeen(sql: Db, principal: Principal): Fragment {
  if (isAdmin(principal))
    return sql`CROSS JOIN LATERAL (SELECT d.captures_count AS n, d.last_upload_at AS last) mine`;
  return sql`
    CROSS JOIN LATERAL (
      SELECT sum(c.n)::int AS n, max(c.last_created_at) AS last FROM device_farm_captures c
       WHERE c.device_id = d.id AND ${readableFarm(sql, principal, sql`c.farm_id`)}) mine`;
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

/** `t` (a time of device `d`'s activity) when it lies outside the caller's hidden stays (`cut.hidden`), else null. */
const shown = (sql: Db, t: Fragment): Fragment => sql`CASE WHEN NOT cut.hidden @> ${t} THEN ${t} END`;

/**
 * `carried.over`: the snapshot `h`'s since-start counters (uptime, captures by result, discarded) or
 * outbox backlog (pending, oldest, quarantined) cover time in one of the caller's hidden stays — a Pi
 * carried to their farm without restarting its agent, its first heartbeats here still counting what it
 * did on the other farm (review r14 F2). Those figures are then withheld, not cut: the heartbeat says
 * no more than the totals.
 */
const carriedOver = (sql: Db): Fragment => sql`
  CROSS JOIN LATERAL (SELECT coalesce(h.device_id IS NOT NULL AND (
    cut.hidden && tstzrange(h.received_at - make_interval(secs => h.uptime_s), h.received_at)
    OR cut.hidden && tstzrange(h.received_at - make_interval(secs => coalesce(h.oldest_pending_age_s, 0)), h.received_at)), false) AS over) carried`;

/**
 * The fleet: last seen, last upload, captures (for a non-admin those of the scans they may read, and
 * last seen and the heartbeat snapshot outside hiddenStays: review r11 F12, r14 F4, F6), and scans captured "today" in `timeZone` (a zone as
 * Postgres reads it: an IANA name, or the POSIX form api/devices.ts makes of an ISO offset; default UTC) — only scans on farms the caller may see are counted, and not those captured ahead of
 * the server clock (sql-fragments' capturedAhead: a device clock running fast). `farmZones` (farm id →
 * zone): a device on one of those farms counts its "today" from midnight in its farm's zone instead
 * (the pages: each device in its farm's local time, review r11 F10); `today_starts_at` says which.
 */
export async function listDevices(
  sql: Db,
  principal: Principal,
  {
    timeZone = 'UTC',
    farmZones = new Map(),
    id,
    settings = DEFAULTS,
    counts = true,
  }: {
    timeZone?: string;
    farmZones?: ReadonlyMap<string, string>;
    id?: string;
    settings?: DeviceReadSettings;
    /** false: captures_count 0 and last_upload_at null, not computed (lists that show names only). */
    counts?: boolean;
  } = {},
) {
  const { uploadArrivalSeconds, signatureToleranceSeconds } = settings;
  try {
    const rows = await sql<DeviceRow[]>`
      WITH zones AS (SELECT * FROM unnest(${[...farmZones.keys()]}::uuid[], ${[...farmZones.values()]}::text[]) AS z(farm_id, zone))
      SELECT d.id, d.device_code, d.label,
             CASE WHEN f.id IS NULL THEN NULL ELSE json_build_object('id', f.id, 'name', f.name) END AS farm,
             ${isoUtc(sql, sql`CASE WHEN NOT cut.hidden @> d.last_seen_at THEN d.last_seen_at END`)} AS last_seen_at,
             ${isoUtc(sql, sql`mine.last`)} AS last_upload_at, coalesce(mine.n, 0) AS captures_count,
             (SELECT count(*)::int FROM scans s
               WHERE s.device_id = d.id AND ${scanSortKey(sql)} >= day.starts AND NOT ${capturedAhead(sql)}
                 AND ${readableFarm(sql, principal, sql`s.farm_id`)}) AS scans_today,
             ${isoUtc(sql, sql`day.starts`)} AS today_starts_at,
             ${editableDevice(sql, principal)} AS can_edit,
             CASE WHEN rf.last_at IS NOT NULL THEN json_build_object(
               'since', ${isoUtc(sql, sql`rf.since`)}, 'last_at', ${isoUtc(sql, sql`rf.last_at`)},
               'last_hour', rf.last_hour, 'http_status', rf.http_status, 'error_code', rf.error_code) END AS heartbeats_refused,
             CASE WHEN h.device_id IS NOT NULL THEN json_build_object(
               'last_upload_at', ${isoUtc(sql, shown(sql, sql`h.last_upload_at`))},
               'last_capture_at', ${isoUtc(sql, shown(sql, sql`h.last_capture_at`))},
               'captured', CASE WHEN jsonb_typeof(h.body->'captures_by_result'->'captured') = 'number' AND NOT carried.over
                                THEN (h.body->'captures_by_result'->>'captured')::int END,
               'agent_started_at', CASE WHEN NOT carried.over THEN ${isoUtc(sql, sql`(h.received_at - make_interval(secs => h.uptime_s))`)} END,
               'withheld', carried.over) END AS reported,
             coalesce(up.at < now() - make_interval(secs => ${uploadArrivalSeconds})
                      AND (d.last_upload_at IS NULL OR d.last_upload_at < up.at - make_interval(secs => ${ARRIVAL_SLACK_S})),
                      false) AS uploads_not_arriving,
             CASE WHEN d.retired_at IS NOT NULL THEN json_build_object(
               'at', ${isoUtc(sql, sql`d.retired_at`)}, 'by', coalesce(d.retired_by, 'unknown'),
               'reason', d.retired_reason) END AS retired,
             ${isoUtc(sql, sql`upper(cut.hidden)`)} AS history_from
        FROM devices d LEFT JOIN farms f ON f.id = d.farm_id
        -- OFFSET 0: evaluated once per device, not copied into each of its uses.
        CROSS JOIN LATERAL (SELECT ${hiddenStays(sql, principal)} AS hidden OFFSET 0) cut
        ${counts ? capturesSeen(sql, principal) : sql`CROSS JOIN LATERAL (SELECT NULL::int AS n, NULL::timestamptz AS last) mine`}
        CROSS JOIN LATERAL (SELECT coalesce((SELECT z.zone FROM zones z WHERE z.farm_id = d.farm_id), ${timeZone}) AS zone) tz
        CROSS JOIN LATERAL (SELECT date_trunc('day', now() AT TIME ZONE tz.zone) AT TIME ZONE tz.zone AS starts) day
        LEFT JOIN device_health h ON h.device_id = d.id AND NOT cut.hidden @> h.received_at
        ${carriedOver(sql)}
        -- The Pi's last upload on the server's clock (its offset: the agent's measurement, else the skew).
        CROSS JOIN LATERAL (
          SELECT ${shown(sql, sql`h.last_upload_at`)} - make_interval(secs => coalesce(h.clock_offset_ms, h.clock_skew_ms)::float8 / 1000) AS at) up
        ${refusalJoin(sql, sql`coalesce(upper(cut.hidden), '-infinity')`)}
       WHERE ${visibleDevice(sql, principal)} ${id ? sql`AND d.id = ${id}` : sql``}
       ORDER BY d.device_code`;
    for (const row of rows) {
      const refused = row.heartbeats_refused;
      if (refused)
        Object.assign(refused, refusalWords(refused.error_code, row.device_code, signatureToleranceSeconds));
    }
    return rows;
  } catch (err) {
    if ((err as { code?: string }).code === '22023') {
      throw new HttpError(422, 'invalid_request', 'unknown time zone', {
        problems: [{ pointer: '/query/tz', message: 'is not a time zone the database knows' }],
      });
    }
    throw err;
  }
}

/**
 * `rf`: the newest refused heartbeat naming device `d` since its last accepted one (`h`), the first of
 * them, and the last hour's count (every refusal naming it, replays too) — three probes of
 * idx_device_request_rejections_device, never a scan of the table. A replayed request (409) alone
 * shows nothing: the heartbeat it repeats was recorded. None before `from` (the end of the caller's latest hidden stay). Also
 * `cti-server device list`'s.
 */
export const refusalJoin = (sql: Db, from: Fragment = sql`'-infinity'::timestamptz`): Fragment => sql`
  LEFT JOIN LATERAL (
    SELECT r.created_at AS last_at, r.http_status, r.error_code,
           (SELECT min(r2.created_at) FROM device_request_rejections r2
             WHERE r2.device_code = d.device_code AND r2.created_at > greatest(coalesce(h.received_at, '-infinity'), ${from})
               AND r2.error_code <> 'replayed_request') AS since,
           -- Index-only, so it stops at the limit: with a filter on error_code the planner takes a bitmap
           -- scan that reads a flood whole (100,000 rows of one device: 140 ms against 1–6 ms).
           (SELECT count(*)::int FROM (
              SELECT 1 FROM device_request_rejections r3
               WHERE r3.device_code = d.device_code AND r3.created_at > greatest(now() - interval '1 hour', ${from})
               LIMIT ${REFUSALS_COUNTED}) n) AS last_hour
      FROM device_request_rejections r
     WHERE r.device_code = d.device_code AND r.created_at > greatest(coalesce(h.received_at, '-infinity'), ${from})
       AND r.error_code <> 'replayed_request'
     ORDER BY r.created_at DESC LIMIT 1) rf ON true`;

/**
 * Scans of a device captured at or after `since` on farms the principal may see (the device page sets
 * them beside the Pi's "captured since the agent started"). One range of idx_scans_device_captured.
 */
export async function countDeviceScansSince(
  sql: Db,
  principal: Principal,
  deviceId: string,
  since: string,
): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM scans s
     WHERE s.device_id = ${deviceId} AND s.captured_at >= ${since}
       AND ${readableFarm(sql, principal, sql`s.farm_id`)}`;
  return row!.n;
}

/** The latest heartbeat snapshot of a device (`device_health`, migration 0006) as the fleet page shows it. */
export type DeviceHealthRow = {
  device_id: string;
  received_at: string;
  /** Seconds since the last heartbeat, by the database clock. */
  age_s: number;
  agent_version: string;
  /** null (with the outbox figures below): counters_withheld. */
  uptime_s: number | null;
  pending_captures: number | null;
  pending_bytes: number | null;
  oldest_pending_age_s: number | null;
  quarantined: number | null;
  /** Captures given up on the device (heartbeat `outbox.discarded`); null when the agent does not report it. */
  discarded: number | null;
  disk_free_bytes: number | null;
  disk_floor_bytes: number | null;
  /**
   * Free inodes on the data volume (heartbeat `disk.free_inodes`): under DISK_INODES_SHORT the agent
   * refuses captures with bytes free. null: its file system does not count them, or an older agent.
   */
  disk_free_inodes: number | null;
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
  /**
   * The GPIO capture button (heartbeat `capture_button`): down = the agent cannot open it and retries,
   * since when (null in a stay hidden from the caller) and why. null: no GPIO button, or not reported.
   */
  capture_button: LineHealth | null;
  /**
   * The status LED and buzzer (heartbeat `status_signals`), each like capture_button: down = the agent
   * cannot drive the line (a write failed, or it never opened) and re-opens it; null: not configured.
   * null in whole: neither configured, or an agent that does not report them.
   */
  status_signals: { led: LineHealth | null; buzzer: LineHealth | null } | null;
  /**
   * The agent ran, or held its backlog, through a stay of the device on a farm the caller cannot read
   * (carriedOver, review r14 F2): uptime, captures by result, discarded and the outbox figures are null.
   */
  counters_withheld: boolean;
};

/** A GPIO line the agent retries while it is down (the capture button, the LED, the buzzer). */
export type LineHealth = { up: boolean; down_since: string | null; error: string | null };

/**
 * A line's health in the heartbeat (`b`: its jsonb) as DeviceHealthRow's; null unless it has a boolean
 * `up`. The route checked `down_since` to be a UTC date-time; year 0000, which that allows and Postgres
 * has not, is left out rather than failing the read.
 */
function lineHealth(sql: Db, b: Fragment): Fragment {
  const downSince = sql`(CASE WHEN jsonb_typeof(${b}->'down_since') = 'string' AND ${b}->>'down_since' NOT LIKE '0000%'
                              THEN (${b}->>'down_since')::timestamptz END)`;
  return sql`CASE WHEN jsonb_typeof(${b}->'up') = 'boolean' THEN jsonb_build_object(
    'up', (${b}->>'up')::boolean,
    'down_since', ${isoUtc(sql, shown(sql, downSince))},
    'error', CASE WHEN jsonb_typeof(${b}->'error') = 'string' THEN ${b}->>'error' END) END`;
}

/**
 * Health snapshots of the devices the principal may see (the same rule as listDevices); `id`: one
 * device. A snapshot heard in a stay hidden from the caller (hiddenStays: on a farm they cannot read) is
 * left out; times in such a stay are null, and counters that cover one withheld (carriedOver).
 */
export function listDeviceHealth(sql: Db, principal: Principal, opts: { id?: string } = {}) {
  const unlessCarried = (v: Fragment) => sql`CASE WHEN NOT carried.over THEN ${v} END`;
  return sql<DeviceHealthRow[]>`
    SELECT h.device_id, ${isoUtc(sql, sql`h.received_at`)} AS received_at,
           extract(epoch FROM now() - h.received_at)::float8 AS age_s, h.agent_version,
           ${unlessCarried(sql`h.uptime_s::float8`)} AS uptime_s,
           ${unlessCarried(sql`h.pending_captures`)} AS pending_captures,
           ${unlessCarried(sql`h.pending_bytes::float8`)} AS pending_bytes,
           ${unlessCarried(sql`h.oldest_pending_age_s`)} AS oldest_pending_age_s,
           ${unlessCarried(sql`h.quarantined`)} AS quarantined,
           h.disk_free_bytes::float8 AS disk_free_bytes, h.disk_floor_bytes::float8 AS disk_floor_bytes,
           CASE WHEN jsonb_typeof(h.body->'disk'->'free_inodes') = 'number'
                THEN (h.body->'disk'->>'free_inodes')::float8 END AS disk_free_inodes,
           h.clock_synced, h.clock_source, h.clock_offset_ms, h.probe_connected, h.probe_model,
           h.frame_rate_fps::float8 AS frame_rate_fps, h.health_ok, h.health_reason,
           CASE WHEN NOT cut.hidden @> h.last_error_at THEN h.last_error END AS last_error,
           ${isoUtc(sql, shown(sql, sql`h.last_error_at`))} AS last_error_at,
           ${isoUtc(sql, shown(sql, sql`h.silent_since`))} AS silent_since,
           ${isoUtc(sql, shown(sql, sql`h.backlog_since`))} AS backlog_since,
           ${isoUtc(sql, shown(sql, sql`h.disk_low_since`))} AS disk_low_since,
           ${isoUtc(sql, shown(sql, sql`h.clock_unsynced_since`))} AS clock_unsynced_since,
           h.models, ${unlessCarried(sql`h.body->'captures_by_result'`)} AS captures_by_result,
           CASE WHEN jsonb_typeof(h.body->'outbox'->'discarded') = 'number' AND NOT carried.over
                THEN (h.body->'outbox'->>'discarded')::int END AS discarded,
           ${lineHealth(sql, sql`h.body->'capture_button'`)} AS capture_button,
           CASE WHEN jsonb_typeof(h.body->'status_signals') = 'object' THEN jsonb_build_object(
             'led', ${lineHealth(sql, sql`h.body->'status_signals'->'led'`)},
             'buzzer', ${lineHealth(sql, sql`h.body->'status_signals'->'buzzer'`)}) END AS status_signals,
           carried.over AS counters_withheld
      FROM device_health h JOIN devices d ON d.id = h.device_id
      CROSS JOIN LATERAL (SELECT ${hiddenStays(sql, principal)} AS hidden OFFSET 0) cut
      ${carriedOver(sql)}
     WHERE ${visibleDevice(sql, principal)} AND NOT cut.hidden @> h.received_at
       ${opts.id ? sql`AND h.device_id = ${opts.id}` : sql``}`;
}

/**
 * The device's latest move when it is the one `movedAt` asks for again: to the farm it is on now
 * (`to`, unchanged), recorded at that very instant. Undefined otherwise (no time given, a farm change,
 * another time).
 */
async function recordedMove(
  tx: Db,
  deviceId: string,
  to: string | null,
  current: string | null,
  movedAt: string | undefined,
): Promise<{ from_farm_id: string | null } | undefined> {
  if (movedAt === undefined || to !== current) return undefined;
  // Compared here, not cast in SQL: a time Postgres cannot read must reach setMoveTime's refusal.
  const [last] = await tx<{ from_farm_id: string | null; to_farm_id: string | null; moved_at: Date }[]>`
    SELECT from_farm_id, to_farm_id, moved_at
      FROM device_farm_moves WHERE device_id = ${deviceId} ORDER BY moved_at DESC, id DESC LIMIT 1`;
  const same = last && last.to_farm_id === to && last.moved_at.getTime() === Date.parse(movedAt);
  return same ? { from_farm_id: last.from_farm_id } : undefined;
}

/**
 * Label and default farm of a device, by whoever may edit it (editableDevice): a device the principal
 * cannot see is null (404), one they see but may not change a 403; a new farm must be one they may
 * write (422 when they cannot see it, 403 when they only read it) — moving a device needs rights on
 * both farms, like moving an animal. A move may be dated when it happened (`moved_at`) and take along
 * the scans filed on the farm it left since then (`refile_scans`; device-move.ts). One transaction, the
 * device row locked. Returns the scans that a dated move found on the old farm, and those moved.
 */
export async function updateDevice(
  sql: Sql,
  principal: Principal,
  id: string,
  input: { label?: string | null; farm_id?: string | null; moved_at?: string; refile_scans?: boolean },
): Promise<Refile | null> {
  return sql.begin(async (tx) => {
    // A move takes the device's lock (exclusive) before its row: uploads in flight end first, later
    // ones wait for the move and file by it (device-lock.ts; review r17 F1, r19 F2).
    if ('farm_id' in input) await lockDeviceForMove(tx, id);
    const [device] = await tx<{ farm_id: string | null; can_edit: boolean }[]>`
      SELECT d.farm_id, ${editableDevice(tx, principal)} AS can_edit
        FROM devices d WHERE d.id = ${id} AND ${visibleDevice(tx, principal)} FOR UPDATE OF d`;
    if (!device) return null;
    if (!device.can_edit) throw forbidden('you may not change the devices of this farm');
    const to = 'farm_id' in input ? (input.farm_id ?? null) : device.farm_id;
    if (to && to !== device.farm_id)
      await requireWritableFarm(tx, principal, to, 'you may not move devices to that farm');
    const repeat = await recordedMove(tx, id, to, device.farm_id, input.moved_at);
    if (repeat) {
      // The dated move sent again (a double submit, a retried POST): it is recorded already, so it is
      // answered as done, not refused as "no change of farm" (review r18 F1). The label is written as
      // sent; the scans still on the farm it left are counted (and moved, if asked) as the first did.
      if ('label' in input)
        await tx`UPDATE devices SET label = ${input.label ?? null}, updated_at = now() WHERE id = ${id}`;
      const move = { deviceId: id, from: repeat.from_farm_id, to, movedAt: input.moved_at! };
      return refileScans(tx, principal, move, input.refile_scans === true);
    }
    const time = { movedAt: input.moved_at, refile: input.refile_scans };
    await setMoveTime(tx, time, { farmChanged: to !== device.farm_id, to });
    try {
      await tx`
        UPDATE devices d SET label = ${'label' in input ? (input.label ?? null) : (tx`d.label` as never)},
               farm_id = ${to}, updated_at = now()
         WHERE d.id = ${id}`;
    } catch (err) {
      throw moveTimeRefusal(err) ?? err;
    }
    if (input.moved_at === undefined) return NO_REFILE;
    const move = { deviceId: id, from: device.farm_id, to, movedAt: input.moved_at };
    return refileScans(tx, principal, move, input.refile_scans === true);
  });
}
