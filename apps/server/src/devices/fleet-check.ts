import { LOCK_FLEET_CHECK, LOCK_NAMESPACE } from '@cti/db';
import type { Sql, TransactionSql } from 'postgres';
import type { DeviceHealthConfig } from '../config.ts';
import { isConnectionLost } from '../db/database-errors.ts';
import { checkSilentDevices } from './silence-check.ts';

/** Rows deleted per statement, and statements per check: a long backlog is pruned over several checks. */
const PRUNE_BATCH = 5000;
const PRUNE_BATCHES = 10;

export type FleetCheckResult = { skipped: true } | { skipped: false; silent: string[]; pruned: number };

type FleetCheckConfig = Pick<DeviceHealthConfig, 'silentAfterSeconds' | 'historyDays'>;

/**
 * One fleet check, run periodically by every `cti-server serve`: silence episodes (notifications) and
 * pruning of heartbeat history and refused requests older than `historyDays`, both on the database's
 * clock. One replica at a time does it (transaction-level try-lock; the others skip this round); the
 * silence notifications are exactly-once even without the lock (see checkSilentDevices).
 * `listeningSince`: the database time since which this process could record heartbeats (createFleetCheck).
 */
export async function runFleetCheck(
  sql: Sql,
  { config, listeningSince }: { config: FleetCheckConfig; listeningSince: Date },
): Promise<FleetCheckResult> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_FLEET_CHECK}) AS locked`;
    if (!lock?.locked) return { skipped: true as const };
    const silent = await checkSilentDevices(tx, {
      silentAfterSeconds: config.silentAfterSeconds,
      listeningSince,
    });
    const pruned =
      (await prune(tx, 'device_heartbeats', 'received_at', config.historyDays)) +
      (await prune(tx, 'device_request_rejections', 'created_at', config.historyDays));
    return { skipped: false as const, silent, pruned };
  });
}

/**
 * The fleet check as `serve` runs it, remembering since when this process could hear devices: the
 * database's time at its first check, and again at the first check after one that found the database
 * unreachable. After a start-up or an outage longer than CTI_DEVICE_SILENT_AFTER_S every device's last
 * heartbeat is old only because nobody was listening; each gets the full threshold again before it is
 * "silent" (a device that went quiet just before is therefore told up to one threshold late).
 *
 * @example const fleet = createFleetCheck({ sql, config: config.devices }); await fleet.run();
 */
export function createFleetCheck({ sql, config }: { sql: Sql; config: FleetCheckConfig }) {
  let listeningSince: Date | null = null;
  return {
    async run(): Promise<FleetCheckResult> {
      try {
        if (!listeningSince) {
          const [row] = await sql<{ now: Date }[]>`SELECT now()`;
          listeningSince = row!.now;
        }
        return await runFleetCheck(sql, { config, listeningSince });
      } catch (err) {
        if (isConnectionLost(err)) listeningSince = null;
        throw err;
      }
    },
  };
}

async function prune(tx: TransactionSql, table: string, column: string, days: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < PRUNE_BATCHES; i++) {
    const { count } = await tx`
      DELETE FROM ${tx(table)} WHERE id IN (
        SELECT id FROM ${tx(table)} WHERE ${tx(column)} < now() - make_interval(days => ${days})
         ORDER BY id LIMIT ${PRUNE_BATCH})`;
    total += count;
    if (count < PRUNE_BATCH) break;
  }
  return total;
}
