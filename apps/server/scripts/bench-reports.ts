// The reports' and exports' part of `pnpm bench:api` (apps/server/README.md "API benchmark"): farm
// report scenarios for the shared runner, streamed CSV/GeoJSON exports measured for time and the
// server's resident memory, and Postgres execution times of their SQL. Prints figures, asserts nothing.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import type { Sql } from 'postgres';
import type { Principal } from '../src/auth/principal.ts';
import { exportRowsQuery } from '../src/reports/export-query.ts';
import { reportScansQuery } from '../src/reports/report-rows.ts';
import { cpuPerOp, cpuSnapshot } from './bench-cpu.ts';
import type { BenchServer } from './bench-server.ts';

const DAY_MS = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** One scenario of the bench's runner (bench-api.ts). */
export type Scenario = {
  label: string;
  path: (client: number, i: number) => string;
  cookies: string[];
  /** Overrides for slow scenarios: closed-loop requests, and the paced rates to run. */
  requests?: number;
  rates?: number[];
};

/**
 * Farm reports as the runner's scenarios: each farmer client asks for its own farm's report (the
 * last 30 days, ≈ 430 scans per farm on the 1,000,000-scan seed; and the whole year, ≈ 5,000), and the
 * printable page of one day.
 */
export function reportScenarios({
  farmers,
  farmIds,
  now = Date.now(),
}: {
  farmers: string[];
  /** farmIds[i] is the farm of farmers[i]. */
  farmIds: string[];
  now?: number;
}): Scenario[] {
  const from = day(now - 29 * DAY_MS);
  const to = day(now);
  const yesterday = day(now - DAY_MS);
  const farmOf = (c: number) => farmIds[c % farmIds.length]!;
  return [
    {
      label: 'farm report, 30 days (farmer)',
      cookies: farmers,
      path: (c) => `/api/v1/reports/farms/${farmOf(c)}?from=${from}&to=${to}`,
    },
    {
      label: 'farm report, whole year (farmer)',
      cookies: farmers,
      // ~85 ms of CPU each: 2 cores serve ~20/s at best, so fewer requests and slow paced rates.
      requests: 500,
      rates: [5, 10],
      path: (c) => `/api/v1/reports/farms/${farmOf(c)}`,
    },
    {
      label: 'printable day report page (farmer)',
      cookies: farmers,
      path: (c) => `/reports/farms/${farmOf(c)}/print?day=${yesterday}`,
    },
  ];
}

/** A value of /proc/<pid>/status in MiB (VmRSS: resident now; VmHWM: the peak since the last reset). */
export function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/**
 * One export downloaded to the end (counting rows as newline-ended records), with the server's memory
 * watched: VmRSS sampled every 10 ms and the kernel's peak (VmHWM, reset before the request by writing 5
 * to /proc/<pid>/clear_refs). Growth = peak − resident before the request.
 */
/** One export's figures, for the closing verdict. */
export type ExportResult = {
  label: string;
  status: number;
  rows: number;
  seconds: number;
  growthMiB: number;
};

export async function measureExport(
  admin: Sql,
  server: BenchServer,
  { label, path, cookie, headerLines }: { label: string; path: string; cookie: string; headerLines: number },
): Promise<ExportResult> {
  writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
  const before = statusMiB(server.pid, 'VmRSS');
  let sampled = before;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, statusMiB(server.pid, 'VmRSS'));
  }, 10);
  const cpu = await cpuSnapshot(admin, server.pid);
  const started = performance.now();
  let firstByte = 0;
  let bytes = 0;
  let lines = 0;
  // The body's SHA-256: a change to how the file is written must leave its bytes as they were.
  const hash = createHash('sha256');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { cookie } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByte = performance.now() - started;
        bytes += chunk.length;
        hash.update(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const peak = Math.max(sampled, statusMiB(server.pid, 'VmHWM'));
  const used = cpuPerOp(cpu, await cpuSnapshot(admin, server.pid), 1);
  const rows = lines - headerLines;
  console.log(
    `${label.padEnd(42)} ${status} ${String(rows).padStart(8)} rows ${(bytes / 2 ** 20).toFixed(1).padStart(6)} MiB ` +
      `first byte ${firstByte.toFixed(0).padStart(5)} ms, total ${seconds.toFixed(2)} s (${(rows / seconds).toFixed(0)} rows/s) | ` +
      `server RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB (growth ${(peak - before).toFixed(1)} MiB) | ` +
      `CPU server ${(used.server / 1000).toFixed(2)} s, pg ${(used.postgres / 1000).toFixed(2)} s | load ${load()} | ` +
      `sha256 ${hash.digest('hex').slice(0, 16)}`,
  );
  return { label, status, rows, seconds, growthMiB: peak - before };
}

/** The `from` that selects the newest `rows` scans (the export filter for "N rows"). */
export async function fromForRows(sql: Sql, rows: number): Promise<string> {
  const [row] = await sql<{ at: string }[]>`
    SELECT to_char(coalesce(captured_at, created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
      FROM scans ORDER BY coalesce(captured_at, created_at, '-infinity'::timestamptz) DESC, id DESC
     OFFSET ${rows - 1} LIMIT 1`;
  return row!.at;
}

type Explain = (sql: Sql, label: string, query: never) => Promise<void>;

/** Postgres execution time of the report and export SQL (EXPLAIN ANALYZE, median of 5): load-robust. */
export async function explainReports(
  sql: Sql,
  explain: Explain,
  {
    farmer,
    admin,
    farmId,
    timeZone,
    exportFrom,
    exportRows,
  }: {
    farmer: Principal;
    admin: Principal;
    farmId: string;
    timeZone: string;
    exportFrom: string;
    exportRows: number;
  },
) {
  const from30 = new Date(Date.now() - 30 * DAY_MS).toISOString();
  await explain(
    sql,
    'farm report rows, 30 days',
    reportScansQuery(sql, farmer, { farm_id: farmId, from: from30 }, timeZone) as never,
  );
  await explain(
    sql,
    'farm report rows, whole year',
    reportScansQuery(sql, farmer, { farm_id: farmId }, timeZone) as never,
  );
  await explain(
    sql,
    `export rows, ${exportRows} (admin)`,
    exportRowsQuery(sql, admin, { from: exportFrom }) as never,
  );
}
