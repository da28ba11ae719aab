// pnpm bench:api — prints figures, asserts nothing (apps/server/README.md "API benchmark").
//
// Seeds BENCH_SCANS (1,000,000) scans with grading results over BENCH_FARMS (200) farms with
// generate_series, spawns the real `cti-server`, signs in 50 clients and measures, at
// BENCH_CONCURRENCY (50) concurrent clients, p50/p95/p99 of: the scans list (first page; a page 10,000
// rows deep reached by walking the cursor) for a farmer, a technician (10 farms) and an admin; scan
// detail (with presigned URLs); farm reports (30 days, the whole year) and the printable day report;
// then streamed CSV/GeoJSON exports of BENCH_EXPORT_ROWS (100000,1000000) rows, one at a time, each on a
// freshly started server (its first download, then a second): time, first byte and the server's peak
// RSS growth (bench-reports.ts). Beside wall-clock latency (noisy on a shared 2-core machine) it prints
// the load average, server and Postgres CPU per request, and Postgres execution time from EXPLAIN
// ANALYZE of the same SQL — the load-robust figures.
// BENCH_DATABASE_URL: seed (once) and keep this database, migrated to the latest on every run; default: a throw-away test database.
// BENCH_REQUESTS (2000) requests per scenario (closed loop; a paced run sends min(BENCH_REQUESTS,
// 10 s × rate)). BENCH_RATE (50,100,200): the paced rates, requests/s of all clients together ('' =
// closed loop only). New scenarios: add to `scenarios` below.
// BENCH_WARMUP (200): requests of each scenario sent first and not measured (JIT, plans, shared buffers).
// BENCH_ONLY: comma-separated words; only scenarios whose label contains one run ("report,export").
// The server runs as the container runs it: `dist/main.js serve` (built by `pnpm bench:api`) with
// BENCH_SERVER_NODE_FLAGS, default none as the image's ENTRYPOINT gives `serve` (e.g. the worker's
// "--initial-old-space-size=64 --max-semi-space-size=4" to compare). Each scenario's line also
// prints how busy the server process was (CPU cores: near 1.0, its one JavaScript thread is the limit),
// its GC pauses per request (from its /metrics) and its resident memory now and at peak.
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { migrate } from '@cti/db';
import { createTestDatabase } from '@cti/db/testing';
import postgres, { type Sql } from 'postgres';
import { scanCountsQuery } from '../src/access/scan-counts-query.ts';
import { encodeScanCursor } from '../src/access/scan-cursor.ts';
import { findScanDetail } from '../src/access/scan-detail-query.ts';
import { scanListJsonQuery, scanListQuery } from '../src/access/scan-list-query.ts';
import { scanListItemJson } from '../src/api/scan-views.ts';
import type { Principal } from '../src/auth/principal.ts';
import { BENCH_PASSWORD, FARMS_PER_TECHNICIAN, seedBench, TECHNICIANS } from './bench-api-seed.ts';
import { asPrincipal as principal, serviceBreakdown } from './bench-breakdown.ts';
import { cpuPerOp, cpuSnapshot, gcPerOp, gcSnapshot } from './bench-cpu.ts';
import {
  type ExportResult,
  explainReports,
  fromForRows,
  measureExport,
  reportScenarios,
  type Scenario,
  statusMiB,
} from './bench-reports.ts';
import { type BenchServer, spawnServer } from './bench-server.ts';
import { printExportVerdict, printVerdict, type RunResult } from './bench-verdict.ts';

const SCANS = Number(process.env.BENCH_SCANS ?? 1_000_000);
const FARMS = Number(process.env.BENCH_FARMS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 10_000);
/** Requests of each scenario sent before its closed-loop run, not measured (BENCH_WARMUP, 0 = none). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
/** Paced runs: the 50 clients together send this many requests per second, one run per rate ('' = skip). */
const RATES = (process.env.BENCH_RATE ?? '50,100,200')
  .split(',')
  .map(Number)
  .filter((r) => r > 0);
