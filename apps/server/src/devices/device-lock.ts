import { LOCK_DEVICE_CLASS } from '@cti/db';
import type { TransactionSql } from 'postgres';

// One device's uploads against its move between farms (review r17 F1, r19 F2): a transaction-level
// advisory lock keyed by the device (class LOCK_DEVICE_CLASS, `hashtext(devices.id::text)`). Ingest and a
// hand scan edit hold it shared, a move exclusive, each before it touches the device's row or scans
// (device, then scans). Unlike the row lock used before, a waiting move makes later uploads wait behind
// it, so a Pi streaming its backlog does not keep its move waiting until the stream ends. Nothing else
// takes it: heartbeats, key rotation and retirement lock the device's row only, and never wait on ingest
// for longer than one capture's statement.

/**
 * How long ingest waits for the device's lock (a move refiling its scans holds it) before it gives up
 * with 55P03, answered 503 + Retry-After: the relay retries, and the waiting upload does not hold a pool
 * connection for the whole refile (review r19 F1).
 */
export const INGEST_DEVICE_LOCK_WAIT_MS = 2000;

/**
 * Ingest's share of the lock of the device `deviceCode` (none when the device does not exist yet: ingest
 * creates it, and no move of it can be recorded before that commits), waiting at most
 * INGEST_DEVICE_LOCK_WAIT_MS. The statements, not run: the caller sends them at once with its own, in
 * one round trip (Postgres runs them in order; the caller's statement takes its snapshot when it starts,
 * after the lock is granted).
 */
export function deviceLockForIngest(tx: TransactionSql, deviceCode: string) {
  return [
    tx`SELECT set_config('lock_timeout', ${`${INGEST_DEVICE_LOCK_WAIT_MS}ms`}, true)`,
    tx`SELECT pg_advisory_xact_lock_shared(${LOCK_DEVICE_CLASS}, hashtext(d.id::text))
         FROM devices d WHERE d.device_code = ${deviceCode}`,
    tx`SET LOCAL lock_timeout TO DEFAULT`,
  ] as const;
}

/** A hand scan edit's share of the lock of the scan's device (none for a scan without one). */
export async function lockScanDevice(tx: TransactionSql, scanId: string): Promise<void> {
  await tx`
    SELECT pg_advisory_xact_lock_shared(${LOCK_DEVICE_CLASS}, hashtext(s.device_id::text))
      FROM scans s WHERE s.id = ${scanId} AND s.device_id IS NOT NULL`;
}

/** A move's exclusive lock of the device `deviceId` (by the stored id, whatever the spelling of the one given). */
export async function lockDeviceForMove(tx: TransactionSql, deviceId: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(${LOCK_DEVICE_CLASS}, hashtext(d.id::text)) FROM devices d WHERE d.id = ${deviceId}`;
}
