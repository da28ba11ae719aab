// pnpm bench:grade — prints figures, asserts nothing (see apps/server/README.md "Grading benchmark").
//
// Real Postgres (a fresh migrated database), s3rver, a spawned `cti-server serve` receiving signed
// webhooks over HTTP, and BENCH_WORKERS spawned `cti-server worker` processes:
// 0. the segmentation model alone (seg.run on the decoded images, one onnxruntime thread, in this
//    process) and the grader alone (no database, no S3; images decoded as the worker decodes them):
//    the ceiling the worker is compared with. `pnpm bench:grade` runs this process with the worker's
//    V8 flags (WORKER_NODE_FLAGS) so both sides collect garbage alike; with BENCH_WORKERS > 1 also
//    the model alone in that many processes at once (bench-model-alone.ts), the cores as busy as the
//    workers keep them;
// 1. throughput: BENCH_N scans queued first, then the workers start and drain them; scans/s per
//    worker process, per worker CPU-second, CPU ms per scan (and per phase of a job, as the workers
//    log it), peak RSS; then the model alone once more, the ratio against it and against the mean of
//    both (a shared machine's load drifts in the minutes between);
// 2. latency: scans ingested at a steady BENCH_RATE per second for BENCH_SECONDS while the workers
//    wait; ingest → graded p50/p95 from the database's own timestamps.
// Settings: BENCH_N (300), BENCH_WORKERS (2), BENCH_CONCURRENCY slots per worker (the worker's default,
// 2), BENCH_WORKER_NODE_FLAGS (the worker's recommended V8 flags, WORKER_NODE_FLAGS; "" measures
// without them), BENCH_WORKER_NODE_ARGS (extra node flags, e.g. --cpu-prof), BENCH_RATE (5),
// BENCH_SECONDS (30), BENCH_SIZE (640x480 screen phantoms with a ruler; 8 distinct images),
// BENCH_WARMUP (20 per worker process): the workers' CPU per scan, the ratio and the phases count from
// the (BENCH_WARMUP × BENCH_WORKERS)-th result on (the model alone and the grader alone are measured after
// a warm-up too); the figure with those first scans is printed beside it.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { createTestDatabase } from '@cti/db/testing';
import { decodeRaster, toGray } from '@cti/imaging';
import { loadSegmentationModel } from '@cti/models';
import { startS3rver } from '@cti/testkit';
import type { Sql } from 'postgres';
import { createGrader } from '../src/grading/grade-image.ts';
import { uploadCapture, workerEnvFor } from '../src/grading/test-grading-rig.ts';
import { DEFAULT_WORKER_CONCURRENCY } from '../src/grading/worker-config.ts';
import { missingWorkerNodeFlags, WORKER_NODE_FLAGS } from '../src/grading/worker-node-flags.ts';
import { SOURCE_NODE_ARGS, signedInit, TEST_BUCKET, TEST_SECRET } from '../src/test-helpers.ts';
import { cpuPerOp, cpuSnapshot, processCpuSeconds } from './bench-cpu.ts';
import { benchScreens } from './bench-images.ts';
import { postWebhook, spawnServer } from './bench-server.ts';

const N = Number(process.env.BENCH_N ?? 300);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_WORKER_CONCURRENCY);
const WORKER_FLAGS = (process.env.BENCH_WORKER_NODE_FLAGS ?? WORKER_NODE_FLAGS.join(' '))
  .split(' ')
  .filter(Boolean);
