import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { ServerConfig } from '../config.ts';
import type { ServerMetrics } from '../metrics.ts';
import { createDatabaseClient, serverTimeoutsFor } from './database-client.ts';

export type ServePoolsOptions = {
  config: Pick<
    ServerConfig,
    'databaseUrl' | 'dbPoolMax' | 'dbConnectTimeoutSeconds' | 'dbReplyTimeoutSeconds'
  >;
  log: Logger;
  metrics: Pick<ServerMetrics, 'dbSilentConnections'>;
};

/**
 * The two pools of `cti-server serve` (createApp's `sql` and `plannedSql`), both opened lazily and each
 * bounded by CTI_DB_POOL_MAX. Both get CTI_DB_REPLY_TIMEOUT_S, and so do the LISTEN connections made
 * from their options (session cache, live scan list): on a silent database a request fails as a lost
 * connection (503 + Retry-After) instead of waiting for TCP; idle and LISTEN connections owe nothing.
 *
 * Server-side bounds that go with it: a transaction left idle as long is ended (the orphan of a silent
 * connection would keep its row locks, and the retried request would wait on them); export cursors
 * exempt their own transaction (cursor-stream.ts: a reader may pause). statement_timeout at 80 % of the
 * deadline: no statement of `serve` runs that long before its first byte (an export FETCHes 1,000 rows
 * at a time; a report aggregates one farm), and one that did would be cut by the deadline anyway —
 * cancelled by the server first, its backend stops working for nobody. Migrations do not run here.
 *
 * @example const { sql, plannedSql } = createServePools({ config, log, metrics });
 */
export function createServePools({ config, log, metrics }: ServePoolsOptions): { sql: Sql; plannedSql: Sql } {
  const common = {
    url: config.databaseUrl,
    max: config.dbPoolMax,
    connectTimeoutSeconds: config.dbConnectTimeoutSeconds,
    replyTimeoutSeconds: config.dbReplyTimeoutSeconds,
    ...serverTimeoutsFor(config.dbReplyTimeoutSeconds),
    onSilentConnection: ({ address, silentMs }: { address: string; silentMs: number }) => {
      metrics.dbSilentConnections.inc();
      log.warn(
        { address, silentMs },
        'database connection silent: closed it (CTI_DB_REPLY_TIMEOUT_S); its requests answer 503',
      );
    },
  };
  return {
    sql: createDatabaseClient(common),
    // Statements planned once per connection (createApp's plannedSql).
    plannedSql: createDatabaseClient({
      ...common,
      applicationName: 'cti-server-planned',
      genericPlans: true,
    }),
  };
}
