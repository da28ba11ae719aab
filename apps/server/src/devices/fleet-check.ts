import { LOCK_FLEET_CHECK, LOCK_NAMESPACE } from '@cti/db';
import type { Sql, TransactionSql } from 'postgres';
import type { DeviceHealthConfig } from '../config.ts';
import { checkSilentDevices } from './silence-check.ts';

/** Rows deleted per statement, and statements per check: a long backlog is pruned over several checks. */
const PRUNE_BATCH = 5000;
const PRUNE_BATCHES = 10;

export type FleetCheckResult = { skipped: true } | { skipped: false; silent: string[]; pruned: number };

/**
 * One fleet check, run periodically by every `cti-server serve`: silence episodes (notifications) and
 * pruning of heartbeat history and refused requests older than `historyDays`. One replica at a time
 * does it (transaction-level try-lock; the others skip this round); the silence notifications are
 * exactly-once even without the lock (see checkSilentDevices).
 */
export async function runFleetCheck(
  sql: Sql,
  { config, now }: { config: Pick<DeviceHealthConfig, 'silentAfterSeconds' | 'historyDays'>; now: Date },
): Promise<FleetCheckResult> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_FLEET_CHECK}) AS locked`;
    if (!lock?.locked) return { skipped: true as const };
    const silent = await checkSilentDevices(tx, { silentAfterSeconds: config.silentAfterSeconds, now });
    const cutoff = new Date(now.getTime() - config.historyDays * 86_400_000);
    const pruned =
      (await prune(tx, 'device_heartbeats', 'received_at', cutoff)) +
      (await prune(tx, 'device_request_rejections', 'created_at', cutoff));
    return { skipped: false as const, silent, pruned };
  });
}

async function prune(tx: TransactionSql, table: string, column: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (let i = 0; i < PRUNE_BATCHES; i++) {
    const { count } = await tx`
      DELETE FROM ${tx(table)} WHERE id IN (
        SELECT id FROM ${tx(table)} WHERE ${tx(column)} < ${cutoff} ORDER BY id LIMIT ${PRUNE_BATCH})`;
    total += count;
    if (count < PRUNE_BATCH) break;
  }
  return total;
}
