import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createGradingRig, type GradingRig, phantomPng, type SpawnedWorker } from './test-grading-rig.ts';

// Outages between a spawned worker and its peers, made with TCP proxies the test cuts and restores:
// S3 unreachable (jobs retried without burning their attempts), the database going away with jobs in
// flight for longer than their lease, the database falling silent (connections left open, nothing
// answered), and a job whose lease cannot be renewed given up before the lease can run out.

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

  test('no S3 credentials at all (review r22 F6): a warning at start naming the settings, jobs released as s3_unavailable and never failed, /healthz 200 saying so; graded once a worker has them', async () => {
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-nocreds',
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      // Nothing else in the chain may find any: no profile files, no instance role endpoint to wait for.
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/cti-test-credentials',
      AWS_CONFIG_FILE: '/nonexistent/cti-test-config',
      AWS_EC2_METADATA_DISABLED: 'true',
      // Before the fix each attempt counted: two failures ended a job for good within a second.
      CTI_GRADING_MAX_ATTEMPTS: '2',
    });
    workers.push(worker);
    const warning = await worker.waitForLog(
      'S3 credentials not found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), or a container/instance role; until then jobs wait in the queue (s3_unavailable, attempts not counted)',
    );
    assert.equal(warning.level, 40);
    await worker.waitForLog('worker started');
    const image = await phantomPng(24, { width: 320, height: 240 });
    const scanIds: string[] = [];
    for (let i = 0; i < 3; i++) scanIds.push((await rig.ingest({ image })).scanId);
    const port = await worker.port();
    const s3Errors = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(
        /cti_grading_infrastructure_errors_total\{code="s3_unavailable"\} (\d+)/.exec(text)?.[1] ?? 0,
      );
    };
    // Well past what CTI_GRADING_MAX_ATTEMPTS would allow each of the three jobs.
    await waitFor(async () => (await s3Errors()) >= 8, {
      what: 'eight attempts released as s3_unavailable',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const jobs = await rig.db.sql<{ status: string; last_error_code: string; last_error: string }[]>`
      SELECT status, last_error_code, last_error FROM grading_jobs WHERE scan_id = ANY(${scanIds}::uuid[])`;
    assert.equal(jobs.length, 3);
    for (const job of jobs) {
      assert.notEqual(job.status, 'failed', 'no job fails for want of credentials');
      assert.equal(job.last_error_code, 's3_unavailable');
      assert.match(job.last_error, /Could not load credentials[\s\S]*AWS_ACCESS_KEY_ID/);
    }
    const statuses = await rig.db.sql`SELECT DISTINCT status FROM scans WHERE id = ANY(${scanIds}::uuid[])`;
    assert.deepEqual(
      statuses.map((r) => r.status),
      ['ingested'],
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200, 'liveness: a restart would not bring credentials');
    const body = (await health.json()) as { s3: { credentials: string; message: string } };
    assert.equal(body.s3.credentials, 'missing');
    assert.match(body.s3.message, /Could not load credentials/);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /cti_grading_s3_credentials 0/);
    const warnings = worker.lines.filter((l) => l.includes('S3 credentials not found'));
    assert.equal(warnings.length, 1, 'said once, not per job');
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
    // The operator adds the keys: a worker that has them grades every one of them.
    const fixed = rig.spawnWorker({ CTI_WORKER_ID: 'w-creds' });
    workers.push(fixed);
    for (const id of scanIds) await rig.waitForStatus(id, 'graded', 60_000);
    const fixedHealth = (await (await fetch(`http://127.0.0.1:${await fixed.port()}/healthz`)).json()) as {
      s3: { credentials: string };
    };
    assert.equal(fixedHealth.s3.credentials, 'found');
    fixed.child.kill('SIGTERM');
    assert.equal(await fixed.exit, 0);
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

  test('the database unreachable mid-job: the worker gives the job up at 80 % of the lease since its last renewal, its S3 call aborted, before another worker could re-claim it', async (t) => {
    const url = new URL(rig.db.url);
    const dbLink = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const s3Link = await startTcpProxy({ host: '127.0.0.1', port: rig.s3.port });
    try {
      url.port = String(dbLink.port);
      const leaseMs = 10_000;
      const worker = rig.spawnWorker({
        CTI_WORKER_ID: 'w-deadline',
        DATABASE_URL: url.toString(),
        S3_ENDPOINT: `http://127.0.0.1:${s3Link.port}`,
        CTI_GRADING_LEASE_S: String(leaseMs / 1000),
        // A renewal on a dead connection fails only after this long: 9 s of a 10 s lease (12 s when it
        // needs a new connection).
        CTI_DB_REPLY_TIMEOUT_S: '9',
        CTI_DB_CONNECT_TIMEOUT_S: '12',
        // The LISTEN connection stays frozen after the thaw (idle, it owes nothing) until its watchdog
        // (30 s) makes it anew: polls find the job.
        CTI_WORKER_POLL_MS: '1000',
        // sql.end at shutdown waits up to 5 s for connections still frozen.
        CTI_SHUTDOWN_TIMEOUT_MS: '30000',
      });
      workers.push(worker);
      await worker.waitForLog('worker started');
      // The job's GET of the image never answers: the job stays in flight until something aborts it.
      s3Link.freeze();
      const { scanId } = await rig.ingest({ image: await phantomPng(26, { width: 320, height: 240 }) });
      await waitFor(
        async () =>
          (
            await rig.db.sql`
              SELECT 1 FROM grading_jobs WHERE scan_id = ${scanId} AND status = 'running' AND locked_by = 'w-deadline'`
          ).length === 1,
        { what: 'the job claimed', timeoutMs: 30_000 },
      );
      // Right after a heartbeat renewed the lease (locked_at moves), cut the worker off the database
      // silently: the next renewal, a third of the lease later, hangs until CTI_DB_REPLY_TIMEOUT_S.
      const lockedAt = async () =>
        (
          await rig.db.sql<
            { locked_at: Date }[]
          >`SELECT locked_at FROM grading_jobs WHERE scan_id = ${scanId}`
        )[0]!.locked_at.getTime();
      const claimedAt = await lockedAt();
      await waitFor(async () => (await lockedAt()) > claimedAt, {
        what: 'a heartbeat',
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      dbLink.freeze();
      const [held] = await rig.db.sql<{ lease_expires_at: Date }[]>`
        SELECT lease_expires_at FROM grading_jobs WHERE scan_id = ${scanId}`;
      const dropped = await worker.waitForLog('dropped a job whose lease was lost', 30_000);
      const early = held!.lease_expires_at.getTime() - Date.parse(String(dropped.time));
      // 0.8 of the lease after the last renewal was sent: 2 s before the row's lease runs out. Before
      // the fix the job was dropped only when a renewal failed: up to 10/3 + 9 s after the last one, 2.3 s
      // after the lease ran out, when another worker could have re-claimed it (never sooner than 9 s
      // after a renewal sent once the path was dead: ≤ 1 s before it ran out).
      t.diagnostic(`given up ${early} ms before the lease ran out`);
      assert.ok(early >= 0.15 * leaseMs, `given up ${early} ms before its lease ran out`);
      assert.match(String(dropped.err), /could not be renewed within 80 % of CTI_GRADING_LEASE_S/);
      // The drop came while S3 was still frozen: the abort reached the GET in flight.
      dbLink.thaw();
      s3Link.thaw();
      await rig.waitForStatus(scanId, 'graded', 90_000);
      const logs = () => worker.lines.slice(-30).join('\n');
      const [job] = await rig.db.sql`SELECT status, attempts FROM grading_jobs WHERE scan_id = ${scanId}`;
      assert.deepEqual(
        [job!.status, job!.attempts],
        ['done', 2],
        `the given-up attempt counts, as a lost lease does; the next one is not given up:\n${logs()}`,
      );
      assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exit, 0, `exit status; stderr: ${worker.stderr().slice(-2000)}\n${logs()}`);
    } finally {
      await dbLink.close();
      await s3Link.close();
    }
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
