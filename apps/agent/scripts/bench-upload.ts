// pnpm bench:upload — prints figures, asserts nothing (see docs/agent-outbox.md).
// 1. Throughput: drains 500 realistic captures (640×480 grayscale PNG ≈ 185 KB + meta.json ≈ 1 KB)
//    from the outbox to a local s3rver, and uploads the same bytes to the same keys with a plain SDK
//    PutObject loop at the same concurrency. Made fair and low-noise: a discarded warm-up round for
//    both (JIT, sockets, page cache), every round's captures committed before any timing starts,
//    alternating which side runs first, a fresh bucket (so a fresh s3rver directory tree) per side
//    per round, dirty pages flushed and garbage collected before each timed run, 8 rounds; prints
//    the median ratio with its spread, and this process's CPU per capture for each side.
// 2. Where the outbox's extra time goes: its per-object and per-capture steps timed in isolation.
// 3. Commit cost per capture (ms, fsyncs) over all timed rounds' commits.
// 4. Backlog: what the LED's summary() (every 2 s) and the uploader's nextWake()/claim cost with
//    1,000 / 10,000 / 50,000 pending rows, next to the full scans they replaced (schema v1).
// 5. Memory: peak RSS of an agent-like process holding 10,000 pending captures while committing
//    and draining them, next to a plain PutObject loop process, with default and tuned V8 flags;
//    the drain rate and event-loop delay with that backlog pending.
// s3rver runs in its own process so agent-side figures are not mixed with the store's.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { createOutbox, type Outbox } from '../src/outbox/outbox.ts';
import { openOutboxDb } from '../src/outbox/outbox-db.ts';
import { createOutboxStore } from '../src/outbox/outbox-store.ts';
import type { CommitCaptureInput } from '../src/outbox/outbox-types.ts';
import { readVerified, type TransferTarget } from '../src/uploader/object-transfer.ts';
import { createUploadS3Client } from '../src/uploader/s3-client.ts';
import { createUploader } from '../src/uploader/uploader.ts';

const SELF = fileURLToPath(import.meta.url);
const CONCURRENCY = 4;
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 250);
const PENDING = Number(process.env.BENCH_PENDING ?? 10_000);
const DRAIN_FOR_RSS = Math.min(2000, PENDING);
const TUNED_FLAGS = (
  process.env.BENCH_TUNED_FLAGS ?? '--max-semi-space-size=2 --max-old-space-size=96'
).split(' ');
const mb = (bytes: number) => bytes / 1e6;
const fmt = (n: number, digits = 1) => n.toFixed(digits);
const load = () =>
  loadavg()
    .map((n) => fmt(n, 2))
    .join(' ');
