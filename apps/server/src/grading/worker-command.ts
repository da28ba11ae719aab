import { compileAllValidators } from '@cti/contracts';
import { migrationStatus } from '@cti/db';
import { setImageCache } from '@cti/imaging';
import { ModelCardError, ModelIntegrityError } from '@cti/models';
import { createLogger, type Logger, onShutdown, sleep } from '@cti/runtime';
import { pino } from 'pino';
import type { Sql } from 'postgres';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from '../cli/command.ts';
import { COMMAND_USAGE } from '../cli/command-usage.ts';
import { ConfigError } from '../config-parsers.ts';
import { createDatabaseClient, serverTimeoutsFor } from '../db/database-client.ts';
import { listen } from '../http-server.ts';
import { createLeanS3Client } from '../storage/lean-s3-client.ts';
import { createS3Client } from '../storage/s3-client.ts';
import { watchS3Credentials } from '../storage/s3-credentials.ts';
import { createGrader, type Grader } from './grade-image.ts';
import { createGradingWorker, createWorkerQueue } from './grading-worker.ts';
import { loadWorkerConfig, type WorkerConfig } from './worker-config.ts';
import { createWorkerHealthApp } from './worker-health.ts';
import { createWorkerMetrics } from './worker-metrics.ts';
import { missingWorkerNodeFlags } from './worker-node-flags.ts';

/**
 * Waits until the database answers and every migration is applied (the server may still be migrating).
 * A database with migrations this code does not know was migrated by a newer release: migrating cannot
 * help, so the log says to deploy the new image instead (review r22 F3).
 */
async function waitForSchema(sql: Sql, log: Logger, alive: () => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    alive();
    try {
      const status = await migrationStatus(sql);
      if (status.current) return;
      log.warn(
        { pending: status.pending, problems: status.problems, unknown: status.unknown },
        status.unknown.length > 0
          ? 'this worker is older than the database schema: deploy the new image (waiting)'
          : 'waiting for migrations (cti-server migrate, or CTI_MIGRATE_ON_START=1 on the server)',
      );
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'waiting for the database');
    }
    await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
  }
}

async function loadGrader(config: WorkerConfig): Promise<Grader> {
  try {
    return await createGrader({ modelsDir: config.modelsDir, intraOpThreads: config.onnxThreads });
  } catch (err) {
    if (err instanceof ModelCardError || err instanceof ModelIntegrityError) {
      throw new ConfigError('CTI_MODELS_DIR', `has no usable ribeye models: ${err.message}`);
    }
    throw err;
  }
}

async function runWorker(config: WorkerConfig): Promise<void> {
  // Every job decodes a different image: sharp's operation cache would only hold memory.
  setImageCache(false);
  const log = createLogger({
    name: 'cti-worker',
    level: config.logLevel,
    destination: pino.destination({ dest: 1, sync: false }),
  });
  const missingFlags = missingWorkerNodeFlags();
  if (missingFlags.length > 0) {
    log.warn(
      { missingFlags },
      'started without the recommended node flags: garbage collection will cost ~20-30 % more CPU per scan (apps/server/README.md, "Container")',
    );
  }
  const grader = await loadGrader(config);
  let lastSilent: { address: string; silentMs: number; at: number } | undefined;
  const sql = createDatabaseClient({
    url: config.databaseUrl,
    max: config.dbPoolMax,
    connectTimeoutSeconds: config.dbConnectTimeoutSeconds,
    applicationName: `cti-worker ${config.workerId}`,
    replyTimeoutSeconds: config.dbReplyTimeoutSeconds,
    // A worker's statements take milliseconds: anything near the deadline is cancelled by the server.
    ...serverTimeoutsFor(config.dbReplyTimeoutSeconds),
    onSilentConnection: ({ address, silentMs }) => {
      lastSilent = { address, silentMs, at: Date.now() };
      metrics.silentConnections.inc();
      log.warn(
        { address, silentMs },
        'database connection silent: closed it (CTI_DB_REPLY_TIMEOUT_S); its queries fail and are retried on a new connection',
      );
    },
  });
  // The SDK client resolves endpoints and credentials; the lean one makes the job's GETs and PUTs.
  const sdk = createS3Client(config.s3);
  // No credentials is an S3 outage (jobs released, attempts not counted): said once, shown on /healthz.
  const credentials = watchS3Credentials({
    log,
    consequence: 'jobs wait in the queue (s3_unavailable, attempts not counted)',
  });
  const s3 = createLeanS3Client({
    sdk,
    settings: config.s3,
    credentials: credentials.watched(sdk.config.credentials),
  });
  const queue = createWorkerQueue(sql, config, grader.modelVersion);
  const metrics = createWorkerMetrics({
    queueStats: queue.stats,
    s3Credentials: () => {
      const { status } = credentials.state();
      return status === 'unchecked' ? undefined : status === 'found';
    },
  });
  let startedAt = Date.now();
  compileAllValidators(); // meta.json's schema: now, not on the first job
  const worker = createGradingWorker({ sql, s3, grader, config, log, metrics });
  const health = createWorkerHealthApp({
    metrics,
    lastActivity: () => Math.max(startedAt, worker.lastActivity()),
    staleAfterMs: Math.max(3 * config.pollMs, 2 * config.jobTimeoutSeconds * 1000, 30_000),
    lastSilentConnection: () => lastSilent,
    listening: () => worker.listening(),
    s3Credentials: credentials.state,
    metricsToken: config.metricsToken,
  });
  const http = await listen({
    app: health,
    host: config.host,
    port: config.port,
    settings: 'CTI_WORKER_HOST, CTI_WORKER_PORT',
  });
  let stopped = false;
  onShutdown(
    async () => {
      stopped = true;
      await worker.stop({ graceMs: Math.floor(config.shutdownTimeoutMs * 0.6) });
      await http.close();
      await sql.end({ timeout: 5 });
      await grader.close();
      s3.destroy();
      sdk.destroy();
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    },
    { log, timeoutMs: config.shutdownTimeoutMs },
  );
  // Announced only now that SIGTERM stops it gracefully: a supervisor or a test may send SIGTERM the
  // moment it reads this line, and before onShutdown a signal kills the process outright.
  log.info(
    {
      host: config.host,
      port: http.port,
      model: `${grader.modelName}@${grader.modelVersion}`,
      view: grader.viewModel,
    },
    'listening',
  );
  // Resolved once now, beside the wait for the schema: a warning at start, not at the first job.
  void credentials.check(sdk.config.credentials);
  await waitForSchema(sql, log, () => {
    startedAt = Date.now();
  });
  if (!stopped) await worker.start();
}

/** `cti-server worker`: grade queued scans until SIGTERM (see apps/server/README.md, "Grading worker"). */
export const workerCommand: ServerCommand = {
  usage: COMMAND_USAGE.worker,
  async run(args) {
    if (args.length > 0) {
      console.error(`cti-server worker: unexpected arguments ${JSON.stringify(args.join(' '))}`);
      return EXIT_USAGE;
    }
    let config: WorkerConfig;
    try {
      config = loadWorkerConfig(process.env);
      await runWorker(config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`cti-server worker: configuration error: ${err.message}`);
      return EXIT_CONFIG;
    }
    return undefined;
  },
};
