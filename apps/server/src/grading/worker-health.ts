import { Hono } from 'hono';
import { requireBearer } from '../http/metrics-token.ts';
import type { S3CredentialsState } from '../storage/s3-credentials.ts';
import type { WorkerMetrics } from './worker-metrics.ts';

export type WorkerHealthOptions = {
  metrics: WorkerMetrics;
  /** Wall-clock ms of the worker loop's last sign of life (claim, idle wake-up, heartbeat, job end). */
  lastActivity: () => number;
  /** A loop silent for longer than this is wedged: /healthz answers 503 and the container is restarted. */
  staleAfterMs: number;
  /** The last database connection closed for its silence (reply-deadline-socket.ts), if any. */
  lastSilentConnection?: () => { address: string; silentMs: number; at: number } | undefined;
  /** Whether the worker LISTENs for new jobs (else they wait for the poll). */
  listening?: () => boolean;
  /** Whether the S3 credential chain found credentials (s3-credentials.ts). */
  s3Credentials?: () => S3CredentialsState;
  now?: () => number;
  /** CTI_METRICS_TOKEN: /metrics answers only a scrape bearing it (undefined: open). */
  metricsToken?: string | undefined;
};

/**
 * The worker's small HTTP surface: GET /healthz (liveness: the claim loop is turning; a database
 * outage does NOT make it fail, since a restart cannot fix that; nor do S3 credentials missing, shown
 * in `s3.credentials`) and GET /metrics (Prometheus text).
 *
 * @example const app = createWorkerHealthApp({ metrics, lastActivity: worker.lastActivity, staleAfterMs: 60_000 });
 */
export function createWorkerHealthApp({
  metrics,
  lastActivity,
  staleAfterMs,
  lastSilentConnection = () => undefined,
  listening = () => false,
  s3Credentials = () => ({ status: 'unchecked' }),
  now = Date.now,
  metricsToken,
}: WorkerHealthOptions): Hono {
  const app = new Hono();
  app.get('/healthz', async (c) => {
    const silentMs = now() - lastActivity();
    // Informational: a silent database is an outage a restart cannot fix, so it never makes this 503.
    const closed = (await metrics.silentConnections.get()).values[0]?.value ?? 0;
    const last = lastSilentConnection();
    const database = {
      listening: listening(),
      silent_connections_closed: closed,
      ...(last
        ? {
            last_silent: {
              address: last.address,
              silent_ms: last.silentMs,
              at: new Date(last.at).toISOString(),
            },
          }
        : {}),
    };
    // Informational too: credentials missing is a configuration a restart does not fix (jobs wait).
    const creds = s3Credentials();
    const s3 = {
      credentials: creds.status,
      ...(creds.status === 'unchecked' ? {} : { since: new Date(creds.since).toISOString() }),
      ...(creds.status === 'missing' ? { message: creds.message } : {}),
    };
    if (silentMs > staleAfterMs) return c.json({ status: 'stale', silent_ms: silentMs, database, s3 }, 503);
    return c.json({ status: 'ok', silent_ms: silentMs, database, s3 });
  });
  app.get('/metrics', requireBearer(metricsToken), async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
