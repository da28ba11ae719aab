import { LOCK_FLEET_CHECK, LOCK_NAMESPACE } from '@cti/db';
import type { Sql, TransactionSql } from 'postgres';
import type { DeviceHealthConfig } from '../config.ts';
import { isConnectionLost } from '../db/database-errors.ts';
import { addDeafPeriod, type DeafPeriod, forgetDeafPeriods } from './deaf-periods.ts';
import { checkSilentDevices } from './silence-check.ts';

/** Rows deleted per statement, and statements per check: a long backlog is pruned over several checks. */
const PRUNE_BATCH = 5000;
const PRUNE_BATCHES = 10;

export type FleetCheckResult = { skipped: true } | { skipped: false; silent: string[]; pruned: number };

type FleetCheckConfig = Pick<DeviceHealthConfig, 'silentAfterSeconds' | 'historyDays'> &
  Partial<Pick<DeviceHealthConfig, 'silentRenotifySeconds' | 'deafAllowanceSeconds'>>;

/**
 * One fleet check, run periodically by every `cti-server serve`: silence episodes (notifications) and
 * pruning of heartbeat history and refused requests older than `historyDays`, both on the database's
 * clock. One replica at a time does it (transaction-level try-lock; the others skip this round); the
 * silence notifications are exactly-once even without the lock (see checkSilentDevices). `deaf`: the
 * periods in which this process could not hear devices (createFleetCheck keeps them).
 */
export async function runFleetCheck(
  sql: Sql,
  { config, deaf }: { config: FleetCheckConfig; deaf: DeafPeriod[] },
): Promise<FleetCheckResult> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_FLEET_CHECK}) AS locked`;
    if (!lock?.locked) return { skipped: true as const };
    const silent = await checkSilentDevices(tx, {
      silentAfterSeconds: config.silentAfterSeconds,
      renotifySeconds: config.silentRenotifySeconds ?? 0,
      // Absent (tests): one threshold, the tightest bound.
      deafAllowanceSeconds: config.deafAllowanceSeconds ?? config.silentAfterSeconds,
      deaf,
    });
    const pruned =
      (await prune(tx, 'device_heartbeats', 'received_at', config.historyDays)) +
      (await prune(tx, 'device_request_rejections', 'created_at', config.historyDays));
    return { skipped: false as const, silent, pruned };
  });
}

/**
 * The fleet check as `serve` runs it, keeping the periods in which this process could not hear devices
 * (database times): before its first check, and from the last check that reached the database to the
 * first that reached it again after one found it unreachable. After a start-up or an outage every
 * device's last heartbeat is old only because nobody listened; those periods do not count as silence,
 * up to one threshold per silence (checkSilentDevices), so a device is told once it has been quiet for
 * the threshold while the server could hear it, and at the latest 2 × the threshold after its last
 * heartbeat however often the process restarts or the check loses its database (review r13 F1).
 *
 * @example const fleet = createFleetCheck({ sql, config: config.devices }); await fleet.run();
 */
export function createFleetCheck({ sql, config }: { sql: Sql; config: FleetCheckConfig }) {
  let deaf: DeafPeriod[] = [];
  let reachedAt: Date | null = null;
  let listening = false;
  return {
    async run(): Promise<FleetCheckResult> {
      try {
        const [row] = await sql<{ now: Date }[]>`SELECT now()`;
        const now = row!.now;
        if (!listening) deaf = addDeafPeriod(deaf, { from: reachedAt, to: now });
        listening = true;
        reachedAt = now;
        deaf = forgetDeafPeriods(deaf, now, config.silentAfterSeconds * 1000);
        return await runFleetCheck(sql, { config, deaf });
      } catch (err) {
        if (isConnectionLost(err)) listening = false;
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
