import { Hono } from 'hono';

/**
 * What `serve` answers while it migrates on start (CTI_MIGRATE_ON_START=1) or waits for another
 * replica's migration: `/healthz` 200 (the process is alive: a liveness probe must not kill a long
 * migration, which would roll it back and start it again for ever — review r22 F1), `/readyz` 503
 * `{status:"not_ready", reason:"migrating"}`, and every other route 503 `migrating` with Retry-After.
 * The full app replaces it on the same listener once the migrations are done.
 *
 * @example const app = createMigratingApp({ retryAfterSeconds: 5 });
 */
export function createMigratingApp({ retryAfterSeconds }: { retryAfterSeconds: number }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => c.json({ status: 'not_ready', reason: 'migrating' }, 503));
  app.all('*', (c) => {
    c.header('Retry-After', String(retryAfterSeconds));
    return c.json(
      { error: 'migrating', message: 'the server is applying database migrations; try again shortly' },
      503,
    );
  });
  return app;
}
