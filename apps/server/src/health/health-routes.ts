import { migrationStatus } from '@cti/db';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { requireBearer } from '../http/metrics-token.ts';
import type { ServerMetrics } from '../metrics.ts';

export type HealthRoutesOptions = {
  sql: Sql;
  log: Logger;
  metrics: ServerMetrics;
  /** Directory of migration files to compare with (default: @cti/db's own). */
  migrationsDir?: string;
  /** CTI_METRICS_TOKEN: /metrics answers only a scrape bearing it (undefined: open). */
  metricsToken?: string | undefined;
};

/**
 * GET /healthz: the process is up (liveness; never touches the database, so a database outage does not
 * get the container restarted). GET /readyz: the database answers and every migration is applied
 * (readiness; take the instance out of the load balancer otherwise). GET /metrics: Prometheus text.
 */
export function createHealthRoutes({
  sql,
  log,
  metrics,
  migrationsDir,
  metricsToken,
}: HealthRoutesOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    metrics.dbInFlight.inc();
    try {
      const status = await migrationStatus(sql, { dir: migrationsDir });
      if (!status.current) {
        return c.json(
          { status: 'not_ready', reason: 'migrations', pending: status.pending, problems: status.problems },
          503,
        );
      }
      return c.json({ status: 'ready', migrations: status.applied.length });
    } catch (err) {
      log.warn(
        { err: { code: (err as { code?: string }).code, message: (err as Error).message } },
        'readiness: database unreachable',
      );
      // The driver's message (the database's address, the user) goes to the log only: /readyz is
      // unauthenticated on the public port (review r22 F12).
      return c.json({ status: 'not_ready', reason: 'database' }, 503);
    } finally {
      metrics.dbInFlight.dec();
    }
  });
  app.get('/metrics', requireBearer(metricsToken), async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
