// Shared by the device tests (excluded from the build): a test app with devices, heartbeat bodies,
// signed requests, users to notify.
import { after, before, beforeEach } from 'node:test';
import { HEARTBEAT_VERSION, type HeartbeatBody, parseDeviceSecret, signDeviceRequest } from '@cti/contracts';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import { createTestApp, type TestApp } from '../test-helpers.ts';
import { addDeviceKey } from './device-keys.ts';

export const MB = 1024 * 1024;

/** A healthy device's heartbeat; `patch` is merged one level deep (outbox, disk, clock, probe). */
export function heartbeatBody(
  deviceCode: string,
  sentAt: Date,
  patch: Partial<HeartbeatBody> = {},
): HeartbeatBody {
  const base: HeartbeatBody = {
    heartbeat_version: HEARTBEAT_VERSION,
    device_code: deviceCode,
    sent_at: sentAt.toISOString(),
    agent_version: '0.1.0',
    models: [{ name: 'ribeye-hint', version: '2.3.0' }],
    uptime_s: 3600,
    outbox: { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 },
    last_capture_at: null,
    last_upload_at: null,
    disk: { free_bytes: 20_000 * MB, floor_bytes: 200 * MB },
    clock: { synced: true, source: 'timesyncd', offset_ms: 12 },
    probe: { connected: true, kind: 'serial', model: 'Convex-3.5MHz', frame_rate_fps: 14.9 },
    health: { ok: true, reason: null },
    last_error: null,
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = merged[key];
    merged[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? { ...current, ...value }
        : value;
  }
  return merged as HeartbeatBody;
}

/** A POST /devices/heartbeat RequestInit signed with `secret` (the text `device add` printed). */
export function signedHeartbeat(
  secret: string,
  body: unknown,
  {
    timestamp,
    device,
    contentType = 'application/json',
  }: { timestamp?: number; device?: string; contentType?: string } = {},
): RequestInit & { headers: Record<string, string>; body: string } {
  const key = parseDeviceSecret(secret);
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    ...signDeviceRequest({ body: raw, deviceCode: key.deviceCode, privateKey: key.privateKey, timestamp }),
    'content-type': contentType,
  };
  if (device !== undefined) headers['X-CTI-Device'] = device;
  return { method: 'POST', body: raw, headers };
}

/**
 * What the server recorded for heartbeat `heartbeatId` moved `seconds` into the past, as if the database
 * had received it then: the server stamps heartbeats with the database's clock (review r13 F7), which a
 * test cannot set. The history row, and the device's `received_at`, `silence_ended_at` and
 * `last_seen_at` where they are that heartbeat's time. Returns its new `received_at`.
 */
export async function backdateHeartbeat(sql: Sql, heartbeatId: string, seconds: number): Promise<Date> {
  const [row] = await sql<{ received_at: Date }[]>`
    WITH hb AS (
      SELECT device_id, received_at AS at, received_at - make_interval(secs => ${seconds}) AS moved
        FROM device_heartbeats WHERE id = ${heartbeatId}
    ), history AS (
      UPDATE device_heartbeats SET received_at = hb.moved FROM hb WHERE id = ${heartbeatId}
    ), health AS (
      UPDATE device_health h SET
        received_at = CASE WHEN h.received_at = hb.at THEN hb.moved ELSE h.received_at END,
        silence_ended_at = CASE WHEN h.silence_ended_at = hb.at THEN hb.moved ELSE h.silence_ended_at END
        FROM hb WHERE h.device_id = hb.device_id
    ), device AS (
      UPDATE devices d SET last_seen_at = hb.moved FROM hb WHERE d.id = hb.device_id AND d.last_seen_at = hb.at
    )
    SELECT moved AS received_at FROM hb`;
  if (!row) throw new Error(`no heartbeat ${heartbeatId}`);
  return row.received_at;
}

/** An admin, a technician and a farmer; device notifications go to the first two only. */
export async function createStaff(sql: Sql): Promise<Record<'admin' | 'technician' | 'farmer', string>> {
  const ids = {} as Record<'admin' | 'technician' | 'farmer', string>;
  for (const role of ['admin', 'technician', 'farmer'] as const) {
    const [user] = await sql<
      { id: string }[]
    >`INSERT INTO users (email) VALUES (${`${role}@fleet.test`}) RETURNING id`;
    await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${user!.id}, id FROM roles WHERE name = ${role}`;
    ids[role] = user!.id;
  }
  return ids;
}

/** Notifications of one type, as `email dedupe_key` lines. */
export async function notificationsOf(sql: Sql, type: string): Promise<string[]> {
  const rows = await sql<{ line: string }[]>`
    SELECT u.email || ' ' || n.dedupe_key AS line FROM notifications n JOIN users u ON u.id = n.user_id
    WHERE n.type = ${type} ORDER BY n.dedupe_key, u.email`;
  return rows.map((r) => r.line);
}

export type FleetTestContext = {
  readonly db: TestDatabase;
  readonly server: TestApp;
  /** The secret `device add` printed for each device of the file, fresh for every test. */
  readonly secrets: Record<string, string>;
};

/**
 * File-level hooks: a migrated test database with staff users and an app whose clock is `clock`;
 * before every test the device tables are emptied and `devices` are added again (new keys).
 */
export function useFleetTestApp(
  clock: () => number,
  devices: [code: string, label?: string][],
): FleetTestContext {
  let db: TestDatabase | undefined;
  let server: TestApp | undefined;
  const secrets: Record<string, string> = {};
  before(async () => {
    db = await createTestDatabase();
    server = createTestApp(db.sql, {}, { clock });
    await createStaff(db.sql);
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    await db!
      .sql`TRUNCATE device_heartbeats, device_health, device_request_rejections, device_keys, notifications, devices CASCADE`;
    for (const [code, label] of devices)
      secrets[code] = (await addDeviceKey(db!.sql, code, { label: label ?? null })).secret;
  });
  return {
    get db() {
      return db!;
    },
    get server() {
      return server!;
    },
    secrets,
  };
}
