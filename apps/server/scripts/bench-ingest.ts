// pnpm bench:ingest — prints figures, asserts nothing (see apps/server/README.md "Benchmark").
//
// 1. direct: the ingest transaction (ingestCapture) through postgres.js at CONCURRENCY, no HTTP —
//    the database's own ceiling for this workload on this machine.
// 2. http: the same number of distinct signed webhooks against a spawned `cti-server` process
//    (real HTTP, keep-alive, body limit, HMAC, schema, consistency, transaction, ingestion_log).
// 3. replays of both, which must be at least as fast.
// Settings: BENCH_N (default 4000), BENCH_CONCURRENCY (16), BENCH_POOL (server and direct pool, 10),
// BENCH_FARM=1: the 64 devices are made beforehand on one farm, so every scan has a farm (and pays the
// per-farm count's upsert, migration 0024; without it the scans have none).
import { Agent } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { createTestDatabase } from '@cti/db/testing';
import postgres, { type Sql } from 'postgres';
import { planIngest } from '../src/ingest/ingest-plan.ts';
import { ingestCapture } from '../src/ingest/ingest-transaction.ts';
import { distinctWebhook, signedInit, TEST_BUCKET, TEST_SECRET } from '../src/test-helpers.ts';
import { cpuPerOp, cpuSnapshot } from './bench-cpu.ts';
import { postWebhook, spawnServer } from './bench-server.ts';

const N = Number(process.env.BENCH_N ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const POOL = Number(process.env.BENCH_POOL ?? 10);
const FARM = process.env.BENCH_FARM === '1';

type Figures = { label: string; ok: number; failed: number; seconds: number; p50: number; p99: number };

async function measured(
  admin: Sql,
  serverPid: number | undefined,
  run: () => Promise<Figures>,
): Promise<{ rate: number; cpu: ReturnType<typeof cpuPerOp> }> {
  const before = await cpuSnapshot(admin, serverPid);
  const figures = await run();
  const cpu = cpuPerOp(before, await cpuSnapshot(admin, serverPid), figures.ok);
  const rate = print(figures);
  console.log(
    `${''.padEnd(22)} CPU per op: postgres ${cpu.postgres.toFixed(2)} ms, server ${cpu.server.toFixed(2)} ms, ` +
      `bench client ${cpu.client.toFixed(2)} ms`,
  );
  return { rate, cpu };
}

async function runAtConcurrency(
  label: string,
  count: number,
  op: (i: number) => Promise<boolean>,
): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      const good = await op(i).catch(() => false);
      latencies.push(performance.now() - t);
      if (good) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { label, ok, failed, seconds, p50: pct(0.5), p99: pct(0.99) };
}

function print(f: Figures): number {
  const rate = f.ok / f.seconds;
  console.log(
    `${f.label.padEnd(22)} ${String(f.ok).padStart(6)} ok ${String(f.failed).padStart(4)} failed  ` +
      `${rate.toFixed(0).padStart(6)}/s  p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms`,
  );
  return rate;
}

const startServer = (url: string) =>
  spawnServer({
    DATABASE_URL: url,
    CTI_WEBHOOK_SECRETS: TEST_SECRET,
    CTI_S3_BUCKETS: TEST_BUCKET,
    CTI_DB_POOL_MAX: String(POOL),
  });

async function main() {
  const db = await createTestDatabase({ max: 1, asyncCommit: false });
  const direct = postgres(db.url, { max: POOL, onnotice: () => {} });
  if (FARM)
    await db.sql`
      WITH farm AS (INSERT INTO farms (name) VALUES ('Bench Farm') RETURNING id)
      INSERT INTO devices (device_code, farm_id)
      SELECT 'dev-' || lpad(i::text, 4, '0'), farm.id FROM farm, generate_series(0, 63) i`;
  try {
    console.log(
      `ingest benchmark: N=${N} concurrency=${CONCURRENCY} pool=${POOL} farm=${FARM} cpus=${availableParallelism()} ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    const plans = Array.from({ length: N }, (_, i) => planIngest(distinctWebhook(i, { devices: 64 })));
    const viaSql = (i: number) =>
      ingestCapture(direct, plans[i]!, { requestId: `bench-${i}` }).then(() => true);
    const admin = db.sql;
    const directNew = await measured(admin, undefined, () => runAtConcurrency('direct SQL (new)', N, viaSql));
    const directReplay = await measured(admin, undefined, () =>
      runAtConcurrency('direct SQL (replay)', N, viaSql),
    );

    const server = await startServer(db.url);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    try {
      const inits = Array.from({ length: N }, (_, i) => signedInit(distinctWebhook(N + i, { devices: 64 })));
      const viaHttp = (expected: number) => (i: number) =>
        postWebhook(agent, server.port, inits[i]!).then((s) => s === expected);
      const httpNew = await measured(admin, server.pid, () =>
        runAtConcurrency('HTTP webhook (new)', N, viaHttp(201)),
      );
      const httpReplay = await measured(admin, server.pid, () =>
        runAtConcurrency('HTTP webhook (replay)', N, viaHttp(200)),
      );
      console.log(`ratio HTTP/direct (new):    ${(httpNew.rate / directNew.rate).toFixed(2)}`);
      console.log(`ratio HTTP/direct (replay): ${(httpReplay.rate / directReplay.rate).toFixed(2)}`);
      console.log(`replay/new over HTTP:       ${(httpReplay.rate / httpNew.rate).toFixed(2)}`);
      // What server + Postgres could do with this machine's cores to themselves (client elsewhere).
      for (const [label, { cpu }] of [
        ['new', httpNew],
        ['replay', httpReplay],
      ] as const) {
        const perOp = cpu.postgres + cpu.server;
        console.log(
          `CPU-bound estimate (${label}): ${((availableParallelism() * 1000) / perOp).toFixed(0)}/s ` +
            `on ${availableParallelism()} idle cores (postgres + server ${perOp.toFixed(2)} ms CPU per webhook)`,
        );
      }
    } finally {
      agent.destroy();
      await server.stop();
    }
  } finally {
    await direct.end({ timeout: 5 });
    await db.drop();
  }
}

await main();
