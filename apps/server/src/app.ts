import { DRAIN_FACTOR } from '@cti/runtime';
import { type Context, Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { API_PREFIX, createApiRouter } from './api/api-router.ts';
import { apiRoutes, apiSchemas } from './api/api-routes.ts';
import { buildOpenApiDocument } from './api/openapi-document.ts';
import { originCheck } from './auth/csrf-protection.ts';
import { createAuthPageRoutes } from './auth/pages/auth-page-routes.ts';
import type { AuthVariables } from './auth/principal.ts';
import { securityHeaders } from './auth/security-headers.ts';
import { createSessionCache } from './auth/session-cache.ts';
import { loadPrincipal } from './auth/session-middleware.ts';
import { createSessionStore } from './auth/session-store.ts';
import { createSignIn } from './auth/sign-in.ts';
import { createSignInThrottle } from './auth/sign-in-throttle.ts';
import type { AppConfig } from './config.ts';
import { registerDeviceGauges } from './devices/device-gauges.ts';
import { createHeartbeatRoute } from './devices/heartbeat-route.ts';
import { createErrorHandler, errorResponse, HttpError } from './errors.ts';
import { createHealthRoutes } from './health/health-routes.ts';
import { exceptPaths } from './http/except-paths.ts';
import { requestBodyLimit } from './http/request-body-limit.ts';
import { settleUnreadBody } from './http/unread-body.ts';
import { createIngestRoute } from './ingest/ingest-route.ts';
import { createIngestionLogWriter, type IngestionLogWriter } from './ingest/ingestion-log-writer.ts';
import type { ServerMetrics } from './metrics.ts';
import { createImageSizeReader } from './storage/image-size.ts';
import { createS3Client } from './storage/s3-client.ts';
import { presignedUrlSources } from './storage/s3-settings.ts';
import { createUrlSigner } from './storage/url-signer.ts';
import { createScanChangeFeed } from './web/live/scan-change-feed.ts';
import { createScanLiveHub } from './web/live/scan-live-hub.ts';
import { refuseNul } from './web/nul-guard.ts';
import { createPageRoutes, errorPage } from './web/pages/page-routes.tsx';
import { createStaticAssets, type StaticAssets } from './web/static-routes.ts';

/**
 * The largest page form body: a geofence of the most positions allowed (10,000), pasted indented at
 * full float precision, is ~0.9 MiB URL-encoded; nothing else a page sends comes close.
 */
export const PAGE_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/** Routes authenticated by a signature or carrying no session (and static files, cached on purpose). */
const MACHINE_ROUTES = ['/ingest/*', '/devices/*', '/healthz', '/readyz', '/metrics', '/static/*'];

export type AppOptions = {
  sql: Sql;
  /**
   * A second pool, made with `createDatabaseClient({ genericPlans: true })`, for the hot reads whose best
   * plan is the same for every parameter value — the scans list (without the group and geofence
   * filters), scan detail, reports: one plan per statement and connection instead of one per call.
   * Defaults to `sql` (tests).
   */
  plannedSql?: Sql;
  config: AppConfig;
  log: Logger;
  metrics: ServerMetrics;
  /** Milliseconds since the epoch (Date.now); tests pass a fixed clock. */
  clock?: () => number;
  /** Migration files /readyz compares with; @cti/db's own by default. */
  migrationsDir?: string;
  /** The dashboard's stylesheet and page scripts (read once); from src/web/static by default. */
  staticAssets?: StaticAssets;
  /**
   * How often the open live scan lists re-check their viewers' sessions and farm access (one batched
   * query pair per tick for all of them); the stream heartbeat interval (15 s) by default. Tests shorten it.
   */
  liveRecheckMs?: number;
};

export type ServerApp = {
  app: Hono<{ Variables: AuthVariables }>;
  ingestionLog: IngestionLogWriter;
  /** `/static/*` files and their versioned URLs, for the pages' layout. */
  staticAssets: StaticAssets;
  /**
   * Ends every open event stream (live scans) and the LISTEN connection behind them; call first at
   * shutdown, so a graceful HTTP close does not wait for streams that never end by themselves.
   */
  closeStreams(): Promise<void>;
  /** Writes the buffered ingestion_log rows; call after the HTTP server stopped, before closing `sql`. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** Deletes expired sessions and spent sign-in throttle rows; main.ts runs it every few minutes. */
  sweep(): Promise<{ sessions: number; throttle: number }>;
  /**
   * Resolves the S3 credential chain once (serve runs it at start): a warning naming the settings when
   * S3 is configured but no credentials are found. Never throws.
   */
  checkStorage(): Promise<void>;
};

/**
 * Builds the HTTP app (no port opened): webhook ingest, device heartbeats, health, metrics (with
 * per-device gauges), request ids, access logs and the single error handler. `main.ts` listens; tests call `app.request()`.
 *
 * @example const { app } = createApp({ sql, config, log, metrics }); await app.request('/healthz');
 */
export function createApp({
  sql,
  plannedSql = sql,
  config,
  log,
  metrics,
  clock = Date.now,
  migrationsDir,
  staticAssets = createStaticAssets(),
  liveRecheckMs,
}: AppOptions): ServerApp {
  const ingestionLog = createIngestionLogWriter({ sql, log: log.child({ mod: 'ingestion-log' }), metrics });
  const app = new Hono<{ Variables: AuthVariables }>();
  app.use(requestId());
  // Every answer of a private route — the refusals of the layers below (body limits, CSRF, session, NUL,
  // a missing route, the error handler) as much as the handlers' own — is private: no cache keeps it.
  // Set on the way out, so it holds whatever produced the response — on the response's own headers, as
  // the security headers are: c.header() after next() copies the finished response into a new one (and
  // makes @hono/node-server send its body as a stream), ~0.08 ms of CPU per request (bench:api).
  app.use(
    exceptPaths(MACHINE_ROUTES, async (c, next) => {
      await next();
      c.res.headers.set('Cache-Control', 'no-store');
    }),
  );
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
  const api = config.api;
  const signer = api.s3
    ? createUrlSigner({
        settings: api.s3,
        publicEndpoint: api.s3PublicEndpoint,
        ttlSeconds: api.signedUrlTtlSeconds,
        clock,
        log: log.child({ mod: 's3' }),
      })
    : undefined;
  const sessionCache =
    config.auth.sessionCacheSeconds > 0
      ? createSessionCache({
          sql,
          log: log.child({ mod: 'session-cache' }),
          ttlSeconds: config.auth.sessionCacheSeconds,
        })
      : undefined;
  const sessions = createSessionStore({ sql, config: config.auth, cache: sessionCache });
  const throttle = createSignInThrottle({ sql, config: config.auth });
  const signIn = createSignIn({ sql, config: config.auth, sessions, throttle });
  const s3 = api.s3 ? createS3Client(api.s3) : undefined;
  const deps = {
    sql,
    plannedSql,
    config,
    log: log.child({ mod: 'api' }),
    signer,
    s3,
    sessions,
    throttle,
    signIn,
  };
  const routes = apiRoutes(deps);
  const openApi = buildOpenApiDocument(routes, apiSchemas);
  const tileUrl = config.web.mapTileUrl;
  const tileOrigin = tileUrl ? [new URL(tileUrl.replace(/\{[zxy]\}/g, '0')).origin] : [];
  app.use(
    securityHeaders({
      imageOrigins: [
        ...presignedUrlSources(api.s3PublicEndpoint ?? api.s3?.endpoint, api.s3?.forcePathStyle ?? true),
        ...tileOrigin,
      ],
    }),
  );
  const streams = new AbortController();
  const feed = createScanChangeFeed({ sql, log: log.child({ mod: 'live-scans' }) });
  const pages = {
    ...deps,
    log: log.child({ mod: 'pages' }),
    assets: staticAssets,
    live: createScanLiveHub({
      sql,
      feed,
      sessions,
      log: log.child({ mod: 'live-scans' }),
      recheckMs: liveRecheckMs,
    }),
    shutdown: streams.signal,
    tiles: tileUrl ? { url: tileUrl, attribution: config.web.mapTileAttribution } : undefined,
    imageSizes: api.s3 ? createImageSizeReader({ settings: api.s3 }) : undefined,
  };
  // Everything people use (pages and the API) is behind the session + CSRF layers; the webhook and
  // device heartbeats are authenticated by their signatures and the health routes carry no session.
  // API calls are protected by JSON-only bodies (a cross-site form cannot send them without a CORS
  // preflight, which is never granted) and the X-CSRF-Token header; forms by the Origin check.
  const machine = MACHINE_ROUTES;
  // A page answer given before the form was read (the Origin check, the 413 below) leaves the
  // connection usable or says it closes, as the API's do (review r13 F4; r12 F2 for /api).
  app.use(
    exceptPaths(
      [...machine, '/api/*'],
      settleUnreadBody({ drainBytes: PAGE_BODY_LIMIT_BYTES * DRAIN_FACTOR }),
    ),
  );
  app.use(exceptPaths([...machine, '/api/*'], originCheck(config.auth)));
  app.use(exceptPaths(machine, loadPrincipal({ sessions, config: config.auth })));
  // Page forms (sign-in and registration included, so anyone can send one): a bounded body, and no
  // NUL (Postgres text cannot hold it). Refused as a page for people, JSON for programs.
  const refusePage = (c: Context, err: HttpError) =>
    (c.req.header('accept') ?? '').includes('text/html') ? errorPage(c, err, pages) : errorResponse(c, err);
  const formTooLarge = (c: Context) =>
    refusePage(
      c,
      new HttpError(413, 'body_too_large', `the form is larger than ${PAGE_BODY_LIMIT_BYTES} bytes`),
    );
  // A chunked form is counted as it is read (hono/body-limit, through the web stream): refused part
  // way, the rest cannot be drained, so the answer closes the connection.
  const chunkedLimit = requestBodyLimit({
    maxSize: PAGE_BODY_LIMIT_BYTES,
    onError: async (c) => {
      const res = await formTooLarge(c);
      res.headers.set('Connection', 'close');
      return res;
    },
  });
  // A declared length over the limit is refused unread (settleUnreadBody then drains it or closes);
  // within it, Node's parser reads no more than it declares.
  app.use(
    exceptPaths([...machine, '/api/*'], async (c, next) => {
      const declared = c.req.header('content-length');
      if (declared === undefined) return chunkedLimit(c, next);
      if (Number(declared) > PAGE_BODY_LIMIT_BYTES) return formTooLarge(c);
      await next();
    }),
  );
  app.use(exceptPaths([...machine, '/api/*'], refuseNul(refusePage)));
  app.get('/api/openapi.json', (c) => c.json(openApi));
  app.route(API_PREFIX, createApiRouter(routes));
  app.route('/', createAuthPageRoutes({ ...deps, assets: staticAssets }));
  app.route('/', createPageRoutes(pages));
  app.route('/', createHealthRoutes({ sql, log, metrics, migrationsDir, metricsToken: config.metricsToken }));
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
  app.notFound((c) => {
    const error = new HttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
    // A person following a wrong link gets a page; programs get the JSON error.
    const browser = (c.req.header('accept') ?? '').includes('text/html') && !c.req.path.startsWith('/api/');
    return browser ? errorPage(c, error, pages) : errorResponse(c, error);
  });
  app.onError(createErrorHandler(log, { retryAfterSeconds: config.retryAfterSeconds }));
  return {
    app,
    ingestionLog,
    staticAssets,
    closeStreams: async () => {
      streams.abort();
      await feed.close();
      await sessionCache?.close();
    },
    close: (options) => ingestionLog.close(options),
    sweep: async () => ({ sessions: await sessions.sweep(), throttle: await throttle.sweep() }),
    checkStorage: async () => {
      await signer?.check();
    },
  };
}