const EXPORT_ROWS = (process.env.BENCH_EXPORT_ROWS ?? '100000,1000000')
  .split(',')
  .filter(Boolean)
  .map(Number);
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);
const wanted = (label: string) => !ONLY || ONLY.some((word) => label.includes(word));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

type Server = BenchServer;

/**
 * BENCH_SERVER_NODE_FLAGS: node flags for the server; default none, as the image's ENTRYPOINT starts
 * `serve` (infra/docker/Dockerfile; apps/server/README.md "Serve's V8 flags").
 */
const SERVER_NODE_FLAGS = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);

const startServer = (url: string) =>
  spawnServer(
    {
      DATABASE_URL: url,
      CTI_WEBHOOK_SECRETS: 'bench-secret-0123456789abcdef',
      CTI_S3_BUCKETS: 'cti-bench',
      CTI_INSECURE_LOCALHOST_COOKIES: '1',
      CTI_SIGNIN_ADDRESS_LIMIT: '100000',
      // Presigning is local computation: a placeholder endpoint and key make detail pay its real cost.
      S3_ENDPOINT: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
    },
    // As the container runs it: the compiled server (`pnpm bench:api` builds it), `serve`, these flags.
    { nodeFlags: SERVER_NODE_FLAGS, dist: true },
  );

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function call(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{
    status: number;
    body: string;
    headers: Record<string, string | string[] | undefined>;
  }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function signIn(port: number, email: string): Promise<string> {
  const res = await call(
    port,
    'POST',
    '/api/v1/session',
    { 'content-type': 'application/json' },
    JSON.stringify({ email, password: BENCH_PASSWORD }),
  );
  if (res.status !== 200) throw new Error(`sign-in ${email}: ${res.status} ${res.body}`);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

/**
 * Closed loop (rate 0): every client sends its next request as soon as the previous answer arrived —
 * the machine's saturation point, where latency is mostly queueing. Paced (rate > 0): the clients
 * together send `rate` requests per second on a fixed schedule (client k sends requests k, k + C,
 * k + 2C, … at index / rate seconds); latency counts from the scheduled time (no coordinated omission).
 */
async function run(admin: Sql, server: Server, s: Scenario, rate = 0): Promise<RunResult> {
  if (rate === 0) await warmUp(server, s);
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const requests = s.requests ?? REQUESTS;
  const total = rate > 0 ? Math.min(requests, rate * 10) : requests;
  const gcBefore = await gcSnapshot(server.port);
  const before = await cpuSnapshot(admin, server.pid);
  const started = performance.now();
  const send = async (client: number, index: number, from: number) => {
    const res = await call(server.port, 'GET', s.path(client, index), {
      cookie: s.cookies[client % s.cookies.length]!,
    });
    latencies.push(performance.now() - from);
    if (res.status !== 200) failed++;
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, client) => {
      if (rate > 0) {
        for (let index = client; index < total; index += CONCURRENCY) {
          const due = started + (index * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await send(client, index, due);
        }
        return;
      }
      for (let index = next++; index < total; index = next++) await send(client, index, performance.now());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuPerOp(before, await cpuSnapshot(admin, server.pid), total);
  const gc = gcPerOp(gcBefore, await gcSnapshot(server.port), total);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const mode = rate > 0 ? `${rate}/s paced` : 'closed loop';
  console.log(
    `${s.label.padEnd(42)} ${mode.padEnd(11)} ${String(total - failed).padStart(5)} ok ${String(failed).padStart(3)} failed ` +
      `${(total / seconds).toFixed(0).padStart(5)}/s  p50 ${pct(0.5).toFixed(1).padStart(6)}  p95 ${pct(0.95).toFixed(1).padStart(6)}  ` +
      `p99 ${pct(0.99).toFixed(1).padStart(6)} ms | CPU/req server ${cpu.server.toFixed(2)} pg ${cpu.postgres.toFixed(2)} client ${cpu.client.toFixed(2)} ms (server busy ${((cpu.server * total) / 1000 / seconds).toFixed(2)} cores) | GC ${gc.ms.toFixed(2)} ms/req (${gc.counts}) | RSS ${statusMiB(server.pid, 'VmRSS').toFixed(0)} peak ${statusMiB(server.pid, 'VmHWM').toFixed(0)} MiB | load ${load()}`,
  );
  const p95 = pct(0.95);
  return { label: s.label, rate, p50: pct(0.5), p95, perSecond: total / seconds, cpu, load: loadavg()[0]! };
}

/**
 * WARMUP requests of the scenario, closed loop, not measured: the first scenario of a run used to pay
 * the server's JIT and Postgres's first plans and reads of its tables (scan detail read 2× the CPU per
 * request as the farmer's, the first scenario, as the admin's right after it).
 */
async function warmUp(server: Server, s: Scenario) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, client) => {
      for (let index = next++; index < WARMUP; index = next++)
        await call(server.port, 'GET', s.path(client, index), {
          cookie: s.cookies[client % s.cookies.length]!,
        });
    }),
  );
}