/** Value at quantile q of an ascending array. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] ?? 0;

/** A speckled 640×480 grayscale frame, PNG-encoded like the capture pipeline does. */
async function fakeScans(count: number): Promise<Buffer[]> {
  const { default: sharp } = await import('sharp');
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const raw = Buffer.alloc(640 * 480);
    let x = 12345 + i * 7919;
    for (let p = 0; p < raw.length; p++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const band = Math.floor(p / 640) > 120 && Math.floor(p / 640) < 360;
      raw[p] = ((x >>> 24) & (band ? 0x1f : 0x0f)) + (band ? 60 : 10); // speckle over a brighter band
    }
    out.push(
      await sharp(raw, { raw: { width: 640, height: 480, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    );
  }
  return out;
}

function captureInput(n: number, scans: Buffer[], prefix: string): CommitCaptureInput {
  const captureId = `cap_${prefix}${String(n).padStart(6, '0')}`;
  const capturedAt = new Date(Date.UTC(2025, 8, 9, 12, 0, 0) + n * 1000).toISOString();
  const meta = {
    meta_version: '1.0.0',
    capture_id: captureId,
    device_code: 'dev-bench',
    captured_at: capturedAt,
    operator_id: 'tech-bench',
    farm_id: 'farm-0001',
    files: { image: 'image.png' },
    padding: 'x'.repeat(750), // meta.json ≈ 1 KB
  };
  const files = [
    { name: 'image.png', data: scans[n % scans.length] as Buffer },
    { name: 'meta.json', data: Buffer.from(JSON.stringify(meta)) },
  ];
  return { captureId, deviceCode: 'dev-bench', capturedAt, files };
}

const openOutbox = (dir: string) =>
  createOutbox({ dbPath: join(dir, 'outbox.db'), spoolDir: join(dir, 'spool'), minFreeBytes: 0 });

/** One capture's objects as the plain loop sends them: the outbox's keys, the same bytes, in order. */
type PlainCapture = { key: string; data: Uint8Array }[];

async function plainPutLoop(s3: S3Client, bucket: string, captures: PlainCapture[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < captures.length; i = next++) {
      for (const { key, data } of captures[i] as PlainCapture) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
}

/** Commits the inputs; returns the plain loop's view of them and the mean fsyncs per commit. */
async function commitAll(
  outbox: Outbox,
  inputs: CommitCaptureInput[],
  times: number[],
): Promise<{ plain: PlainCapture[]; fsyncs: number }> {
  let fsyncs = 0;
  const plain: PlainCapture[] = [];
  for (const input of inputs) {
    const t0 = performance.now();
    const result = await outbox.commitCapture(input);
    times.push(performance.now() - t0);
    fsyncs += result.fsyncs;
    const data = new Map(input.files.map((f) => [f.name, f.data]));
    plain.push(result.objects.map((o) => ({ key: o.key, data: data.get(o.name) as Uint8Array })));
  }
  return { plain, fsyncs: fsyncs / inputs.length };
}

async function drain(outbox: Outbox, s3: S3Client, bucket: string, count: number): Promise<number> {
  const uploader = createUploader({ outbox, s3, bucket, concurrency: CONCURRENCY, retentionDays: null });
  const started = performance.now();
  let uploaded = 0;
  const done = new Promise<void>((resolve) => {
    uploader.events.on('capture-uploaded', () => {
      if (++uploaded >= count) resolve();
    });
  });
  uploader.start();
  await done;
  const seconds = (performance.now() - started) / 1000;
  await uploader.stop();
  return seconds;
}

function spawnChild(args: string[], flags: string[] = []): { child: ChildProcess; output: Promise<string> } {
  // Tuned runs also cap glibc malloc arenas (libuv's fs threads otherwise each get one).
  const env = flags.length ? { ...process.env, MALLOC_ARENA_MAX: '2' } : process.env;
  const child = spawn(process.execPath, [...flags, SELF, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const output = new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  return { child, output };
}

interface StoreChild {
  child: ChildProcess;
  endpoint: string;
  bucket: string;
  /** s3rver's root: one directory per bucket. */
  directory: string;
}

async function startStoreChild(directory: string): Promise<StoreChild> {
  // stdin stays open: the store exits when this process dies, however it dies.
  const child = spawn(process.execPath, [SELF, 's3rver', directory], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString())),
  );
  return { child, directory, ...(JSON.parse(line) as { endpoint: string; bucket: string }) };
}

interface SideRun {
  seconds: number;
  /** This process's CPU (user + system) per capture: the client side of the upload only. */
  cpuMs: number;
}

interface RoundResult {
  plain: SideRun;
  outbox: SideRun;
  fsyncs: number;
}

/** Flush dirty pages (the spool, the store's last writes) and garbage so neither side pays for the other. */
function settle(): void {
  execFileSync('sync');
  (globalThis as { gc?: () => void }).gc?.(); // needs --expose-gc
}

async function timed(count: number, run: () => Promise<number>): Promise<SideRun> {
  settle();
  const cpu = process.cpuUsage();
  const seconds = await run();
  const used = process.cpuUsage(cpu);
  return { seconds, cpuMs: (used.user + used.system) / 1000 / count };
}

interface PreparedRound {
  label: string;
  count: number;
  outbox: Outbox;
  plainCaptures: PlainCapture[];
  buckets: { plain: string; outbox: string };
  fsyncs: number;
}

/**
 * Commits a round's captures into a fresh outbox and creates a fresh bucket per side (same keys,
 * same bytes for both). All rounds are prepared before any is timed: the commits' fsync storm would
 * otherwise slow down whichever side runs first after it.
 */
async function prepareRound(
  ctx: { s3: S3Client; dir: string; scans: Buffer[] },
  label: string,
  count: number,
  commitTimes: number[],
): Promise<PreparedRound> {
  const inputs = Array.from({ length: count }, (_, n) => captureInput(n, ctx.scans, `${label}x`));
  const outbox = openOutbox(join(ctx.dir, `round-${label}`));
  const { plain: plainCaptures, fsyncs } = await commitAll(outbox, inputs, commitTimes);
  const buckets = { plain: `bench-${label}-plain`, outbox: `bench-${label}-outbox` };
  for (const bucket of Object.values(buckets)) await ctx.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { label, count, outbox, plainCaptures, buckets, fsyncs };
}

/** Times the plain loop and the drain of one prepared round, in the given order. */
async function runRound(s3: S3Client, r: PreparedRound, plainFirst: boolean): Promise<RoundResult> {
  const runPlain = () => timed(r.count, () => plainPutLoop(s3, r.buckets.plain, r.plainCaptures));
  const runOutbox = () => timed(r.count, () => drain(r.outbox, s3, r.buckets.outbox, r.count));
  let plain: SideRun;
  let ours: SideRun;
  if (plainFirst) {
    plain = await runPlain();
    ours = await runOutbox();
  } else {
    ours = await runOutbox();
    plain = await runPlain();
  }
  r.outbox.close();
  return { plain, outbox: ours, fsyncs: r.fsyncs };
}

async function throughput(s3: S3Client, dir: string): Promise<void> {
  const scans = await fakeScans(10);
  const bytes = captureInput(0, scans, 'x').files.reduce((n, f) => n + f.data.length, 0) * CAPTURES;
  console.log(
    `${CAPTURES} captures × ${ROUNDS} rounds (+ a discarded ${WARMUP}-capture warm-up), image ≈ ${fmt(mb(scans[0]?.length ?? 0) * 1000, 0)} KB, ${fmt(mb(bytes))} MB per round, concurrency ${CONCURRENCY}; load average ${load()}`,
  );
  const ctx = { s3, dir, scans };
  const commitTimes: number[] = [];
  const warmup = WARMUP > 0 ? await prepareRound(ctx, 'w', WARMUP, []) : null;
  const rounds: PreparedRound[] = [];
  for (let n = 1; n <= ROUNDS; n++) rounds.push(await prepareRound(ctx, `r${n}`, CAPTURES, commitTimes));
  if (warmup) await runRound(s3, warmup, true);
  const results: RoundResult[] = [];
  const rate = (r: SideRun) =>
    `${fmt(CAPTURES / r.seconds)} captures/s ${fmt(mb(bytes) / r.seconds)} MB/s ${fmt(r.cpuMs, 2)} ms CPU`;
  for (const [i, prepared] of rounds.entries()) {
    const plainFirst = i % 2 === 0; // a warming or cooling machine favours neither side
    const r = await runRound(s3, prepared, plainFirst);
    results.push(r);
    console.log(
      `round ${i + 1} (${plainFirst ? 'plain first' : 'outbox first'}): plain PutObject ${rate(r.plain)} | outbox ${rate(r.outbox)} | ratio ${fmt(r.plain.seconds / r.outbox.seconds, 2)}`,
    );
  }
  summarize(results);
  const times = commitTimes.sort((a, b) => a - b);
  const mean = fmt(times.reduce((a, b) => a + b, 0) / times.length, 2);
  console.log(
    `commit per capture (${times.length} commits): mean ${mean} ms, p50 ${fmt(quantile(times, 0.5), 2)} ms, p99 ${fmt(quantile(times, 0.99), 2)} ms, ${results[0]?.fsyncs ?? 0} fsyncs`,
  );
  // The rounds' spools and buckets are removed with the bench's temp directory.
}

function summarize(results: RoundResult[]): void {
  const sorted = (f: (r: RoundResult) => number) => results.map(f).sort((a, b) => a - b);
  const ratios = sorted((r) => r.plain.seconds / r.outbox.seconds);
  const total = (f: (r: RoundResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const pooled = total((r) => r.plain.seconds) / total((r) => r.outbox.seconds);
  console.log(
    `ratio outbox/plain: median ${fmt(quantile(ratios, 0.5), 2)} (target ≥ 0.9); rounds ${fmt(ratios[0] ?? 0, 2)}–${fmt(ratios.at(-1) ?? 0, 2)}, middle half ${fmt(quantile(ratios, 0.25), 2)}–${fmt(quantile(ratios, 0.75), 2)}; all rounds pooled ${fmt(pooled, 2)}`,
  );
  for (const side of ['plain', 'outbox'] as const) {
    const rates = sorted((r) => CAPTURES / r[side].seconds);
    const cpu = sorted((r) => r[side].cpuMs);
    console.log(
      `  ${side === 'plain' ? 'plain PutObject' : 'outbox drain   '}: median ${fmt(quantile(rates, 0.5))} captures/s (${fmt(rates[0] ?? 0)}–${fmt(rates.at(-1) ?? 0)}), client CPU median ${fmt(quantile(cpu, 0.5), 2)} ms/capture`,
    );
  }
  console.log(`  load average after the rounds: ${load()}`);
}

/** Per-step cost of what the drain does beyond a plain PUT, each step timed alone (no contention). */
async function breakdown(dir: string): Promise<void> {
  const scans = await fakeScans(2);
  const n = 300;
  const outbox = openOutbox(join(dir, 'breakdown'));
  const ids: string[] = [];
  const targets: TransferTarget[][] = [];
  for (let i = 0; i < n; i++) {
    const { captureId, objects } = await outbox.commitCapture(captureInput(i, scans, 'b'));
    ids.push(captureId);
    targets.push(objects.map((o) => ({ ...o, bucket: 'b', path: outbox.spoolPath(captureId, o.name) })));
  }
  const avgUs = async (fn: (i: number) => unknown) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return fmt(((performance.now() - t0) * 1000) / n, 0);
  };
  const scratch = Buffer.allocUnsafeSlow(512 * 1024);
  const readImage = await avgUs((i) => readVerified(targets[i]?.[0] as TransferTarget, scratch));
  const readMeta = await avgUs((i) => readVerified(targets[i]?.[1] as TransferTarget, scratch));
  const store = outbox.store;
  const claim = await avgUs(() => store.claimable(Date.now(), 2 * CONCURRENCY));
  const list = await avgUs((i) => store.objectsOf(ids[i] as string));
  const marks = await avgUs((i) => {
    const id = ids[i] as string;
    store.advance(id, null, 'image.png', Date.now());
    store.advance(id, 'image.png', 'meta.json', Date.now());
    store.advance(id, 'meta.json', null, Date.now());
  });
  console.log(
    `outbox steps, each timed alone: spool re-read + sha256 ${readImage} µs (image) / ${readMeta} µs (meta.json) per object; progress marks ${marks} µs per capture (3 transactions); claim query ${claim} µs + object list ${list} µs per capture`,
  );
  outbox.close();
}

/** The schema-v1 queries (full scans of the pending objects), timed beside their replacements. */
const V1_SUMMARY = `SELECT count(DISTINCT c.capture_id), coalesce(sum(o.size_bytes), 0), min(c.committed_at)
  FROM captures c JOIN objects o USING (capture_id) WHERE c.state = 'pending' AND o.state != 'uploaded'`;
const V1_NEXT_WAKE = `SELECT min(o.next_attempt_at) FROM objects o JOIN captures c USING (capture_id)
  WHERE c.state = 'pending' AND o.state != 'uploaded'`;

function backlogQueries(dir: string): void {
  const meanMs = (fn: () => unknown, times: number) => {
    const t0 = performance.now();
    for (let i = 0; i < times; i++) fn();
    return fmt((performance.now() - t0) / times, 3);
  };
  for (const n of [1000, 10_000, 50_000]) {
    const { db } = openOutboxDb(join(dir, `backlog-${n}.db`));
    const store = createOutboxStore(db);
    const insert = (i: number) =>
      store.insertCapture(
        { captureId: `cap_q${i}`, deviceCode: 'dev-bench', capturedAt: '2025-09-09T12:00:00Z', now: i },
        [
          { name: 'image.png', key: `k/${i}/image.png`, sha256: 'x', sizeBytes: 185_000 },
          { name: 'meta.json', key: `k/${i}/meta.json`, sha256: 'y', sizeBytes: 1000 },
        ],
      );
    // Rows only, in one transaction: the spool and the commit fsyncs play no part in these queries.
    db.transaction(() => {
      for (let i = 0; i < n; i++) insert(i);
    })();
    const v1Summary = db.prepare(V1_SUMMARY);
    const v1Wake = db.prepare(V1_NEXT_WAKE);
    console.log(
      `${n} pending: summary() ${meanMs(store.summaryRows, 50)} ms (v1 scan ${meanMs(() => v1Summary.get(), 10)} ms), ` +
        `nextWake ${meanMs(store.nextWake, 50)} ms (v1 ${meanMs(() => v1Wake.get(), 10)} ms), ` +
        `claim ${meanMs(() => store.claimable(Date.now(), 2 * CONCURRENCY), 50)} ms`,
    );
    db.close();
  }
}

async function memory(endpoint: string, bucket: string, dir: string): Promise<void> {
  // The children read the frames from files: sharp (which the capture pipeline loads anyway) stays
  // out of the figure, which is about the outbox and uploader.
  mkdirSync(join(dir, 'scans'));
  for (const [i, scan] of (await fakeScans(4)).entries()) writeFileSync(join(dir, 'scans', `${i}.png`), scan);
  const cfg = (kind: string) =>
    JSON.stringify({ kind, endpoint, bucket, dir: join(dir, 'rss'), scans: join(dir, 'scans') });
  const run = async (kind: string, flags: string[]) =>
    JSON.parse(await spawnChild(['rss', cfg(kind)], flags).output) as Record<string, number>;
  for (const flags of [[], TUNED_FLAGS]) {
    const label = flags.length ? `MALLOC_ARENA_MAX=2 node ${flags.join(' ')}` : 'default V8 flags';
    // The first run commits the backlog; later runs open it and drain the next 2,000 of it.
    const agent = await run(flags.length ? 'outbox-drain' : 'outbox-commit-drain', flags);
    const plain = await run('plain', flags);
    console.log(`RSS, ${label}:`);
    if (agent.commitPeakMb) {
      console.log(
        `  agent idle (modules loaded, outbox open, Node type stripping ≈ 18 MB included): ${fmt(agent.idleMb ?? 0)} MB`,
      );
      console.log(
        `  agent committing ${PENDING} captures: peak ${fmt(agent.commitPeakMb)} MB (${fmt(agent.commitSeconds ?? 0)} s)`,
      );
    }
    console.log(
      `  agent draining ${Math.min(DRAIN_FOR_RSS, agent.pending ?? 0)} of ${agent.pending} pending: peak ${fmt(agent.drainPeakMb ?? 0)} MB at ${fmt(agent.rate ?? 0)} captures/s (target ≤ 150 MB); ` +
        `event-loop delay p99 ${fmt(agent.loopP99Ms ?? 0)} ms, max ${fmt(agent.loopMaxMs ?? 0)} ms; summary() at that backlog ${fmt(agent.summaryMs ?? 0, 3)} ms`,
    );
    console.log(
      `  plain PutObject loop process, same ${DRAIN_FOR_RSS} captures: peak ${fmt(plain.drainPeakMb ?? 0)} MB at ${fmt(plain.rate ?? 0)} captures/s`,
    );
  }
}

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'; // s3rver's fixed credentials, read by the standard chain
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  mkdirSync(join(dir, 's3rver'));
  const store = await startStoreChild(join(dir, 's3rver'));
  const s3 = createUploadS3Client({ region: 'us-east-1', endpoint: store.endpoint, maxAttempts: 1 });
  try {
    if (ROUNDS > 0) await throughput(s3, dir);
    await breakdown(dir);
    backlogQueries(dir);
    if (PENDING > 0) await memory(store.endpoint, store.bucket, dir);
  } finally {
    s3.destroy();
    store.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  return {
    reset: () => {
      const was = Math.max(peak, process.memoryUsage.rss());
      peak = process.memoryUsage.rss();
      return mb(was);
    },
    stop: () => {
      clearInterval(timer);
      return mb(Math.max(peak, process.memoryUsage.rss()));
    },
  };
}

/** An agent-like process (or the plain loop): commits and/or drains while RSS is sampled. */
async function rssChild(): Promise<void> {
  const {
    kind,
    endpoint,
    bucket,
    dir,
    scans: scanDir,
  } = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
  const scans = [0, 1, 2, 3].map((i) => readFileSync(join(scanDir as string, `${i}.png`)));
  const s3 = createUploadS3Client({ region: 'us-east-1', endpoint: endpoint as string, maxAttempts: 1 });
  const result: Record<string, number> = {};
  if (kind === 'plain') {
    const captures = Array.from({ length: DRAIN_FOR_RSS }, (_, n) =>
      captureInput(n, scans, 'plain').files.map((f) => ({
        key: `baseline/rss-${process.pid}/${n}/${f.name}`,
        data: f.data,
      })),
    );
    const sampler = rssSampler();
    result.rate = DRAIN_FOR_RSS / (await plainPutLoop(s3, bucket as string, captures));
    result.drainPeakMb = sampler.stop();
  } else {
    const outbox = openOutbox(dir as string);
    const sampler = rssSampler();
    result.idleMb = mb(process.memoryUsage.rss());
    if (kind === 'outbox-commit-drain') {
      const t0 = performance.now();
      await commitAll(
        outbox,
        Array.from({ length: PENDING }, (_, n) => captureInput(n, scans, 'rss')),
        [],
      );
      result.commitSeconds = (performance.now() - t0) / 1000;
      result.commitPeakMb = sampler.reset();
    }
    const t0 = performance.now();
    result.pending = outbox.summary().pendingCaptures; // the status query over the whole backlog
    result.summaryMs = performance.now() - t0;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const count = Math.min(DRAIN_FOR_RSS, result.pending);
    result.rate = count === 0 ? 0 : count / (await drain(outbox, s3, bucket as string, count));
    loop.disable();
    result.loopP99Ms = loop.percentile(99) / 1e6;
    result.loopMaxMs = loop.max / 1e6;
    result.drainPeakMb = sampler.stop();
    outbox.close();
  }
  s3.destroy();
  process.stdout.write(JSON.stringify(result));
}

async function s3rverChild(): Promise<void> {
  const { startS3rver } = await import('@cti/testkit'); // only here: s3rver stays out of the agent's RSS
  const s3 = await startS3rver({ buckets: ['cti-bench'], directory: process.argv[3] });
  process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
  const stop = () => void s3.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('close', stop).resume();
}

const role = process.argv[2] ?? 'main';
if (role === 's3rver') await s3rverChild();
else if (role === 'rss') await rssChild();
else await main();
