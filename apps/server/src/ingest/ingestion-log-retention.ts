import type { Sql } from 'postgres';

/** Rows deleted per statement, and statements per run: a long backlog is pruned over several runs. */
const PRUNE_BATCH = 5000;
const PRUNE_BATCHES = 50;

/**
 * Deletes ingestion_log rows older than `days` (database clock), oldest first, at most
 * PRUNE_BATCH × PRUNE_BATCHES per call; returns how many. Rows are written in id order within seconds of
 * their created_at (the log writer batches them), so the oldest rows are the lowest ids: each statement
 * looks at the next PRUNE_BATCH ids through the primary key and deletes those past the retention — no
 * scan of the table, and no index on created_at needed. A run stops at the first batch with nothing old
 * in it. Safe on several replicas at once (a row is deleted once; the other statement skips it).
 *
 * @example const pruned = await pruneIngestionLog(sql, { days: 90 });
 */
export async function pruneIngestionLog(sql: Sql, { days }: { days: number }): Promise<number> {
  if (!(Number.isInteger(days) && days >= 1)) throw new RangeError(`retention days must be ≥ 1, got ${days}`);
  let total = 0;
  for (let i = 0; i < PRUNE_BATCHES; i++) {
    const { count } = await sql`
      DELETE FROM ingestion_log WHERE id IN (SELECT id FROM ingestion_log ORDER BY id LIMIT ${PRUNE_BATCH})
         AND created_at < now() - make_interval(days => ${days})`;
    total += count;
    if (count === 0) break;
  }
  return total;
}
