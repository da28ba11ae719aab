import { compileAllValidators } from '@cti/contracts';
import { migrate } from '@cti/db';
import { createLogger, onShutdown } from '@cti/runtime';
import type { Hono } from 'hono';
import { type Logger, pino } from 'pino';
import { compactScanStatusCounts } from '../access/scan-counts-query.ts';
import { createApp } from '../app.ts';
import { startPeriodicTask } from '../background/periodic-task.ts';
import { ConfigError, loadConfig, type ServerConfig } from '../config.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { createServePools } from '../db/serve-pools.ts';
import { createFleetCheck } from '../devices/fleet-check.ts';
import { createMigratingApp } from '../health/migrating-app.ts';
import { listen, type RunningServer } from '../http-server.ts';
import { linkWaitingScans } from '../ingest/animal-link-sweep.ts';
import { pruneIngestionLog } from '../ingest/ingestion-log-retention.ts';
import { createServerMetrics } from '../metrics.ts';
import { sweepFormSubmissions } from '../web/pages/create-token.ts';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from './command.ts';
import { COMMAND_USAGE } from './command-usage.ts';

const SWEEP_INTERVAL_MS = 10 * 60_000;

async function serve(config: ServerConfig): Promise<void> {
  // Asynchronous stdout: a request never waits for its log line. No minLength batching: a quiet
  // server's warnings (e.g. "database unavailable") must reach the log at once. Flushed on shutdown.
  const log = createLogger({
    name: 'cti-server',
    level: config.logLevel,
    destination: pino.destination({ dest: 1, sync: false }),
  });
  const metrics = createServerMetrics({ dbPoolMax: config.dbPoolMax });
  const migrating = config.migrateOnStart ? await listenWhileMigrating(config, log) : undefined;
  const { sql, plannedSql } = createServePools({ config, log, metrics });
  const server = createApp({ sql, plannedSql, config, log, metrics });
  compileAllValidators(); // the webhook, meta.json and heartbeat schemas: now, not on the first request
  const http = migrating
    ? migrating.serve(server.app)
    : await listen({ app: server.app, host: config.host, port: config.port });
  const tasks = startBackgroundTasks(config, sql, log);
  void server.checkStorage(); // warns, naming the settings, when S3 is configured without credentials
  // Expired sessions and spent throttle rows are already refused by their queries; this only keeps
  // the tables small. Every container sweeps; the DELETEs are idempotent.
  const sweeper = setInterval(() => {
    server.sweep().then(
      (removed) => log.debug({ removed }, 'swept sessions'),
      (err: unknown) => log.warn({ err: (err as Error).message }, 'session sweep failed'),
    );
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();
  onShutdown(
    async () => {
      clearInterval(sweeper);
      await server.closeStreams();
      await http.close();
      await Promise.all(tasks.map((t) => t.stop()));
      await server.close({ timeoutMs: Math.floor(config.shutdownTimeoutMs / 2) });
      await Promise.all([sql.end({ timeout: 5 }), plannedSql.end({ timeout: 5 })]);
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    },
    { log, timeoutMs: config.shutdownTimeoutMs },
  );
  // Announced only now that SIGTERM stops it gracefully: a supervisor or a test may send SIGTERM the
  // moment it reads this line, and before onShutdown a signal kills the process outright.
  log.info({ host: config.host, port: http.port }, 'listening');
}

type Fetch = Hono['fetch'];

/**
 * CTI_MIGRATE_ON_START: listen first, answering as createMigratingApp says, then migrate; `serve(app)`
 * hands the same listener to the full app. A migration that fails throws (main.ts: one line, exit 1);
 * SIGTERM meanwhile ends the process at once (Postgres rolls back the file in progress).
 */
async function listenWhileMigrating(
  config: ServerConfig,
  log: Logger,
): Promise<{ serve(app: { fetch: Fetch }): RunningServer }> {
  let current: { fetch: Fetch } = createMigratingApp({ retryAfterSeconds: config.retryAfterSeconds });
  const http = await listen({
    app: { fetch: (request, env, ctx) => current.fetch(request, env, ctx) },
    host: config.host,
    port: config.port,
  });
  log.info(
    { host: config.host, port: http.port },
    'listening while migrating: /healthz 200, /readyz and every other route 503 until the migrations are done',
  );
  await migrateOnStart(config, log);
  return {
    serve(app) {
      current = app;
      return http;
    },
  };
}

/**
 * CTI_MIGRATE_ON_START, on a client of its own without reply deadline or statement timeout: a migration
 * may build an index for minutes, and a replica waits on the migration lock while another migrates.
 */
async function migrateOnStart(config: ServerConfig, log: Logger): Promise<void> {
  // Two connections: one applies the files, the other names who holds a lock the first waits for.
  const sql = createDatabaseClient({
    url: config.databaseUrl,
    max: 2,
    connectTimeoutSeconds: config.dbConnectTimeoutSeconds,
    applicationName: 'cti-server-migrate',
  });
  try {
    const { applied } = await migrate({
      sql,
      log: (message) => log.info(message),
      lockTimeoutMs: config.migrateLockTimeoutMs,
    });
    log.info({ applied }, 'migrations done');
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Every replica runs these; each is safe to run on several at once (see their docs). */
function startBackgroundTasks(
  config: ServerConfig,
  sql: ReturnType<typeof createDatabaseClient>,
  log: Logger,
) {
  const intervalMs = config.devices.checkIntervalSeconds * 1000;
  const fleetLog = log.child({ mod: 'fleet-check' });
  const fleet = createFleetCheck({ sql, config: config.devices });
  return [
    startPeriodicTask({
      name: 'fleet-check',
      intervalMs,
      log: fleetLog,
      run: async () => {
        const result = await fleet.run();
        if (!result.skipped && (result.silent.length > 0 || result.pruned > 0))
          fleetLog.info(result, 'fleet check');
      },
    }),
    startPeriodicTask({
      name: 'ingestion-log-retention',
      intervalMs: 3_600_000,
      log: log.child({ mod: 'ingestion-log-retention' }),
      run: async () => {
        const pruned = await pruneIngestionLog(sql, { days: config.ingestionLog.retentionDays });
        if (pruned > 0)
          log.info({ pruned, days: config.ingestionLog.retentionDays }, 'ingestion_log rows pruned');
      },
    }),
    startPeriodicTask({
      name: 'form-token-sweep',
      intervalMs: 3_600_000,
      log: log.child({ mod: 'form-token-sweep' }),
      run: async () => {
        await sweepFormSubmissions(sql);
      },
    }),
    startPeriodicTask({
      name: 'scan-counts-compaction',
      intervalMs: 60_000,
      log: log.child({ mod: 'scan-counts-compaction' }),
      run: async () => {
        await compactScanStatusCounts(sql);
      },
    }),
    startPeriodicTask({
      name: 'animal-link-sweep',
      intervalMs,
      log: log.child({ mod: 'animal-link-sweep' }),
      run: async () => {
        const linked = await linkWaitingScans(sql, { now: new Date() });
        if (linked > 0) log.info({ linked }, 'scans linked to their animals by ear tag');
      },
    }),
  ];
}

/** `cti-server serve`: the HTTP server (with CTI_MIGRATE_ON_START=1, /healthz only until migrated). */
export const serveCommand: ServerCommand = {
  usage: COMMAND_USAGE.serve,
  async run(args) {
    if (args.length > 0) {
      console.error(`cti-server serve: unexpected arguments ${JSON.stringify(args.join(' '))}`);
      return EXIT_USAGE;
    }
    let config: ServerConfig;
    try {
      config = loadConfig(process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`cti-server: configuration error: ${err.message}`);
      return EXIT_CONFIG;
    }
    await serve(config);
    return undefined;
  },
};
