// pnpm bench:upload — prints figures, asserts nothing (see docs/agent-outbox.md).
// 1. Throughput: drains 500 realistic captures (640×480 grayscale PNG ≈ 185 KB + meta.json ≈ 1 KB)
//    from the outbox to a local s3rver, and uploads the same files with a plain SDK PutObject loop
//    at the same concurrency; five interleaved rounds, median ratio (a shared machine is noisy).
// 2. Commit cost per capture (ms, fsyncs) over all commits.
// 3. Memory: peak RSS of an agent-like process holding 10,000 pending captures while committing
//    and draining them, next to a plain PutObject loop process, with default and tuned V8 flags.
// s3rver runs in its own process so agent-side figures are not mixed with the store's.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { createOutbox, type Outbox } from '../src/outbox/outbox.ts';
import type { CommitCaptureInput } from '../src/outbox/outbox-types.ts';
import { createUploadS3Client } from '../src/uploader/s3-client.ts';
import { createUploader } from '../src/uploader/uploader.ts';

const SELF = fileURLToPath(import.meta.url);
const CONCURRENCY = 4;
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PENDING = Number(process.env.BENCH_PENDING ?? 10_000);
const DRAIN_FOR_RSS = Math.min(2000, PENDING);
const TUNED_FLAGS = (
  process.env.BENCH_TUNED_FLAGS ?? '--max-semi-space-size=2 --max-old-space-size=96'
).split(' ');
const mb = (bytes: number) => bytes / 1e6;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

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

async function plainPutLoop(
  s3: S3Client,
  bucket: string,
  inputs: CommitCaptureInput[],
  tag: string,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < inputs.length; i = next++) {
      const input = inputs[i] as CommitCaptureInput;
      for (const file of input.files) {
        const key = `baseline/${tag}/${input.captureId}/${file.name}`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: file.data }));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (performance.now() - started) / 1000;
}

async function commitAll(outbox: Outbox, inputs: CommitCaptureInput[], times: number[]): Promise<number> {
  let fsyncs = 0;
  for (const input of inputs) {
    const t0 = performance.now();
    fsyncs += (await outbox.commitCapture(input)).fsyncs;
    times.push(performance.now() - t0);
  }
  return fsyncs / inputs.length;
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

async function startStoreChild(): Promise<{ child: ChildProcess; endpoint: string; bucket: string }> {
  // stdin stays open: the store exits when this process dies, however it dies.
  const child = spawn(process.execPath, [SELF, 's3rver'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString())),
  );
  return { child, ...(JSON.parse(line) as { endpoint: string; bucket: string }) };
}

async function throughput(s3: S3Client, bucket: string, dir: string): Promise<void> {
  const scans = await fakeScans(10);
  const times: number[] = [];
  let fsyncs = 0;
  const ratios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const inputs = Array.from({ length: CAPTURES }, (_, n) => captureInput(n, scans, `r${round}x`));
    const bytes = inputs.reduce((n, c) => n + c.files.reduce((m, f) => m + f.data.length, 0), 0);
    if (round === 1) {
      console.log(
        `${CAPTURES} captures × ${ROUNDS} rounds, image ≈ ${fmt(mb(scans[0]?.length ?? 0) * 1000, 0)} KB, ${fmt(mb(bytes))} MB per round, concurrency ${CONCURRENCY}`,
      );
      await plainPutLoop(s3, bucket, inputs.slice(0, 50), 'warmup');
    }
    const outbox = openOutbox(join(dir, `round-${round}`));
    fsyncs = await commitAll(outbox, inputs, times);
    // Alternate which goes first so a warming or cooling store favours neither, and flush dirty
    // pages (the spool, the store's last writes) before each timed run so neither pays for the other.
    let plain = 0;
    let ours = 0;
    const settle = () => {
      execFileSync('sync');
      (globalThis as { gc?: () => void }).gc?.(); // --expose-gc: the commit phase's garbage is not theirs
    };
    const timedPlain = async () => {
      settle();
      plain = await plainPutLoop(s3, bucket, inputs, `round-${round}`);
    };
    const timedOutbox = async () => {
      settle();
      ours = await drain(outbox, s3, bucket, CAPTURES);
    };
    if (round % 2 === 1) {
      await timedPlain();
      await timedOutbox();
    } else {
      await timedOutbox();
      await timedPlain();
    }
    outbox.close();
    const rate = (s: number) => `${fmt(CAPTURES / s)} captures/s ${fmt(mb(bytes) / s)} MB/s`;
    ratios.push(plain / ours);
    console.log(
      `round ${round}: plain PutObject ${rate(plain)} | outbox ${rate(ours)} | ratio ${fmt(plain / ours, 2)}`,
    );
  }
  ratios.sort((a, b) => a - b);
  console.log(
    `median ratio outbox/plain: ${fmt(ratios[Math.floor(ratios.length / 2)] ?? 0, 2)} (target ≥ 0.9)`,
  );
  times.sort((a, b) => a - b);
  const at = (q: number) => fmt(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0, 2);
  const mean = fmt(times.reduce((a, b) => a + b, 0) / times.length, 2);
  console.log(
    `commit per capture (${times.length} commits): mean ${mean} ms, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, ${fsyncs} fsyncs`,
  );
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
      `  agent draining ${Math.min(DRAIN_FOR_RSS, agent.pending ?? 0)} of ${agent.pending} pending: peak ${fmt(agent.drainPeakMb ?? 0)} MB at ${fmt(agent.rate ?? 0)} captures/s (target ≤ 150 MB)`,
    );
    console.log(
      `  plain PutObject loop process, same ${DRAIN_FOR_RSS} captures: peak ${fmt(plain.drainPeakMb ?? 0)} MB at ${fmt(plain.rate ?? 0)} captures/s`,
    );
  }
}

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER'; // s3rver's fixed credentials, read by the standard chain
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const store = await startStoreChild();
  const s3 = createUploadS3Client({ region: 'us-east-1', endpoint: store.endpoint, maxAttempts: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  try {
    await throughput(s3, store.bucket, dir);
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
    const inputs = Array.from({ length: DRAIN_FOR_RSS }, (_, n) => captureInput(n, scans, 'plain'));
    const sampler = rssSampler();
    result.rate = DRAIN_FOR_RSS / (await plainPutLoop(s3, bucket as string, inputs, `rss-${process.pid}`));
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
    result.pending = outbox.summary().pendingCaptures; // the status query over the whole backlog
    const count = Math.min(DRAIN_FOR_RSS, result.pending);
    result.rate = count === 0 ? 0 : count / (await drain(outbox, s3, bucket as string, count));
    result.drainPeakMb = sampler.stop();
    outbox.close();
  }
  s3.destroy();
  process.stdout.write(JSON.stringify(result));
}

async function s3rverChild(): Promise<void> {
  const { startS3rver } = await import('@cti/testkit'); // only here: s3rver stays out of the agent's RSS
  const s3 = await startS3rver({ buckets: ['cti-bench'] });
  process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })}\n`);
  const stop = () => void s3.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('close', stop).resume();
}

const role = process.argv[2] ?? 'main';
if (role === 's3rver') await s3rverChild();
else if (role === 'rss') await rssChild();
else await main();
