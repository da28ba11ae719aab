import { createHash } from 'node:crypto';
import type { HeartbeatBody } from '@cti/contracts';
import type { Sql, TransactionSql } from 'postgres';
import { HttpError } from '../errors.ts';
import { type CurrentKey, keyUsed } from './device-keys.ts';
import { type DeviceRef, notifyDeviceEpisode } from './device-notifications.ts';
import { type EpisodeState, type EpisodeType, evaluateEpisodes, type Thresholds } from './health-episodes.ts';

/** The same signed request arrived again inside the timestamp window: a replay, nothing recorded. */
export class DuplicateHeartbeatError extends Error {
  override name = 'DuplicateHeartbeatError';
}

/** The device has had its bound of heartbeats in the last minute: nothing recorded. */
export class HeartbeatRateError extends Error {
  override name = 'HeartbeatRateError';
  readonly retryAfterSeconds: number;
  constructor(perMinute: number, retryAfterSeconds: number) {
    super(
      `this device sent more than ${perMinute} heartbeats per minute (CTI_DEVICE_HEARTBEATS_PER_MINUTE): nothing was recorded; send again in ${retryAfterSeconds} s`,
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type HeartbeatInput = {
  deviceId: string;
  key: CurrentKey;
  body: HeartbeatBody;
  /** The raw signature bytes (replay detection). */
  signature: Uint8Array;
  /**
   * A stored `sent_at` counts as at most this far after its `received_at` when deciding whether a new
   * heartbeat is older (superseded): a snapshot stored with a future `sent_at` (before the route
   * refused those) cannot hold later heartbeats back for longer.
   */
  sentAtToleranceSeconds: number;
  thresholds: Thresholds;
  /** At most this many recorded in any 60 s per device (0: no limit); one more is a HeartbeatRateError. */
  perMinute?: number;
  /** This process's clock (ms since the epoch), only to tell how far the database's runs ahead of it. */
  clock?: () => number;
};

const EPISODE_COLUMNS: Record<EpisodeType, 'backlog_since' | 'disk_low_since' | 'clock_unsynced_since'> = {
  device_backlog: 'backlog_since',
  device_disk_low: 'disk_low_since',
  device_clock_unsynced: 'clock_unsynced_since',
};

const int = (n: number | null | undefined) => (n === null || n === undefined ? null : Math.round(n) || 0);
/**
 * Frames per second to 0.01, as the reference agent sends them: the column is a `real`, and a
 * schema-valid tiny rate (1e-50) was "out of range for type real" at insert, a 500 (review r11 F4).
 */
const fps = (n: number | null | undefined) =>
  n === null || n === undefined ? null : Math.round(n * 100) / 100 || 0;
const time = (iso: string | null | undefined) => (iso ? new Date(iso) : null);

/** The figures a trend chart reads, as columns of both device_heartbeats and device_health. */
function trendColumns(b: HeartbeatBody) {
  return {
    pending_captures: b.outbox.pending_captures,
    pending_bytes: b.outbox.pending_bytes,
    oldest_pending_age_s: int(b.outbox.oldest_pending_age_s),
    quarantined: b.outbox.quarantined,
    disk_free_bytes: b.disk.free_bytes,
    clock_synced: b.clock.synced,
    clock_offset_ms: int(b.clock.offset_ms),
    probe_connected: b.probe.connected,
    frame_rate_fps: fps(b.probe.frame_rate_fps),
  };
}

function healthColumns(b: HeartbeatBody, receivedAt: Date, skewMs: number) {
  return {
    received_at: receivedAt,
    sent_at: new Date(b.sent_at),
    clock_skew_ms: skewMs,
    agent_version: b.agent_version,
    uptime_s: b.uptime_s,
    system_uptime_s: b.system_uptime_s ?? null,
    ...trendColumns(b),
    last_capture_at: time(b.last_capture_at),
    last_upload_at: time(b.last_upload_at),
    disk_floor_bytes: b.disk.floor_bytes ?? null,
    clock_source: b.clock.source ?? null,
    probe_kind: b.probe.kind ?? null,
    probe_model: b.probe.model ?? null,
    health_ok: b.health?.ok ?? null,
    health_reason: b.health?.reason ?? null,
    last_error_at: time(b.last_error?.at),
    last_error: b.last_error?.message ?? null,
    ear_tag_reader_connected: b.ear_tag_reader?.connected ?? null,
    silent_since: null,
    updated_at: receivedAt,
  };
}

/**
 * Record an authenticated heartbeat in one transaction: the history row (refused as a replay when the
 * same signed request was seen before), the device's latest snapshot and episode state,
 * `devices.last_seen_at`, the key's use (which ends a rotation overlap), and one notification per
 * health episode this heartbeat starts. The device row is locked first, so heartbeats of one device
 * evaluate episodes one after another even across server replicas; then its health row, which the
 * fleet check's silence claim locks too (review r13 F13): a check that marked the device silent first
 * is seen here (and ended with `device_back`), and a check after this heartbeat re-reads its
 * `received_at` and finds no silence — never a silence announced that no "back" ends.
 *
 * Every time recorded (`received_at`, `last_seen_at`, episode starts, `silence_ended_at`, the key's use)
 * and compared (the rate window, the superseded rule, `clock_skew_ms`) is the database's: the
 * transaction's `now()`, read with the device's lock (no extra round trip), the clock the fleet check
 * measures silence on. A replica's own clock, behind by more than the silence threshold, made a Pi heard
 * a second ago "silent" then "back" at every check; one ahead delayed real silences (review r13 F7,
 * review r11 F13). `databaseAheadMs` says how far the database's clock is ahead of `clock`'s, so the
 * answer's `server_time_ms` (the agent's offset measurement) is on the same clock.
 *
 * A heartbeat sent before the one the snapshot holds (delayed on the way, or an older signed request
 * replayed inside the timestamp window, or a device clock stepped back by NTP) is `superseded`: kept
 * in the history, counted, and it is "last heard" (received_at, so it ends a silence), but it neither
 * overwrites the newer figures nor opens or closes a health episode.
 */
export async function recordHeartbeat(sql: Sql, input: HeartbeatInput) {
  const { deviceId, key, body, clock = Date.now } = input;
  return sql.begin(async (tx) => {
    // The callback starts once BEGIN is done: `now()` (the transaction's start) is about this instant.
    const local = clock();
    const [device] = await tx<(DeviceRef & { retired_at: Date | null; received_at: Date })[]>`
      SELECT id, device_code, label, retired_at, now() AS received_at FROM devices WHERE id = ${deviceId} FOR UPDATE`;
    if (!device) throw unknownDevice(deviceId);
    // Retired between the key check and this lock (retireDevice locks the row too): still refused.
    if (device.retired_at) throw retiredError(device.device_code, device.retired_at);
    const receivedAt = device.received_at;
    const databaseAheadMs = receivedAt.getTime() - local;
    const skewMs = new Date(body.sent_at).getTime() - receivedAt.getTime();
    await refuseOverRate(tx, deviceId, receivedAt, input.perMinute ?? 0);
    const [previous] = await tx<(EpisodeState & { sent_at: Date; silent_since: Date | null })[]>`
      SELECT backlog_since AS device_backlog, disk_low_since AS device_disk_low,
             clock_unsynced_since AS device_clock_unsynced, silent_since,
             least(sent_at, received_at + make_interval(secs => ${input.sentAtToleranceSeconds})) AS sent_at
      FROM device_health WHERE device_id = ${deviceId} FOR UPDATE`;
    const heartbeatId = await insertHistory(tx, input, receivedAt);
    const seen = async () => {
      await tx`
        UPDATE devices SET last_seen_at = GREATEST(last_seen_at, ${receivedAt}), updated_at = now()
        WHERE id = ${deviceId}`;
      await keyUsed(tx, deviceId, key, receivedAt);
      if (previous?.silent_since) await silenceEnded(tx, device, previous.silent_since, receivedAt);
    };
    if (previous && new Date(body.sent_at).getTime() < previous.sent_at.getTime()) {
      // Still "last heard" (received_at, which silence is measured from) and the end of a silence.
      await tx`
        UPDATE device_health SET heartbeats_total = heartbeats_total + 1, silent_since = NULL,
          received_at = GREATEST(received_at, ${receivedAt}), updated_at = ${receivedAt}
        WHERE device_id = ${deviceId}`;
      await seen();
      return {
        heartbeatId,
        started: [] as EpisodeType[],
        skewMs,
        superseded: true,
        receivedAt,
        databaseAheadMs,
      };
    }
    const { state, started } = evaluateEpisodes({
      body,
      skewMs,
      previous: previous ?? { device_backlog: null, device_disk_low: null, device_clock_unsynced: null },
      thresholds: input.thresholds,
      at: receivedAt,
    });
    const row = {
      ...healthColumns(body, receivedAt, skewMs),
      heartbeat_id: heartbeatId,
      models: tx.json((body.models ?? []) as never),
      body: tx.json(body as never),
      ...Object.fromEntries(
        Object.entries(EPISODE_COLUMNS).map(([type, column]) => [column, state[type as EpisodeType]]),
      ),
    };
    await tx`
      INSERT INTO device_health ${tx({ device_id: deviceId, ...row })}
      ON CONFLICT (device_id) DO UPDATE SET ${tx(row)}, heartbeats_total = device_health.heartbeats_total + 1`;
    await seen();
    for (const episode of started) await notifyDeviceEpisode(tx, { ...episode, device });
    return {
      heartbeatId,
      started: started.map((e) => e.type),
      skewMs,
      superseded: false,
      receivedAt,
      databaseAheadMs,
    };
  });
}

/** Deleted (psql) between the key check and the lock: refused as authenticateDevice refuses a device it does not know. */
function unknownDevice(deviceId: string): HttpError {
  return new HttpError(
    401,
    'unknown_device',
    `no device with id ${deviceId}: it was deleted as its heartbeat arrived`,
  );
}

/** The 401 a retired device's heartbeat gets (also from authenticateDevice). */
export function retiredError(deviceCode: string, retiredAt: Date): HttpError {
  return new HttpError(
    401,
    'device_retired',
    `device ${deviceCode} was retired at ${retiredAt.toISOString()}: its heartbeats are refused; an admin brings it back with \`cti-server device unretire ${deviceCode}\` and a new key (\`cti-server device add ${deviceCode}\`)`,
  );
}

/**
 * The heartbeat that ends a notified silence (`silent_since` was set by the fleet check, which notified
 * it): a `device_back` notification keyed by the same episode, saying how long the device was not heard,
 * and `silence_ended_at`, from which the fleet check's hysteresis counts (CTI_DEVICE_SILENT_RENOTIFY_S).
 */
async function silenceEnded(tx: TransactionSql, device: DeviceRef, since: Date, backAt: Date) {
  await tx`UPDATE device_health SET silence_ended_at = ${backAt} WHERE device_id = ${device.id}`;
  await notifyDeviceEpisode(tx, {
    type: 'device_back',
    device,
    since,
    details: {
      last_heard_at: since.toISOString(),
      back_at: backAt.toISOString(),
      silent_for_s: Math.max(0, Math.round((backAt.getTime() - since.getTime()) / 1000)),
    },
  });
}

/**
 * The device row is locked, so heartbeats of one device are counted one after another on every replica.
 * The newest `perMinute` rows of the last minute (idx_device_heartbeats_device_time) say whether one
 * more fits, and when the oldest of them leaves the window (Retry-After).
 */
async function refuseOverRate(tx: TransactionSql, deviceId: string, receivedAt: Date, perMinute: number) {
  if (perMinute <= 0) return;
  const since = new Date(receivedAt.getTime() - 60_000);
  const [window] = await tx<{ n: number; oldest: Date | null }[]>`
    SELECT count(*)::int AS n, min(received_at) AS oldest FROM (
      SELECT received_at FROM device_heartbeats WHERE device_id = ${deviceId} AND received_at > ${since}
       ORDER BY received_at DESC LIMIT ${perMinute}) w`;
  if (!window || window.n < perMinute || !window.oldest) return;
  const waitMs = window.oldest.getTime() + 60_000 - receivedAt.getTime();
  throw new HeartbeatRateError(perMinute, Math.max(1, Math.ceil(waitMs / 1000)));
}

async function insertHistory(
  tx: TransactionSql,
  { deviceId, key, body, signature }: HeartbeatInput,
  receivedAt: Date,
) {
  const [row] = await tx<{ id: string }[]>`
    INSERT INTO device_heartbeats ${tx({
      device_id: deviceId,
      key_id: key.keyId,
      received_at: receivedAt,
      sent_at: new Date(body.sent_at),
      signature_sha256: createHash('sha256').update(signature).digest(),
      ...trendColumns(body),
      body: tx.json(body as never),
    })}
    ON CONFLICT (device_id, signature_sha256) DO NOTHING
    RETURNING id`;
  if (!row) throw new DuplicateHeartbeatError('this signed heartbeat was already received (a replay)');
  return row.id;
}