/** Walks the API's cursor DEPTH rows deep (pages of 200) and returns the query string of the next page. */
async function deepCursor(port: number, cookie: string, filter = ''): Promise<string> {
  let cursor = '';
  for (let seen = 0; seen < DEPTH; seen += 200) {
    const res = await call(port, 'GET', `/api/v1/scans?limit=200${filter}${cursor}`, { cookie });
    const page = JSON.parse(res.body) as { next_cursor: string | null };
    if (!page.next_cursor) throw new Error(`fewer than ${DEPTH} scans visible`);
    cursor = `&cursor=${page.next_cursor}`;
  }
  return cursor;
}

async function explain(
  sql: Sql,
  label: string,
  query: ReturnType<typeof scanListQuery> | ReturnType<Sql['unsafe']>,
) {
  type Plan = {
    'Execution Time': number;
    'Planning Time': number;
    Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number };
  };
  const runs: Plan[] = [];
  for (let i = 0; i < 5; i++) {
    const [row] = await sql`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query as never}`;
    runs.push((row!['QUERY PLAN'] as Plan[])[0]!);
  }
  runs.sort((a, b) => a['Execution Time'] - b['Execution Time']);
  const median = runs[2]!;
  const planning = runs.map((r) => r['Planning Time']).sort((a, b) => a - b)[2]!;
  console.log(
    `  ${label.padEnd(52)} execution ${median['Execution Time'].toFixed(2)} ms, planning ${planning.toFixed(2)} ms ` +
      `(median of 5), buffers hit ${median.Plan['Shared Hit Blocks']} read ${median.Plan['Shared Read Blocks']}`,
  );
}