/** onnxruntime threads per model: the worker's default (CTI_ONNX_THREADS), for the model alone too. */
const ONNX_THREADS = 1;
const CPUS = availableParallelism();
const RATE = Number(process.env.BENCH_RATE ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
/**
 * Results after which the workers' CPU is counted: a worker's first scans pay for V8 compiling the
 * grading code (on the worker's own thread: `--single-threaded`), its first connections and the ruler
 * memo's first readings — ~0.5 s of CPU over its first ~20 scans, 1.7 ms a scan of a 300-scan run, which a
 * worker running for days never pays again. Per worker process: each warms up on its own scans.
 */
const WARMUP = Math.min(Number(process.env.BENCH_WARMUP ?? 20) * WORKERS, N - 1);
const [W, H] = (process.env.BENCH_SIZE ?? '640x480').split('x').map(Number) as [number, number];
const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const MODEL_ALONE = new URL('./bench-model-alone.ts', import.meta.url).pathname;

/**
 * The model alone in `n` processes started together (bench-model-alone.ts, the worker's V8 flags): the
 * mean CPU ms per image and images/s of each. With n = BENCH_WORKERS the cores are as busy as the
 * workers keep them, which on a 2-vCPU VM (often one core's two hyperthreads) slows each model run;
 * the model alone in this process runs on an otherwise idle machine.
 */
async function modelAloneInParallel(n: number, rounds: number): Promise<{ cpuMs: number; rate: number }> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, [...WORKER_FLAGS, MODEL_ALONE, String(W), String(H), String(rounds)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((child) => {
    const rl = createInterface({ input: child.stdout! });
    const next: ((line: string) => void)[] = [];
    rl.on('line', (line) => next.shift()?.(line));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`bench-model-alone.ts exited with ${code}`))),
    );
    return () => Promise.race([new Promise<string>((resolve) => next.push(resolve)), exited]);
  });
  const readLines = lines.map((read) => [read(), read()] as const);
  await Promise.all(readLines.map(([ready]) => ready));
  for (const child of children) child.stdin!.end('go\n');
  const results = await Promise.all(
    readLines.map(async ([, result]) => JSON.parse(await result) as { cpuMs: number; rate: number }),
  );
  return {
    cpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0) / n,
    rate: results.reduce((sum, r) => sum + r.rate, 0) / n,
  };
}
const rssMiB = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
};
const quantile = (v: number[], q: number) =>
  [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))] ?? Number.NaN;

type Proc = {
  child: ChildProcess;
  pid: number;
  port: number;
  peakRss: number;
  /** Stage timings (ms) of every job this worker logged as done. */
  timings: Record<string, number>[];
  /** CPU ms per phase of every job this worker logged as done (gradeJob's `cpuMs`). */
  cpu: Record<string, number>[];
  stop(): Promise<void>;
};

