import { createDeviceKey, type NewDeviceKey } from '@cti/contracts';
import type { Sql, TransactionSql } from 'postgres';
import { refusalJoin } from '../access/device-queries.ts';
import { UUID_RE } from '../text/uuid.ts';
import { lockDeviceForMove } from './device-lock.ts';

type Db = Sql | TransactionSql;

// Device credentials in the database: only public keys (docs/adr/0002-device-authentication.md).

/** A key the device may sign with now, newest first. */
export type CurrentKey = { keyId: string; publicKey: Buffer; createdAt: Date };

export type DeviceKeys = { deviceId: string; retiredAt: Date | null; keys: CurrentKey[] } | null;

/**
 * The named device and its current keys (unexpired by the database's clock, which set their expiry: a
 * replica whose clock is behind must not take a revoked key); null when no such device exists.
 */
export async function currentKeys(sql: Sql, deviceCode: string): Promise<DeviceKeys> {
  const rows = await sql<
    {
      device_id: string;
      retired_at: Date | null;
      key_id: string | null;
      public_key: Buffer | null;
      created_at: Date | null;
    }[]
  >`
    SELECT d.id AS device_id, d.retired_at, k.id AS key_id, k.public_key, k.created_at
    FROM devices d
    LEFT JOIN device_keys k ON k.device_id = d.id AND (k.expires_at IS NULL OR k.expires_at > now())
    WHERE d.device_code = ${deviceCode}
    ORDER BY k.created_at DESC, k.id DESC`;
  const first = rows[0];
  if (!first) return null;
  const keys = rows.flatMap((r) =>
    r.key_id && r.public_key && r.created_at
      ? [{ keyId: r.key_id, publicKey: r.public_key, createdAt: r.created_at }]
      : [],
  );
  return { deviceId: first.device_id, retiredAt: first.retired_at, keys };
}

/**
 * The device has just signed with `key`: stamp its use and expire the device's older keys at once
 * (the rotation overlap ends as soon as the new secret is installed), in the caller's transaction.
 */
export async function keyUsed(sql: Db, deviceId: string, key: CurrentKey, at: Date): Promise<void> {
  await sql`UPDATE device_keys SET last_used_at = ${at} WHERE id = ${key.keyId}`;
  await sql`
    UPDATE device_keys SET expires_at = ${at}
    WHERE device_id = ${deviceId} AND id <> ${key.keyId} AND created_at <= ${key.createdAt}
      AND (expires_at IS NULL OR expires_at > ${at})`;
}

export class DeviceKeyConflictError extends Error {
  override name = 'DeviceKeyConflictError';
}

/** `device add --farm` named no farm, or more than one: nothing was written. */
export class DeviceFarmError extends Error {
  override name = 'DeviceFarmError';
}

/** The farm `ref` names: its id, or its exact name (names are not unique: two farms of one name are refused). */
export async function farmByRef(sql: Db, ref: string): Promise<{ id: string; name: string }> {
  const rows = await sql<{ id: string; name: string }[]>`
    SELECT id, name FROM farms
     WHERE name = ${ref} ${UUID_RE.test(ref) ? sql`OR id = ${ref}` : sql``}
     ORDER BY id LIMIT 6`;
  if (rows.length === 0)
    throw new DeviceFarmError(
      `--farm ${JSON.stringify(ref)} names no farm (give a farm's id or its exact name)`,
    );
  if (rows.length > 1)
    throw new DeviceFarmError(
      `--farm ${JSON.stringify(ref)} names ${rows.length > 5 ? 'more than 5' : rows.length} farms: give the id of one (${rows
        .slice(0, 5)
        .map((r) => r.id)
        .join(', ')})`,
    );
  return rows[0]!;
}

type Options = { label?: string | null; farm?: string | null };

/**
 * `device add`: the device (created when it does not exist yet — ingest may have created it from a
 * capture) gets its first key, and with `farm` (a farm's id or exact name) that default farm. Refused
 * when it already has a current key (that is a rotation), is retired, or `farm` names no farm, or
 * several: then nothing is written. Returns the key and the farm set, if any.
 */
export async function addDeviceKey(
  sql: Sql,
  deviceCode: string,
  { label = null, farm = null }: Options = {},
): Promise<NewDeviceKey & { farm: { id: string; name: string } | null }> {
  const key = createDeviceKey(deviceCode);
  let target: { id: string; name: string } | null = null;
  await sql.begin(async (tx) => {
    target = farm === null ? null : await farmByRef(tx, farm);
    const deviceId = await lockDevice(tx, deviceCode, label, target?.id ?? null);
    await refuseRetired(tx, deviceId, deviceCode);
    const [current] = await tx<{ fingerprint: string; created_at: Date }[]>`
      SELECT fingerprint, created_at FROM device_keys
      WHERE device_id = ${deviceId} AND (expires_at IS NULL OR expires_at > now())
      ORDER BY created_at DESC LIMIT 1`;
    if (current) {
      throw new DeviceKeyConflictError(
        `device ${deviceCode} already has key ${current.fingerprint} (created ${current.created_at.toISOString()}); ` +
          `to replace it run \`cti-server device rotate-secret ${deviceCode}\``,
      );
    }
    await insertKey(tx, deviceId, key);
  });
  return { ...key, farm: target };
}