async function main() {
  const external = process.env.BENCH_DATABASE_URL;
  const db = external ? undefined : await createTestDatabase({ max: 2, asyncCommit: false });
  const url = external ?? db!.url;
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    console.log(
      `API benchmark: ${SCANS} scans, ${FARMS} farms, concurrency ${CONCURRENCY}, ${REQUESTS} requests per scenario, cpus ${availableParallelism()}, load ${load()}; server node flags: ${SERVER_NODE_FLAGS.join(' ') || '(none)'}`,
    );
    if (external) {
      // A kept bench database gets the migrations added since it was seeded (a backfill may take a while).
      const t0 = performance.now();
      const { applied } = await migrate({ sql });
      if (applied.length)
        console.log(`applied ${applied.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const t = performance.now();
    const seeded = await seedBench(sql, { scans: SCANS, farms: FARMS });
    console.log(
      seeded ? `seeded in ${((performance.now() - t) / 1000).toFixed(0)} s` : 'seed already present: re-used',
    );
    const server = await startServer(url);
    try {
      const admins = await Promise.all(
        Array.from({ length: CONCURRENCY }, () => signIn(server.port, 'admin@bench.example')),
      );
      const farmers = await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) =>
          signIn(server.port, `farmer${i % FARMS}@bench.example`),
        ),
      );
      const techs = await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) =>
          signIn(server.port, `tech${i % TECHNICIANS}@bench.example`),
        ),
      );
      const adminDeep = wanted('deep') ? await deepCursor(server.port, admins[0]!) : '';
      const techDeep = wanted('deep') ? await deepCursor(server.port, techs[0]!) : '';
      const farmerDepth = Math.floor((SCANS / FARMS) * 0.8);
      // 20 scans per farm, spread over the table's history, for the detail scenarios.
      const ids = await sql<{ farm: number; id: string }[]>`
        SELECT f AS farm, md5('scan' || (((g * 7919) % ${Math.floor(SCANS / FARMS)}) * ${FARMS} + f))::uuid::text AS id
          FROM generate_series(0, ${FARMS - 1}) f, generate_series(1, 20) g WHERE ((g * 7919) % ${Math.floor(SCANS / FARMS)}) * ${FARMS} + f > 0`;
      const farmUuids = await sql<{ id: string }[]>`
        SELECT md5('farm' || f)::uuid::text AS id FROM generate_series(0, ${FARMS - 1}) f ORDER BY f`;
      const farmUuid = (f: number) => farmUuids[f]!.id;
      const byFarm = new Map<number, string[]>();
      for (const r of ids) byFarm.set(r.farm, [...(byFarm.get(r.farm) ?? []), r.id]);
      const scenarios: Scenario[] = [
        {
          label: 'list, first page (farmer, 1 farm)',
          cookies: farmers,
          path: () => '/api/v1/scans?limit=50',
        },
        {
          label: 'list, first page (technician, 10 farms)',
          cookies: techs,
          path: () => '/api/v1/scans?limit=50',
        },
        {
          label: 'list, first page (admin, all farms)',
          cookies: admins,
          path: () => '/api/v1/scans?limit=50',
        },
        {
          label: `list, ${DEPTH} rows deep (admin)`,
          cookies: admins,
          path: () => `/api/v1/scans?limit=50${adminDeep}`,
        },
        {
          label: `list, ${DEPTH} rows deep (technician)`,
          cookies: [techs[0]!],
          path: () => `/api/v1/scans?limit=50${techDeep}`,
        },
        {
          label: 'list, filtered grade=R + status (admin)',
          cookies: admins,
          path: () => '/api/v1/scans?limit=50&grade=R&status=graded',
        },
        // Grade R is on 10 farms of 200 (the seed's i % 20 = 3): odd technicians and most farmers have
        // none, so their filtered page must find that out without walking their farms' scans.
        {
          label: 'list, filtered grade=R + status (technician, 10 farms)',
          cookies: techs,
          path: () => '/api/v1/scans?limit=50&grade=R&status=graded',
        },
        {
          label: 'list, filtered grade=R + status (farmer)',
          cookies: farmers,
          path: () => '/api/v1/scans?limit=50&grade=R&status=graded',
        },
        {
          label: 'scan detail (farmer, own farm)',
          cookies: farmers,
          path: (c, i) => `/api/v1/scans/${byFarm.get(c % FARMS)![i % 20]}`,
        },
        {
          label: 'scan detail (admin)',
          cookies: admins,
          path: (c, i) => `/api/v1/scans/${byFarm.get((c * 3 + i) % FARMS)![i % 20]}`,
        },
        // Counts by status (the overview's table, GET /scans/counts): the admin's are over every scan.
        // Fewer requests and no paced runs: a pass over 1,000,000 scans took ~0.7 s before migration 0028.
        ...[
          { label: 'counts (admin, all scans)', cookies: admins, path: () => '/api/v1/scans/counts' },
          {
            label: 'counts, farm filter (admin)',
            cookies: admins,
            path: (c: number) => `/api/v1/scans/counts?farm_id=${farmUuid(c % FARMS)}`,
          },
          { label: 'counts (technician, 10 farms)', cookies: techs, path: () => '/api/v1/scans/counts' },
          { label: 'counts (farmer, 1 farm)', cookies: farmers, path: () => '/api/v1/scans/counts' },
          { label: 'overview page, counts (admin)', cookies: admins, path: () => '/' },
        ].map((s) => ({ ...s, requests: 200, rates: [] })),
      ];
      // Reports of farms whose scans are graded (the seed leaves farms 0, 10, 20… ungraded: cheaper
      // reports), each asked for by its own farmer.
      const graded = Array.from({ length: FARMS }, (_, f) => f)
        .filter((f) => f % 10 !== 0)
        .slice(0, CONCURRENCY);
      const reportFarmers = await Promise.all(
        graded.map((f) => signIn(server.port, `farmer${f}@bench.example`)),
      );
      const farmIds = await sql<{ id: string }[]>`
        SELECT md5('farm' || f)::uuid::text AS id FROM unnest(${graded}::int[]) WITH ORDINALITY AS g(f, n) ORDER BY n`;
      scenarios.push(...reportScenarios({ farmers: reportFarmers, farmIds: farmIds.map((r) => r.id) }));
      const results: RunResult[] = [];
      for (const s of scenarios.filter((x) => wanted(x.label))) {
        results.push(await run(sql, server, s));
        for (const rate of s.rates ?? RATES) results.push(await run(sql, server, s, rate));
      }
      const exports: ExportResult[] = [];
      if (wanted('export')) {
        console.log(
          'Streamed exports (admin, newest N scans), one at a time, each file on a freshly started server: its first download (cold), then the same again (warm):',
        );
        for (const [i, rows] of EXPORT_ROWS.entries()) {
          const from = encodeURIComponent(await fromForRows(sql, rows));
          const files = [{ format: 'CSV', ext: 'csv', headerLines: 1 }];
          if (i === 0) files.push({ format: 'GeoJSON', ext: 'geojson', headerLines: 2 });
          for (const { format, ext, headerLines } of files) {
            // A server that has served nothing yet: the first export after a (re)start is the one that
            // grows the process (V8's young generation becomes resident at the first large burst of
            // allocation); the target applies to it.
            const fresh = await startServer(url);
            try {
              const cookie = await signIn(fresh.port, 'admin@bench.example');
              for (const state of ['cold', 'warm'] as const) {
                exports.push(
                  await measureExport(sql, fresh, {
                    label: `${format} export, ${rows} rows, ${state}`,
                    path: `/api/v1/exports/scans.${ext}?from=${from}`,
                    cookie,
                    headerLines,
                  }),
                );
              }
            } finally {
              await fresh.stop();
            }
          }
        }
      }
      const adminP = principal('00000000-0000-0000-0000-000000000000', ['admin']);
      const [farmer0] = await sql<{ id: string }[]>`SELECT md5('farmer0')::uuid::text AS id`;
      const farmerP = principal(farmer0!.id, ['farmer']);
      // Farm 7's scans are graded (the seed leaves farms 0, 10, 20… ungraded): its reports do the full work.
      const [farmer7] = await sql<{ id: string }[]>`SELECT md5('farmer7')::uuid::text AS id`;
      const farmer7P = principal(farmer7!.id, ['farmer']);
      const explainReportSql = async () =>
        explainReports(sql, explain as never, {
          farmer: farmer7P,
          admin: adminP,
          farmId: (await sql<{ id: string }[]>`SELECT md5('farm7')::uuid::text AS id`)[0]!.id,
          timeZone: 'America/Chicago',
          exportFrom: await fromForRows(sql, EXPORT_ROWS[0] ?? 100_000),
          exportRows: EXPORT_ROWS[0] ?? 100_000,
        });
      const [tech0] = await sql<{ id: string }[]>`SELECT md5('tech0')::uuid::text AS id`;
      const techP = principal(tech0!.id, ['technician']);
      const explainCounts = async () => {
        await explain(sql, 'counts, admin (all scans)', scanCountsQuery(sql, adminP, {}));
        await explain(
          sql,
          'counts, admin, farm filter',
          scanCountsQuery(sql, adminP, { farm_id: farmUuid(7) }),
        );
        await explain(sql, 'counts, technician (10 farms)', scanCountsQuery(sql, techP, {}));
        await explain(sql, 'counts, farmer', scanCountsQuery(sql, farmerP, {}));
      };
      const cursorAt = async (p: Principal, depth: number) => {
        const rows = await scanListQuery(sql, p, {}, { limit: depth });
        const last = rows.at(-1)!;
        return { sortUs: last.sort_us, id: last.id };
      };
      const detailId = byFarm.get(0)![3]!;
      const breakdown = async () => {
        await server.stop();
        if (wanted('breakdown'))
          await serviceBreakdown({ admin: sql, url, detailId, deepCursor: await cursorAt(adminP, DEPTH) });
      };
      if (ONLY) {
        console.log('Postgres execution time of the same SQL (EXPLAIN ANALYZE, load-robust):');
        await explainReportSql();
        if (wanted('counts')) await explainCounts();
        await breakdown();
        printVerdict(results, { clients: CONCURRENCY });
        printExportVerdict(exports);
        console.log(`load at the end ${load()}`);
        return;
      }
      console.log(`farmer deep page: ${farmerDepth} rows deep (a farm has ${SCANS / FARMS})`);
      const farmerDeep = await deepCursorRows(server.port, farmers[0]!, farmerDepth);
      results.push(
        await run(sql, server, {
          label: `list, ${farmerDeep.depth} rows deep (farmer)`,
          cookies: [farmers[0]!],
          path: () => `/api/v1/scans?limit=50${farmerDeep.cursor}`,
        }),
      );

      console.log('Postgres execution time of the same SQL (EXPLAIN ANALYZE, load-robust):');
      await explain(
        sql,
        'first page, farmer',
        scanListJsonQuery(sql, farmerP, {}, { limit: 51 }, scanListItemJson(sql)),
      );
      await explain(
        sql,
        'first page, technician (10 farms)',
        scanListJsonQuery(sql, techP, {}, { limit: 51 }, scanListItemJson(sql)),
      );
      await explain(
        sql,
        'first page, admin',
        scanListJsonQuery(sql, adminP, {}, { limit: 51 }, scanListItemJson(sql)),
      );
      await explain(
        sql,
        `${DEPTH} deep, admin`,
        scanListJsonQuery(
          sql,
          adminP,
          {},
          { limit: 51, after: await cursorAt(adminP, DEPTH) },
          scanListItemJson(sql),
        ),
      );
      await explain(
        sql,
        `${DEPTH} deep, technician`,
        scanListJsonQuery(
          sql,
          techP,
          {},
          { limit: 51, after: await cursorAt(techP, DEPTH) },
          scanListItemJson(sql),
        ),
      );
      await explain(
        sql,
        `${farmerDepth} deep, farmer`,
        scanListJsonQuery(
          sql,
          farmerP,
          {},
          { limit: 51, after: await cursorAt(farmerP, farmerDepth) },
          scanListItemJson(sql),
        ),
      );
      await explainReportSql();
      await explainCounts();
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) await findScanDetail(sql, farmerP, detailId);
      console.log(
        `  scan detail query round trip (client-side, 20 sequential)          ${((performance.now() - t0) / 20).toFixed(2)} ms each`,
      );
      console.log(
        `cursor check: the walked admin cursor equals the one at OFFSET ${DEPTH}: ${adminDeep === `&cursor=${encodeScanCursor(await cursorAt(adminP, DEPTH))}`}`,
      );
      await breakdown();
      printVerdict(results, { clients: CONCURRENCY });
      printExportVerdict(exports);
      console.log(`technicians: ${TECHNICIANS} × ${FARMS_PER_TECHNICIAN} farms; load at the end ${load()}`);
    } finally {
      agent.destroy();
      await server.stop();
    }
  } finally {
    await sql.end({ timeout: 5 });
    if (db && !process.env.BENCH_KEEP) await db.drop();
  }
}

async function deepCursorRows(port: number, cookie: string, depth: number) {
  let cursor = '';
  let seen = 0;
  for (; seen + 200 <= depth; seen += 200) {
    const res = await call(port, 'GET', `/api/v1/scans?limit=200${cursor}`, { cookie });
    cursor = `&cursor=${(JSON.parse(res.body) as { next_cursor: string }).next_cursor}`;
  }
  return { cursor, depth: seen };
}

await main();
