// Where a farm report's CPU goes, in this process (no HTTP server, no concurrency): the rows query,
// the figures built from fetched rows, the JSON text, and the whole request through the real app
// (`app.request`). Prints figures, asserts nothing. Uses the bench seed (bench-api-seed.ts) in
// BENCH_DATABASE_URL; writes a session row for farmer7 like the bench's sign-ins do.
// BENCH_REPORT_GOLDEN=<file>: also write the JSON of every graded and ungraded farm's reports (farms
// 0–19, a 30-day, a 7-day and a whole-year period) to <file>, to compare the output of two versions.
// BENCH_CPU_PROF=1 (with node --cpu-prof): only the whole-request loop, for a profile.
import { writeFileSync } from 'node:fs';
import { type Logger, pino } from 'pino';
import postgres from 'postgres';
import { createApp } from '../src/app.ts';
import { createSessionStore } from '../src/auth/session-store.ts';
import { createDatabaseClient } from '../src/db/database-client.ts';
import { createServerMetrics } from '../src/metrics.ts';
import { buildReport } from '../src/reports/report.ts';
import { reportScansQuery } from '../src/reports/report-rows.ts';
import { farmScope } from '../src/reports/report-scope.ts';
import { asPrincipal, benchConfig, step } from './bench-breakdown.ts';

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error('BENCH_DATABASE_URL: the bench database (seeded by pnpm bench:api)');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const admin = postgres(url, { max: 1, onnotice: () => {} });

const config = benchConfig(url);
const sql = createDatabaseClient({ url, max: 4, connectTimeoutSeconds: 5 });
const planned = createDatabaseClient({ url, max: 4, connectTimeoutSeconds: 5, genericPlans: true });
const log: Logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const { app, closeStreams } = createApp({
  sql,
  plannedSql: planned,
  config,
  log,
  metrics: createServerMetrics({ dbPoolMax: 4, defaults: false }),
});
try {
  const [ids] = await admin<{ farmer7: string; farm7: string }[]>`
    SELECT md5('farmer7')::uuid::text AS farmer7, md5('farm7')::uuid::text AS farm7`;
  const farmer7 = asPrincipal(ids!.farmer7, ['farmer']);
  const token = (
    await createSessionStore({ sql, config: config.auth }).create(ids!.farmer7, {
      address: '127.0.0.1',
      userAgent: 'bench-report-steps',
    })
  ).token;
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const periods = [
    { label: '30 days', range: { from: day(29), to: day(0) }, query: `?from=${day(29)}&to=${day(0)}` },
    { label: 'whole year', range: {}, query: '' },
  ];
  const get = (query: string) => async () => {
    const res = await app.request(`/api/v1/reports/farms/${ids!.farm7}${query}`, {
      headers: { cookie: `cti_session=${token}` },
    });
    if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  if (process.env.BENCH_CPU_PROF) {
    for (const p of periods.filter((x) => !process.env.BENCH_PERIOD || x.label === process.env.BENCH_PERIOD))
      await step(admin, { label: `whole request, ${p.label}`, run: get(p.query) }, ROUNDS * 3);
  } else {
    console.log(`farm 7's report, ${ROUNDS} rounds each, one at a time:`);
    for (const p of periods) {
      const scope = await farmScope(planned, farmer7, ids!.farm7, p.range);
      const rows = await reportScansQuery(planned, farmer7, scope.filters, scope.timeZone);
      const report = (await buildReport(planned, farmer7, scope)).report;
      console.log(` ${p.label}: ${rows.length} scans, ${JSON.stringify(report).length} bytes of JSON`);
      await step(
        admin,
        {
          label: 'rows query',
          run: () => reportScansQuery(planned, farmer7, scope.filters, scope.timeZone),
        },
        ROUNDS,
      );
      await step(
        admin,
        {
          label: 'scope + rows + figures (buildReport)',
          run: async () =>
            buildReport(planned, farmer7, await farmScope(planned, farmer7, ids!.farm7, p.range)),
        },
        ROUNDS,
      );
      await step(admin, { label: 'JSON.stringify of the report', run: () => JSON.stringify(report) }, ROUNDS);
      await step(admin, { label: 'whole request (app.request)', run: get(p.query) }, ROUNDS);
    }
  }
  const goldenFile = process.env.BENCH_REPORT_GOLDEN;
  if (goldenFile) {
    const out: Record<string, unknown> = {};
    const farms = await admin<{ f: number; farm: string; farmer: string }[]>`
      SELECT f, md5('farm' || f)::uuid::text AS farm, md5('farmer' || f)::uuid::text AS farmer
        FROM generate_series(0, 19) f`;
    for (const { f, farm, farmer } of farms) {
      const p = asPrincipal(farmer, ['farmer']);
      for (const range of [{ from: day(29), to: day(0) }, { from: day(6) }, {}]) {
        const scope = await farmScope(planned, p, farm, range);
        out[`farm${f} ${JSON.stringify(range)}`] = (await buildReport(planned, p, scope)).report;
      }
    }
    writeFileSync(goldenFile, JSON.stringify(out, null, 1));
    console.log(`golden output: ${Object.keys(out).length} reports → ${goldenFile}`);
  }
} finally {
  await closeStreams();
  await Promise.all([sql.end(), planned.end(), admin.end()]);
}