/**
 * `device rotate-secret`: a new key for an existing device; its current keys stay valid for
 * `overlapSeconds` (0 = revoked now, e.g. a stolen Pi), or until the new key is first used. Refused
 * (nothing written) for no such device or a retired one.
 */
export async function rotateDeviceKey(
  sql: Sql,
  deviceCode: string,
  overlapSeconds: number,
): Promise<NewDeviceKey & { expiring: number }> {
  const key = createDeviceKey(deviceCode);
  let expiring = 0;
  await sql.begin(async (tx) => {
    const [device] = await tx<
      { id: string }[]
    >`SELECT id FROM devices WHERE device_code = ${deviceCode} FOR UPDATE`;
    if (!device)
      throw new DeviceKeyConflictError(
        `no device ${deviceCode}; create it with \`cti-server device add ${deviceCode}\``,
      );
    await refuseRetired(tx, device.id, deviceCode);
    const expired = await tx`
      UPDATE device_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => ${overlapSeconds}))
      WHERE device_id = ${device.id} AND (expires_at IS NULL OR expires_at > now())`;
    expiring = expired.count;
    await insertKey(tx, device.id, key);
  });
  return { ...key, expiring };
}

/**
 * A retired device gets no key (review r13 F2: its heartbeats are refused anyway, and the key would be
 * live at once after `unretire`): refused, in the caller's transaction, which holds its row lock.
 */
async function refuseRetired(sql: Db, deviceId: string, deviceCode: string): Promise<void> {
  const [row] = await sql<{ retired_at: Date | null; retired_by: string | null }[]>`
    SELECT retired_at, retired_by FROM devices WHERE id = ${deviceId}`;
  if (row?.retired_at)
    throw new DeviceKeyConflictError(
      `device ${deviceCode} is retired since ${row.retired_at.toISOString()} (by ${row.retired_by ?? 'unknown'}): ` +
        `unretire it first (\`cti-server device unretire ${deviceCode}\`), then issue its key`,
    );
}

async function lockDevice(
  sql: TransactionSql,
  deviceCode: string,
  label: string | null,
  farmId: string | null,
): Promise<string> {
  const [created] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, label, farm_id, s3_prefix_hint, captures_count)
    VALUES (${deviceCode}, ${label}, ${farmId}, ${`raw/${deviceCode}/`}, 0)
    ON CONFLICT (device_code) DO NOTHING RETURNING id`;
  if (created) return created.id;
  // A new farm is a move: it waits for the device's uploads in flight and they for it, as a move
  // through the API does (device-lock.ts; the advisory lock before the row, in that order everywhere).
  if (farmId !== null) {
    const [known] = await sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = ${deviceCode}`;
    await lockDeviceForMove(sql, known!.id);
  }
  const [device] = await sql<
    { id: string }[]
  >`SELECT id FROM devices WHERE device_code = ${deviceCode} FOR UPDATE`;
  if (label !== null || farmId !== null)
    await sql`
      UPDATE devices SET label = coalesce(${label}, label), farm_id = coalesce(${farmId}::uuid, farm_id), updated_at = now()
       WHERE id = ${device!.id}`;
  return device!.id;
}

async function insertKey(sql: Db, deviceId: string, key: NewDeviceKey): Promise<void> {
  await sql`
    INSERT INTO device_keys (device_id, public_key, fingerprint)
    VALUES (${deviceId}, ${key.publicKey}, ${key.fingerprint})`;
}

export type DeviceListing = {
  device_code: string;
  label: string | null;
  last_heard_at: Date | null;
  retired_at: string | null;
  retired_by: string | null;
  retired_reason: string | null;
  /** The newest heartbeat naming it refused since the last accepted one (null: none), as the fleet shows it. */
  refused: {
    since: string;
    last_at: string;
    last_hour: number;
    http_status: number;
    error_code: string;
  } | null;
  keys: { fingerprint: string; created_at: string; expires_at: string | null; last_used_at: string | null }[];
};

/** `device list`: every device with its keys (newest first) and when it was last heard. */
export function listDevices(sql: Sql) {
  return sql<DeviceListing[]>`
    SELECT d.device_code, d.label, h.received_at AS last_heard_at, d.retired_at, d.retired_by, d.retired_reason,
      CASE WHEN rf.last_at IS NOT NULL THEN jsonb_build_object('since', rf.since, 'last_at', rf.last_at,
        'last_hour', rf.last_hour, 'http_status', rf.http_status, 'error_code', rf.error_code) END AS refused,
      COALESCE((SELECT jsonb_agg(jsonb_build_object('fingerprint', k.fingerprint, 'created_at', k.created_at,
          'expires_at', k.expires_at, 'last_used_at', k.last_used_at) ORDER BY k.created_at DESC, k.id DESC)
        FROM device_keys k WHERE k.device_id = d.id), '[]') AS keys
    FROM devices d LEFT JOIN device_health h ON h.device_id = d.id
    ${refusalJoin(sql)}
    ORDER BY d.device_code`;
}
