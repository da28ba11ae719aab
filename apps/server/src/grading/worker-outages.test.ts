import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createGradingRig, type GradingRig, phantomPng, type SpawnedWorker } from './test-grading-rig.ts';

// Outages between a spawned worker and its peers, made with TCP proxies the test cuts and restores:
// S3 unreachable (jobs retried without burning their attempts), the database going away with jobs in
// flight for longer than their lease, and the database falling silent (connections left open, nothing
// answered).

let rig: GradingRig;
let s3Proxy: TcpProxy;
let dbProxy: TcpProxy;
let silentProxy: TcpProxy;
const workers: SpawnedWorker[] = [];
before(async () => {
  rig = await createGradingRig();
  s3Proxy = await startTcpProxy({ host: '127.0.0.1', port: rig.s3.port });
  const url = new URL(rig.db.url);
  dbProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  silentProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
after(async () => {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exit));
  await s3Proxy.close();
  await dbProxy.close();
  await silentProxy.close();
  await rig.close();
});

const graded = async () =>
  Number((await rig.db.sql`SELECT count(*)::int AS n FROM scans WHERE status = 'graded'`)[0]!.n);

describe('outages', () => {
  test('S3 down then up: the job is retried with backoff, then graded once; its attempt is not used up', async () => {
    await s3Proxy.cut();
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-s3',
      S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
    });
    workers.push(worker);
    await worker.waitForLog('worker started');
    const { scanId } = await rig.ingest({ image: await phantomPng(21, { width: 320, height: 240 }) });
    await waitFor(
      async () =>
        (
          await rig.db
            .sql`SELECT 1 FROM grading_jobs WHERE scan_id = ${scanId} AND last_error_code = 's3_unavailable'`
        ).length === 1,
      {
        what: 'a failed attempt for S3',
        timeoutMs: 30_000,
      },
    );
    const [during] = await rig.db.sql`SELECT status FROM scans WHERE id = ${scanId}`;
    assert.equal(during!.status, 'ingested', 'an outage is no grading failure');
    await s3Proxy.restore();
    await rig.waitForStatus(scanId, 'graded', 60_000);
    const [job] = await rig.db.sql`SELECT attempts, status FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.deepEqual([job!.status, job!.attempts], ['done', 1]);
    assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
    const metrics = await (await fetch(`http://127.0.0.1:${await worker.port()}/metrics`)).text();
    assert.match(metrics, /cti_grading_infrastructure_errors_total\{code="s3_unavailable"\} [1-9]/);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
  });

  test('the database goes away while jobs are in flight, for longer than their lease: re-claimed after it, every scan graded exactly once', async (t) => {
    const url = new URL(rig.db.url);
    url.port = String(dbProxy.port);
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-db',
      DATABASE_URL: url.toString(),
      CTI_GRADING_LEASE_S: '4',
      // Under the lease, and long enough for the test to cut the path while a result waits on its lock.
      CTI_DB_REPLY_TIMEOUT_S: '3',
    });
    workers.push(worker);
    await worker.waitForLog('worker started');
    const before = await graded();
    const images = await Promise.all([22, 23].map((seed) => phantomPng(seed, { width: 320, height: 240 })));
    for (let i = 0; i < 8; i++) await rig.ingest({ image: images[i % 2]! });
    await waitFor(async () => (await graded()) === before + 8, {
      what: '8 graded before the outage',
      timeoutMs: 60_000,
    });
    // Hold the next results in their transaction (only the result writer inserts grading_result_assets):
    // the jobs are claimed, graded and half-written when the path to the database is cut.
    const lock = await rig.db.sql.reserve();
    let inFlight: { id: string; scan_id: string }[];
    try {
      await lock`BEGIN`;
      await lock`LOCK TABLE grading_result_assets IN SHARE MODE`;
      for (let i = 0; i < 8; i++) await rig.ingest({ image: images[i % 2]! });
      await waitFor(
        async () =>
          (
            await rig.db.sql`
              SELECT 1 FROM pg_locks WHERE relation = 'grading_result_assets'::regclass AND NOT granted`
          ).length > 0,
        { what: 'a result transaction waiting on the lock', timeoutMs: 30_000, intervalMs: 20 },
      );
      await dbProxy.cut();
      inFlight = await rig.db.sql<{ id: string; scan_id: string }[]>`
        SELECT id, scan_id FROM grading_jobs WHERE status = 'running' AND locked_by = 'w-db' ORDER BY id`;
    } finally {
      await lock`COMMIT`;
      lock.release();
    }
    assert.ok(inFlight.length >= 1, 'a job was in flight (claimed, its result not committed) at the cut');
    const cutAt = Date.now();
    for (let i = 0; i < 8; i++) await rig.ingest({ image: images[i % 2]! });
    const health = await fetch(`http://127.0.0.1:${await worker.port()}/healthz`).catch((err: Error) => {
      throw new Error(
        `worker unreachable (${err.message}); exit ${worker.child.exitCode}, stderr: ${worker.stderr().slice(-3000)} stdout: ${worker.lines.slice(-5).join('\n')}`,
      );
    });
    assert.equal(health.status, 200, 'a database outage does not make the worker unhealthy');
    // The outage outlasts the lease: nobody can renew it, and no result of those jobs was committed.
    const ids = inFlight.map((j) => j.id);
    await waitFor(
      async () =>
        (
          await rig.db.sql`
            SELECT 1 FROM grading_jobs WHERE id = ANY(${ids}::bigint[]) AND status = 'running' AND lease_expires_at < now()`
        ).length === ids.length,
      {
        what: 'the leases of the jobs in flight ran out during the outage',
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    const [orphans] = await rig.db.sql`
      SELECT count(*)::int AS n FROM grading_results WHERE grading_job_id = ANY(${ids}::bigint[])`;
    assert.equal(orphans!.n, 0, 'the cut transactions committed nothing');
    await dbProxy.restore();
    t.diagnostic(
      `${inFlight.length} job(s) in flight at the cut; database unreachable for ${Date.now() - cutAt} ms`,
    );
    await waitFor(async () => (await graded()) === before + 24, {
      what: 'all 24 graded after the outage',
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    const counts = await rig.db.sql<{ n: number }[]>`
      SELECT count(g.id)::int AS n FROM scans s LEFT JOIN grading_results g ON g.scan_id = s.id GROUP BY s.id`;
    assert.ok(
      counts.every((c) => c.n === 1),
      'exactly one result per scan',
    );
    const redone = await rig.db.sql<{ status: string; attempts: number; results: number; events: number }[]>`
      SELECT j.status, j.attempts,
        (SELECT count(*)::int FROM grading_results g WHERE g.scan_id = j.scan_id) AS results,
        (SELECT count(*)::int FROM scan_events e WHERE e.scan_id = j.scan_id AND e.event = 'graded') AS events
      FROM grading_jobs j WHERE j.id = ANY(${ids}::bigint[])`;
    assert.deepEqual(
      redone.map((j) => [j.status, j.attempts, j.results, j.events]),
      ids.map(() => ['done', 2, 1, 1]),
      'each job in flight re-claimed once its lease ran out: one result, one graded event',
    );
    assert.equal(worker.child.exitCode, null, 'the worker kept running');
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
  });

  test('the database falls silent (connections open, nothing answered): claims fail after CTI_DB_REPLY_TIMEOUT_S, /healthz and /metrics say so, and the scan is graded once it answers again', async () => {
    const url = new URL(rig.db.url);
    url.port = String(silentProxy.port);
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-silent',
      DATABASE_URL: url.toString(),
      CTI_DB_REPLY_TIMEOUT_S: '1',
      CTI_WORKER_POLL_MS: '200',
      CTI_GRADING_LEASE_S: '3',
    });
    workers.push(worker);
    await worker.waitForLog('worker started');
    const port = await worker.port();
    silentProxy.freeze();
    const { scanId } = await rig.ingest({ image: await phantomPng(24, { width: 320, height: 240 }) });
    // Without a deadline the claim in flight waits for ever: neither line would come.
    const silent = await worker.waitForLog(SILENT_LOG, 30_000);
    assert.deepEqual([silent.address, silent.silentMs], [`127.0.0.1:${silentProxy.port}`, 1000]);
    await worker.waitForLog('cannot claim: database unavailable', 30_000);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(
      health.status,
      200,
      'the claim loop turns (claims fail and back off): a restart would not help',
    );
    const body = (await health.json()) as {
      database: { silent_connections_closed: number; last_silent?: { address: string } };
    };
    assert.ok(body.database.silent_connections_closed >= 1);
    assert.equal(body.database.last_silent?.address, `127.0.0.1:${silentProxy.port}`);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /cti_grading_db_silent_connections_total [1-9]/);
    const [during] = await rig.db.sql`SELECT status, attempts FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.deepEqual([during!.status, during!.attempts], ['queued', 0], 'no claim reached the database');
    silentProxy.thaw();
    await rig.waitForStatus(scanId, 'graded', 60_000);
    const [job] = await rig.db.sql`SELECT attempts, status FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.deepEqual([job!.status, job!.attempts], ['done', 1]);
    assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
  });

  test('a connection falls silent inside the result transaction (its row lock held by the database): the server ends it, the job is graded exactly once', async () => {
    const url = new URL(rig.db.url);
    url.port = String(silentProxy.port);
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-silent-tx',
      DATABASE_URL: url.toString(),
      CTI_DB_REPLY_TIMEOUT_S: '1',
      CTI_WORKER_POLL_MS: '200',
      CTI_GRADING_LEASE_S: '3',
    });
    workers.push(worker);
    await worker.waitForLog('worker started');
    // The job row is already updated (locked) in the transaction when its second statement goes silent.
    silentProxy.freezeWhen((chunk) => chunk.includes('INSERT INTO assets'));
    const { scanId } = await rig.ingest({ image: await phantomPng(25, { width: 320, height: 240 }) });
    await worker.waitForLog(SILENT_LOG, 30_000);
    await rig.waitForStatus(scanId, 'graded', 60_000);
    const [job] = await rig.db.sql`SELECT status FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.equal(job!.status, 'done');
    assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
    const events = await rig.db.sql`SELECT 1 FROM scan_events WHERE scan_id = ${scanId} AND event = 'graded'`;
    assert.equal(events.length, 1);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
  });
});

const SILENT_LOG =
  'database connection silent: closed it (CTI_DB_REPLY_TIMEOUT_S); its queries fail and are retried on a new connection';
