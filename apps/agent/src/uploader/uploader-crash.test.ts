import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startS3rver, waitFor } from '@cti/testkit';
import { createOutbox } from '../outbox/outbox.ts';
import { fakeCapture, outboxTempDir, sha256 } from '../test-support/outbox-fixtures.ts';
import { captureDir, readBucket } from '../test-support/outbox-store-check.ts';
import { startS3Proxy } from '../test-support/s3-proxy.ts';

const HARNESS = fileURLToPath(new URL('../test-support/outbox-crash-harness.ts', import.meta.url));
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface Harness {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnHarness(config: Record<string, unknown>): Harness {
  const child = spawn(process.execPath, [HARNESS, JSON.stringify(config)], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  return { child, lines, exited };
}

/** Bucket must hold exactly captures 0..total-1, byte-exact, each key created exactly once. */
async function assertStoreHoldsExactly(
  s3: Awaited<ReturnType<typeof startS3rver>>,
  total: number,
): Promise<void> {
  const wanted = new Map<string, string>();
  for (let n = 0; n < total; n++) {
    const c = fakeCapture(n);
    for (const f of c.files) wanted.set(`${captureDir(c.captureId)}${f.name}`, sha256(f.data));
  }
  const stored = await readBucket(s3.client, s3.bucket);
  assert.deepEqual([...stored.keys()].sort(), [...wanted.keys()].sort());
  for (const [key, hash] of wanted) assert.equal(sha256(stored.get(key) as Buffer), hash, `bytes of ${key}`);
  const created = s3.events.map((e) => e.key);
  const twice = created.filter((k, i) => created.indexOf(k) !== i);
  assert.deepEqual(twice, [], 'no object was uploaded twice');
}

/**
 * Dates the spool's entries a minute back, as a restart that comes later finds them: the open leaves
 * a directory changed in the last seconds alone (it may be a commit in progress).
 */
function ageSpool(spoolDir: string): void {
  const before = new Date(Date.now() - 60_000);
  for (const name of readdirSync(spoolDir)) utimesSync(join(spoolDir, name), before, before);
}

test('SIGKILL at random moments every 0.3-2 s until drained: every committed capture exactly once, nothing else', async (ctx) => {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const t = outboxTempDir();
  cleanups.push(t.remove);
  const total = 200;
  const config = {
    mode: 'run',
    dbPath: t.dbPath,
    spoolDir: t.spoolDir,
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    total,
    // 200 × 40 ms = 8 s of committing alone, and no life lasts over 2 s: at least 3 SIGKILLs always
    // land while captures are still being committed and uploaded (10 ms let a lucky run drain in 2).
    commitGapMs: 40,
  };
  const lifetimes: number[] = [];
  for (let round = 0; ; round++) {
    assert.ok(round < 300, 'the outbox drains within 300 restarts');
    const harness = spawnHarness(config);
    await waitFor(() => harness.lines.includes('started'), {
      what: 'the harness to start',
      timeoutMs: 60_000,
    });
    const lifetime = 300 + Math.floor(Math.random() * 1700);
    const drained = await waitFor(() => harness.lines.includes('drained'), {
      timeoutMs: lifetime,
      intervalMs: 20,
    }).then(
      () => true,
      () => false,
    );
    if (drained) {
      harness.child.kill('SIGTERM');
      assert.deepEqual(await harness.exited, { code: 0, signal: null }, 'a graceful stop exits 0');
      break;
    }
    harness.child.kill('SIGKILL');
    await harness.exited;
    lifetimes.push(lifetime);
  }
  assert.ok(lifetimes.length >= 3, `the agent was killed several times (${lifetimes.length})`);
  ctx.diagnostic(`SIGKILLed ${lifetimes.length} times after ${lifetimes.join(', ')} ms`);
  ageSpool(t.spoolDir);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(outbox.close);
  const summary = outbox.summary();
  assert.equal(summary.pendingCaptures, 0);
  assert.equal(summary.quarantined, 0);
  assert.equal(outbox.list({ state: 'uploaded', limit: 1000 }).length, total);
  assert.equal(readdirSync(t.spoolDir).length, total, 'one spool dir per capture, no temp or orphan dirs');
  await assertStoreHoldsExactly(s3, total);
});

test('killed between the spool write and the DB commit: no row, and the files are swept at restart', async () => {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const t = outboxTempDir();
  cleanups.push(t.remove);
  const base = { dbPath: t.dbPath, spoolDir: t.spoolDir, endpoint: s3.endpoint, bucket: s3.bucket, total: 5 };
  const dying = spawnHarness({ ...base, mode: 'die-before-commit', dieAt: 3 });
  assert.deepEqual(await dying.exited, { code: null, signal: 'SIGKILL' });
  const victim = fakeCapture(3).captureId;
  assert.ok(readdirSync(t.spoolDir).includes(victim), 'the hook ran after the files were durable');
  const reader = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false });
  assert.equal(reader.show(victim), null, 'nothing is visible before the commit');
  reader.close();
  ageSpool(t.spoolDir);
  const owner = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  assert.equal(readdirSync(t.spoolDir).includes(victim), false, 'no orphan files after restart');
  assert.equal(owner.show(victim), null, 'no row after restart');
  assert.equal(
    readdirSync(t.spoolDir).some((name) => name.startsWith('.tmp-')),
    false,
  );
  owner.close();
  assert.equal(
    [...(await readBucket(s3.client, s3.bucket)).keys()].some((k) => k.includes(victim)),
    false,
  );
  const rerun = spawnHarness({ ...base, mode: 'run' });
  await waitFor(() => rerun.lines.includes('drained'), { what: 'the rerun to drain', timeoutMs: 60_000 });
  rerun.child.kill('SIGTERM');
  assert.deepEqual(await rerun.exited, { code: 0, signal: null });
  await assertStoreHoldsExactly(s3, 5);
});

test('SIGTERM during a stalled upload abandons it cleanly: exit 0, nothing left uploading, the restart completes it', async () => {
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const stalled = fakeCapture(0).captureId;
  const proxy = await startS3Proxy({
    target: s3.endpoint,
    hold: (method, path) => method === 'PUT' && path.includes(`${stalled}/image.png`),
  });
  cleanups.push(proxy.close);
  const t = outboxTempDir();
  cleanups.push(t.remove);
  const base = {
    mode: 'run',
    dbPath: t.dbPath,
    spoolDir: t.spoolDir,
    bucket: s3.bucket,
    total: 3,
    abandonAfterMs: 300,
  };
  const first = spawnHarness({ ...base, endpoint: proxy.endpoint });
  await waitFor(() => proxy.held.length === 1, { what: 'the stalled PUT' });
  first.child.kill('SIGTERM');
  assert.deepEqual(await first.exited, { code: 0, signal: null });
  const reader = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir, owner: false });
  const image = reader.show(stalled)?.objects.find((o) => o.name === 'image.png');
  assert.equal(image?.state, 'pending');
  assert.equal(image?.lastError, 'abandoned at shutdown');
  assert.equal(image?.attempts, 1);
  const states = reader
    .list({ limit: 10 })
    .flatMap((c) => reader.show(c.captureId)?.objects.map((o) => o.state) ?? []);
  assert.equal(states.includes('uploading'), false, 'no object is left in an unknown state');
  reader.close();
  const second = spawnHarness({ ...base, endpoint: s3.endpoint });
  await waitFor(() => second.lines.includes('drained'), { what: 'the restart to drain', timeoutMs: 60_000 });
  second.child.kill('SIGTERM');
  assert.deepEqual(await second.exited, { code: 0, signal: null });
  await assertStoreHoldsExactly(s3, 3);
});
