import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { AppConfig } from './config.ts';
import { registerDeviceGauges } from './devices/device-gauges.ts';
import { createHeartbeatRoute } from './devices/heartbeat-route.ts';
import { createErrorHandler, errorResponse, HttpError } from './errors.ts';
import { createHealthRoutes } from './health/health-routes.ts';
import { createIngestRoute } from './ingest/ingest-route.ts';
import { createIngestionLogWriter, type IngestionLogWriter } from './ingest/ingestion-log-writer.ts';
import type { ServerMetrics } from './metrics.ts';
import { createStaticAssets, type StaticAssets } from './web/static-routes.ts';

export type AppOptions = {
  sql: Sql;
  config: AppConfig;
  log: Logger;
  metrics: ServerMetrics;
  /** Milliseconds since the epoch (Date.now); tests pass a fixed clock. */
  clock?: () => number;
  /** Migration files /readyz compares with; @cti/db's own by default. */
  migrationsDir?: string;
  /** The dashboard's stylesheet and page scripts (read once); from src/web/static by default. */
  staticAssets?: StaticAssets;
};

export type ServerApp = {
  app: Hono;
  ingestionLog: IngestionLogWriter;
  /** `/static/*` files and their versioned URLs, for the pages' layout. */
  staticAssets: StaticAssets;
  /** Writes the buffered ingestion_log rows; call after the HTTP server stopped, before closing `sql`. */
  close(options?: { timeoutMs?: number }): Promise<void>;
};

/**
 * Builds the HTTP app (no port opened): webhook ingest, device heartbeats, health, metrics (with
 * per-device gauges), request ids, access logs and the single error handler. `main.ts` listens; tests call `app.request()`.
 *
 * @example const { app } = createApp({ sql, config, log, metrics }); await app.request('/healthz');
 */
export function createApp({
  sql,
  config,
  log,
  metrics,
  clock = Date.now,
  migrationsDir,
  staticAssets = createStaticAssets(),
}: AppOptions): ServerApp {
  const ingestionLog = createIngestionLogWriter({ sql, log: log.child({ mod: 'ingestion-log' }), metrics });
  const app = new Hono();
  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    metrics.httpRequests.inc({ route, method: c.req.method, status: String(status) });
    metrics.httpDuration.observe({ route }, seconds);
    log.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status,
        ms: Math.round(seconds * 1000),
      },
      'request',
    );
  });
  app.route('/', createHealthRoutes({ sql, log, metrics, migrationsDir }));
  app.route('/', staticAssets.routes);
  app.route(
    '/',
    createIngestRoute({
      sql,
      config,
      log: log.child({ mod: 'ingest' }),
      metrics,
      logWriter: ingestionLog,
      clock,
    }),
  );
  app.route('/', createHeartbeatRoute({ sql, config, log: log.child({ mod: 'devices' }), metrics, clock }));
  registerDeviceGauges({
    registry: metrics.registry,
    sql,
    silentAfterSeconds: config.devices.silentAfterSeconds,
    log: log.child({ mod: 'device-gauges' }),
  });
  app.notFound((c) =>
    errorResponse(c, new HttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError(createErrorHandler(log));
  return { app, ingestionLog, staticAssets, close: (options) => ingestionLog.close(options) };
}
