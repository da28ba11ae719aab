// Where one request's time goes (part of `pnpm bench:api`, apps/server/README.md "API benchmark"):
// each step of a list, detail and report request run alone, one at a time (no concurrency, so no
// queueing), in this process with the server's own modules — the session lookup, the SQL (round trip,
// and Postgres CPU), building and serialising the JSON, presigning — then the whole request through the
// real app in-process (`app.request`: routing, middleware, validation, access log). The rest of the
// whole request is Hono's own work. Prints figures, asserts nothing.
import { type Logger, pino } from 'pino';
import type { Sql } from 'postgres';
import { findScanDetail } from '../src/access/scan-detail-query.ts';
import { scanListJsonQuery, scanListQuery } from '../src/access/scan-list-query.ts';
import { scanListItemJson, toScanDetail } from '../src/api/scan-views.ts';
import { createApp } from '../src/app.ts';
import { createSessionStore } from '../src/auth/session-store.ts';
import { testPrincipal } from '../src/auth/test-principal.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabaseClient } from '../src/db/database-client.ts';
import { createServerMetrics } from '../src/metrics.ts';
import { buildReport } from '../src/reports/report.ts';
import { farmScope } from '../src/reports/report-scope.ts';
import { createUrlSigner } from '../src/storage/url-signer.ts';
import { cpuPerOp, cpuSnapshot } from './bench-cpu.ts';

const ROUNDS = Number(process.env.BENCH_BREAKDOWN_ROUNDS ?? 300);

type Step = { label: string; run: () => unknown };

/**
 * `run` ROUNDS times after a warm-up: median and p95 wall time, and CPU per call of this process
 * (Node: the server's code) and of the database's backends (Postgres).
 */
export async function step(admin: Sql, { label, run }: Step, rounds = ROUNDS) {
  for (let i = 0; i < Math.min(30, rounds); i++) await run();
  const times: number[] = [];
  const before = await cpuSnapshot(admin, undefined);
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  const cpu = cpuPerOp(before, await cpuSnapshot(admin, undefined), rounds);
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  console.log(
    `  ${label.padEnd(58)} p50 ${at(0.5).toFixed(3).padStart(7)}  p95 ${at(0.95).toFixed(3).padStart(7)} ms | ` +
      `CPU/call node ${cpu.client.toFixed(3).padStart(6)} pg ${cpu.postgres.toFixed(3).padStart(6)} ms`,
  );
}

/** A principal as the session store would build it (for calling query functions directly). */
export const asPrincipal = testPrincipal;

/** The bench server's settings (bench-api.ts startServer) as the app reads them. */
export function benchConfig(url: string) {
  // The SDK reads its credentials from the environment, as in the spawned server.
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  return loadConfig({
    DATABASE_URL: url,
    CTI_WEBHOOK_SECRETS: 'bench-secret-0123456789abcdef',
    CTI_S3_BUCKETS: 'cti-bench',
    CTI_INSECURE_LOCALHOST_COOKIES: '1',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_REGION: 'us-east-1',
  });
}

/**
 * The service-time breakdown, on a pool like the server's (`admin`: the bench's own connections, for
 * CPU accounting and ids). Users and ids follow bench-api-seed.ts.
 */