function spawnProcess(args: string[], env: Record<string, string>): Promise<Proc> {
  // BENCH_WORKER_NODE_ARGS: extra node flags for the workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const extra =
    args[0] === 'worker'
      ? [...WORKER_FLAGS, ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)]
      : [];
  const child = spawn(process.execPath, [...extra, ...SOURCE_NODE_ARGS, MAIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cti-server ${args[0]} exited with ${code}`)));
    let port = 0;
    const timings: Record<string, number>[] = [];
    const cpu: Record<string, number>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) {
        if (process.env.BENCH_ECHO) console.log(`[${args[0]} ${child.pid}] ${line}`);
        return;
      }
      const entry = JSON.parse(line) as {
        msg?: string;
        port?: number;
        timings?: Record<string, number>;
        cpuMs?: Record<string, number>;
        ms?: number;
      };
      if (entry.msg === 'listening') port = entry.port ?? 0;
      if (entry.msg === 'job done' && entry.timings) timings.push({ ...entry.timings, job: entry.ms ?? 0 });
      if (entry.msg === 'job done' && entry.cpuMs) cpu.push(entry.cpuMs);
      const ready = args[0] === 'worker' ? entry.msg === 'worker started' : entry.msg === 'listening';
      if (!ready) return;
      const proc: Proc = {
        child,
        pid: child.pid!,
        port,
        peakRss: 0,
        timings,
        cpu,
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners('exit');
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      };
      resolve(proc);
    });
  });
}

async function graded(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM grading_results`;
  return row!.n;
}

async function main() {
  console.log(
    `grading benchmark: N=${N} workers=${WORKERS} process(es) × ${CONCURRENCY} slot(s) (CTI_WORKER_CONCURRENCY), rate=${RATE}/s for ${SECONDS} s, images ${W}×${H} screens, cpus=${CPUS}, load average ${load()}`,
  );
  console.log(
    `worker node flags: ${WORKER_FLAGS.join(' ') || '(none)'}${WORKER_FLAGS.join(' ') === WORKER_NODE_FLAGS.join(' ') ? ' (recommended, WORKER_NODE_FLAGS)' : ' (NOT the recommended ones)'}; onnxruntime threads per model: ${ONNX_THREADS}`,
  );
  // The model alone and the grader alone run in this process: under the worker's V8 flags, so the
  // ratio compares like with like (without them this process collects garbage far more often).
  const missing = missingWorkerNodeFlags();
  console.log(
    `this process (model alone, grader alone): ${missing.length === 0 ? `the worker's V8 flags (${WORKER_NODE_FLAGS.join(' ')})` : `WITHOUT ${missing.join(' ')}: start it as \`pnpm bench:grade\` does`}`,
  );
  const images = await benchScreens(W, H);

  // 0. The model alone and the grader alone, on the same images, in this process.
  const grays = await Promise.all(images.map(async (png) => toGray(await decodeRaster(png))));
  const seg = await loadSegmentationModel({ intraOpThreads: ONNX_THREADS });
  const grader = await createGrader({ intraOpThreads: ONNX_THREADS });
  for (const g of grays) await seg.run(g);
  const reps = Math.max(3, Math.ceil(120 / grays.length));
  /** The model alone: images/s and CPU ms per image over `reps` rounds of the images. */
  const modelAlone = async () => {
    const cpuStart = process.cpuUsage();
    const tStart = performance.now();
    for (let r = 0; r < reps; r++) for (const g of grays) await seg.run(g);
    const cpuUsed = process.cpuUsage(cpuStart);
    return {
      rate: (reps * grays.length) / ((performance.now() - tStart) / 1000),
      cpuMs: (cpuUsed.user + cpuUsed.system) / 1000 / (reps * grays.length),
    };
  };
  const { rate: segRate, cpuMs: segCpuMs } = await modelAlone();
  // Decoded as the worker decodes (grade-job.ts: a gray capture stays one channel).
  const rasters = await Promise.all(images.map((png) => decodeRaster(png, { keepGray: true })));
  for (const r of rasters) await grader.grade({ raster: r, meta: null, calibration: null });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stageCpu: Record<string, number> = {};
  for (let r = 0; r < reps; r++) {
    for (const raster of rasters) {
      const { cpuTimings } = await grader.grade({ raster, meta: null, calibration: null });
      for (const [stage, ms] of Object.entries(cpuTimings)) stageCpu[stage] = (stageCpu[stage] ?? 0) + ms;
    }
  }
  const gradeRate = (reps * rasters.length) / ((performance.now() - t0) / 1000);
  const gradeCpu = process.cpuUsage(cpu0);
  const gradeCpuMs = (gradeCpu.user + gradeCpu.system) / 1000 / (reps * rasters.length);
  // The segmentation model stays loaded: the model alone is measured again after the throughput phase.
  await grader.close();
  console.log(
    `model alone (seg.run, ${ONNX_THREADS} thread):   ${segRate.toFixed(1)} images/s, CPU ${segCpuMs.toFixed(1)} ms/image   [load ${load()}]`,
  );
  const parallel = WORKERS > 1 ? await modelAloneInParallel(WORKERS, reps) : undefined;
  if (parallel) {
    console.log(
      `model alone in ${WORKERS} processes at once: ${parallel.rate.toFixed(1)} images/s each, CPU ${parallel.cpuMs.toFixed(1)} ms/image   [load ${load()}]`,
    );
  }
  console.log(
    `grader alone (no DB, no S3):       ${gradeRate.toFixed(1)} images/s, CPU ${gradeCpuMs.toFixed(1)} ms/image: ${Object.entries(
      stageCpu,
    )
      .map(([stage, ms]) => `${stage} ${(ms / (reps * rasters.length)).toFixed(1)}`)
      .join(
        ', ',
      )} (stages' CPU ms; spacing = gray, scan area and ruler, checks = view, quality, confidence, images = overlay + mask PNGs)`,
  );

  const db = await createTestDatabase({ max: 2, asyncCommit: false });
  const s3 = await startS3rver({ buckets: [TEST_BUCKET] });
  const workerEnv = {
    ...workerEnvFor({ databaseUrl: db.url, s3Endpoint: s3.endpoint }),
    CTI_WORKER_CONCURRENCY: String(CONCURRENCY),
    CTI_ONNX_THREADS: String(ONNX_THREADS),
    // As documented for deployment (apps/server/README.md, "Container"): fewer malloc arenas.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  };
  const server = await spawnServer({
    DATABASE_URL: db.url,
    CTI_WEBHOOK_SECRETS: TEST_SECRET,
    CTI_S3_BUCKETS: TEST_BUCKET,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let captures = 0;
  const ingestOne = async () => {
    const i = captures++;
    const body = await uploadCapture(s3.client, {
      image: images[i % images.length]!,
      captureId: `cap_bench_${i}`,
    });
    const status = await postWebhook(agent, server.port, signedInit(body));
    if (status !== 201) throw new Error(`webhook answered ${status}`);
  };
  try {
    // 1. Throughput: queue N, then let the workers drain it.
    for (let i = 0; i < N; i++) await ingestOne();
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        spawnProcess(['worker'], { ...workerEnv, CTI_WORKER_ID: `bench-${i}` }),
      ),
    );
    const rssTimer = setInterval(() => {
      for (const w of workers) w.peakRss = Math.max(w.peakRss, rssMiB(w.pid));
    }, 200);
    const cpuStart = workers.map((w) => processCpuSeconds(w.pid));
    const othersStart = await cpuSnapshot(db.sql, server.pid);
    const startedAt = performance.now();
    // The warm-up's end: the count and the CPU read together (polled often, so few scans run over).
    let warmed = await graded(db.sql);
    while (warmed < WARMUP) {
      await new Promise((r) => setTimeout(r, 10));
      warmed = await graded(db.sql);
    }
    const cpuWarm = workers.map((w) => processCpuSeconds(w.pid));
    const jobsWarm = workers.map((w) => w.cpu.length);
    while ((await graded(db.sql)) < N) await new Promise((r) => setTimeout(r, 100));
    const wall = (performance.now() - startedAt) / 1000;
    const cpuEnd = workers.map((w) => processCpuSeconds(w.pid));
    const coldCpu = workers.reduce((s, _, i) => s + cpuEnd[i]! - cpuStart[i]!, 0);
    const workerCpu = workers.reduce((s, _, i) => s + cpuEnd[i]! - cpuWarm[i]!, 0);
    const counted = N - warmed;
    const others = cpuPerOp(othersStart, await cpuSnapshot(db.sql, server.pid), N);
    const [span] = await db.sql<{ seconds: number }[]>`
      SELECT extract(epoch FROM max(created_at) - min(created_at))::float8 AS seconds FROM grading_results`;
    const steady = (N - 1) / span!.seconds;
    const perProcess = steady / WORKERS;
    console.log(`\nthroughput, ${N} queued scans, ${WORKERS} worker process(es)   [load ${load()}]`);
    console.log(
      `  all workers:      ${steady.toFixed(1)} scans/s (first to last result; ${(N / wall).toFixed(1)}/s including start-up)`,
    );
    console.log(
      `  per process:      ${perProcess.toFixed(1)} scans/s (target ≥ 15), ${CONCURRENCY} slot(s) each`,
    );
    console.log(
      `  per core:         ${(steady / CPUS).toFixed(1)} scans/s (${CPUS} cores, shared with Postgres, s3rver and the server)`,
    );
    console.log(
      `  per worker CPU-s: ${(counted / workerCpu).toFixed(1)} scans (CPU ${((workerCpu * 1000) / counted).toFixed(1)} ms per scan after the first ${warmed} results, BENCH_WARMUP; ${((coldCpu * 1000) / N).toFixed(1)} ms counting them)`,
    );
    console.log(
      `  peak RSS:         ${workers.map((w) => `${w.peakRss.toFixed(0)} MiB`).join(', ')} (target ≤ 300)`,
    );
    // The ratio to the model alone three ways. Per CPU-second is the one that compares like with like
    // (both sides' own CPU, whatever else the machine runs); the wall-clock ones set a worker that shares
    // the cores with the other workers, Postgres, s3rver, the server and this bench against the model
    // alone in this process while nothing else of the bench runs.
    const perCpuSecond = counted / workerCpu;
    console.log(
      `  ratio to the model alone (target ≥ 0.6): per worker CPU-second ${(perCpuSecond / (1000 / segCpuMs)).toFixed(2)} (${perCpuSecond.toFixed(1)} scans vs ${(1000 / segCpuMs).toFixed(1)} images per CPU-second; ${(N / coldCpu / (1000 / segCpuMs)).toFixed(2)} counting the warm-up); per core ${(steady / CPUS / segRate).toFixed(2)} (all workers' ${steady.toFixed(1)} scans/s over ${CPUS} shared cores vs ${segRate.toFixed(1)} images/s on one); per process ${(perProcess / segRate).toFixed(2)} (wall clock)`,
    );
    // Everything the two cores spent per scan: what the targets are physically bounded by.
    const workerMs = (workerCpu * 1000) / counted;
    const totalMs = workerMs + others.postgres + others.server + others.client;
    console.log(
      `  CPU ms per scan, all processes: workers ${workerMs.toFixed(1)} + Postgres ${others.postgres.toFixed(1)} + server ${others.server.toFixed(1)} + s3rver and this bench ${others.client.toFixed(1)} = ${totalMs.toFixed(1)}: at most ${((CPUS * 1000) / totalMs).toFixed(1)} scans/s on ${CPUS} idle cores (${((CPUS * 1000) / totalMs / WORKERS).toFixed(1)} per process)`,
    );
    const all = workers.flatMap((w) => w.timings);
    const stages = Object.keys(all[0] ?? {});
    console.log(
      `  wall ms per job (mean, as logged): ${stages.map((k) => `${k} ${(all.reduce((s, t) => s + (t[k] ?? 0), 0) / all.length).toFixed(1)}`).join(', ')}`,
    );
    // Process CPU between gradeJob's phases: with one slot per worker nothing else runs meanwhile; with
    // more, a phase also holds what the other slots computed while it waited.
    const cpus = workers.flatMap((w, i) => w.cpu.slice(jobsWarm[i]));
    const phases = Object.keys(cpus[0] ?? {});
    const phaseMean = (k: string) => cpus.reduce((s, c) => s + (c[k] ?? 0), 0) / cpus.length;
    const inPhases = phases.reduce((s, k) => s + phaseMean(k), 0);
    console.log(
      `  worker CPU ms per job by phase (mean, as logged, after the warm-up${CONCURRENCY > 1 ? `; ${CONCURRENCY} slots overlap, so each phase also holds the others' work: exact with BENCH_CONCURRENCY=1` : ''}): ${phases.map((k) => `${k} ${phaseMean(k).toFixed(2)}`).join(', ')}${CONCURRENCY === 1 ? `; claim, log, loop and heartbeats ${(workerMs - inPhases).toFixed(2)}` : ''}`,
    );
    // The model alone again, now that the queue is drained (the workers idle): on a shared machine the
    // load changes in the minutes between the first measurement and the workers' run, and the ratio with it.
    const again = await modelAlone();
    const ratioThen = perCpuSecond / (1000 / segCpuMs);
    const ratioNow = perCpuSecond / (1000 / again.cpuMs);
    console.log(
      `  model alone again, after the throughput phase: CPU ${again.cpuMs.toFixed(1)} ms/image (${segCpuMs.toFixed(1)} before it)   [load ${load()}]; ratio per worker CPU-second against it ${ratioNow.toFixed(2)}, against the mean of both ${((ratioThen + ratioNow) / 2).toFixed(2)}`,
    );
    if (parallel) {
      console.log(
        `  ratio per worker CPU-second against the model alone in ${WORKERS} processes at once (the cores as busy as ${WORKERS} workers keep them): ${(perCpuSecond / (1000 / parallel.cpuMs)).toFixed(2)} (${parallel.cpuMs.toFixed(1)} ms/image)`,
      );
    }

    // 2. Latency at a steady rate, the workers idle and listening.
    const before = await graded(db.sql);
    const total = RATE * SECONDS;
    const latencyStart = performance.now();
    for (let i = 0; i < total; i++) {
      const due = latencyStart + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await ingestOne();
    }
    while ((await graded(db.sql)) < before + total) await new Promise((r) => setTimeout(r, 100));
    clearInterval(rssTimer);
    const rows = await db.sql<{ ms: number }[]>`
      SELECT extract(epoch FROM g.created_at - s.created_at)::float8 * 1000 AS ms
      FROM grading_results g JOIN scans s ON s.id = g.scan_id
      ORDER BY s.created_at DESC LIMIT ${total}`;
    const ms = rows.map((r) => r.ms);
    console.log(
      `\ningest → graded at ${RATE} scans/s for ${SECONDS} s (${total} scans), ${WORKERS} workers   [load ${load()}]`,
    );
    console.log(
      `  p50 ${quantile(ms, 0.5).toFixed(0)} ms, p95 ${quantile(ms, 0.95).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms (target p95 ≤ 1000 ms)`,
    );
    console.log(`  peak RSS:         ${workers.map((w) => `${w.peakRss.toFixed(0)} MiB`).join(', ')}`);
    await Promise.all(workers.map((w) => w.stop()));
  } finally {
    await seg.close();
    await server.stop();
    agent.destroy();
    await s3.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