export async function serviceBreakdown({
  admin,
  url,
  detailId,
  deepCursor,
}: {
  admin: Sql;
  url: string;
  /** A scan of farm 0 (farmer0's farm). */
  detailId: string;
  /** The query-string cursor of the admin's page 10,000 rows deep. */
  deepCursor: { sortUs: string; id: string };
}) {
  const config = benchConfig(url);
  const sql = createDatabaseClient({ url, max: config.dbPoolMax, connectTimeoutSeconds: 5 });
  const planned = createDatabaseClient({
    url,
    max: config.dbPoolMax,
    connectTimeoutSeconds: 5,
    genericPlans: true,
  });
  // The access log as the server writes it (JSON, level info), to /dev/null.
  const log: Logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const { app, closeStreams, close } = createApp({
    sql,
    plannedSql: planned,
    config,
    log,
    metrics: createServerMetrics({ dbPoolMax: 10, defaults: false }),
  });
  const sessions = createSessionStore({ sql, config: config.auth });
  const signer = createUrlSigner({ settings: config.api.s3!, ttlSeconds: 300 });
  const ids = await admin<
    { farmer0: string; farmer7: string; tech0: string; admin: string; farm7: string }[]
  >`
    SELECT md5('farmer0')::uuid::text AS farmer0, md5('farmer7')::uuid::text AS farmer7,
           md5('tech0')::uuid::text AS tech0, md5('admin')::uuid::text AS admin, md5('farm7')::uuid::text AS farm7`;
  const u = ids[0]!;
  const meta = { address: '127.0.0.1', userAgent: 'bench-breakdown' };
  const tokens = {
    farmer0: (await sessions.create(u.farmer0, meta)).token,
    farmer7: (await sessions.create(u.farmer7, meta)).token,
    tech0: (await sessions.create(u.tech0, meta)).token,
    admin: (await sessions.create(u.admin, meta)).token,
  };
  const farmer = asPrincipal(u.farmer0, ['farmer']);
  const tech = asPrincipal(u.tech0, ['technician']);
  const adminP = asPrincipal(u.admin, ['admin']);
  const farmer7 = asPrincipal(u.farmer7, ['farmer']);
  const get = (path: string, token: string) => async () => {
    const res = await app.request(path, { headers: { cookie: `cti_session=${token}` } });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const rows = await scanListJsonQuery(planned, farmer, {}, { limit: 51 }, scanListItemJson(planned));
  // What the handler does with the rows: the page is assembled around the JSON Postgres wrote.
  const page = () =>
    `{"items":[${rows
      .slice(0, 50)
      .map((r) => r.item)
      .join(',')}],"next_cursor":${JSON.stringify(`${rows[49]!.sort_us}|${rows[49]!.id}`)}}`.length;
  const detail = (await findScanDetail(planned, farmer, detailId))!;
  const from30 = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const scope = await farmScope(planned, farmer7, u.farm7, { from: from30 });
  const report = (await buildReport(planned, farmer7, scope)).report;
  const farm0 = (await admin<{ id: string }[]>`SELECT md5('farm0')::uuid::text AS id`)[0]!.id;
  const steps: [string, Step[]][] = [
    [
      'session',
      [
        { label: 'session lookup (sessions ⨝ users, roles)', run: () => sessions.find(tokens.farmer0) },
        { label: 'SELECT 1 (a bare round trip)', run: () => sql`SELECT 1` },
      ],
    ],
    [
      'scans list, first page (50)',
      [
        {
          label: 'SQL, farmer, planned per call (ordinary pool)',
          run: () => scanListQuery(sql, farmer, {}, { limit: 51 }),
        },
        {
          label: "SQL, farmer, all columns (the pages' rows)",
          run: () => scanListQuery(planned, farmer, {}, { limit: 51 }),
        },
        {
          label: 'SQL, farmer (1 farm, access predicate)',
          run: () => scanListJsonQuery(planned, farmer, {}, { limit: 51 }, scanListItemJson(planned)),
        },
        {
          label: 'SQL, same farm as admin farm_id filter (no predicate)',
          run: () =>
            scanListJsonQuery(planned, adminP, { farm_id: farm0 }, { limit: 51 }, scanListItemJson(planned)),
        },
        {
          label: 'SQL, technician (10 farms)',
          run: () => scanListJsonQuery(planned, tech, {}, { limit: 51 }, scanListItemJson(planned)),
        },
        {
          label: 'SQL, admin',
          run: () => scanListJsonQuery(planned, adminP, {}, { limit: 51 }, scanListItemJson(planned)),
        },
        {
          label: 'SQL, admin, 10,000 rows deep',
          run: () =>
            scanListJsonQuery(
              planned,
              adminP,
              {},
              { limit: 51, after: deepCursor },
              scanListItemJson(planned),
            ),
        },
        { label: 'JSON: the page around the items Postgres wrote', run: page },
        { label: 'whole request in-process, farmer', run: get('/api/v1/scans?limit=50', tokens.farmer0) },
        { label: 'whole request in-process, admin', run: get('/api/v1/scans?limit=50', tokens.admin) },
      ],
    ],
    [
      'scan detail',
      [
        { label: 'SQL, farmer (one statement)', run: () => findScanDetail(planned, farmer, detailId) },
        {
          label: 'JSON without presigning',
          run: async () => JSON.stringify(await toScanDetail(detail, undefined)).length,
        },
        {
          label: 'JSON with presigned URL (image)',
          run: async () => JSON.stringify(await toScanDetail(detail, signer)).length,
        },
        { label: 'whole request in-process, farmer', run: get(`/api/v1/scans/${detailId}`, tokens.farmer0) },
      ],
    ],
    [
      'farm report, 30 days',
      [
        {
          label: 'scope (farm lookup + time zone)',
          run: () => farmScope(planned, farmer7, u.farm7, { from: from30 }),
        },
        { label: 'SQL + figures (buildReport)', run: () => buildReport(planned, farmer7, scope) },
        { label: 'JSON.stringify(report)', run: () => JSON.stringify(report).length },
        {
          label: 'whole request in-process, farmer',
          run: get(`/api/v1/reports/farms/${u.farm7}?from=${from30}`, tokens.farmer7),
        },
      ],
    ],
  ];
  console.log(`Service time per request, one at a time (${ROUNDS} calls each; no queueing):`);
  for (const [title, list] of steps) {
    console.log(` ${title}`);
    for (const s of list) await step(admin, s);
  }
  await closeStreams();
  await close();
  for (const token of Object.values(tokens)) await sessions.end((await sessions.find(token))!.sessionHash);
  await Promise.all([sql.end({ timeout: 5 }), planned.end({ timeout: 5 })]);
}
