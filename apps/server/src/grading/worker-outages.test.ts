import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createGradingRig, type GradingRig, phantomPng, type SpawnedWorker } from './test-grading-rig.ts';

// Outages between a spawned worker and its peers, made with TCP proxies the test cuts and restores:
// S3 unreachable (jobs retried without burning their attempts) and the database going away mid-run.

let rig: GradingRig;
let s3Proxy: TcpProxy;
let dbProxy: TcpProxy;
const workers: SpawnedWorker[] = [];
before(async () => {
  rig = await createGradingRig();
  s3Proxy = await startTcpProxy({ host: '127.0.0.1', port: rig.s3.port });
  const url = new URL(rig.db.url);
  dbProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
after(async () => {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exit));
  await s3Proxy.close();
  await dbProxy.close();
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

  test('the database goes away mid-run and comes back: the worker recovers, every scan graded exactly once', async () => {
    const url = new URL(rig.db.url);
    url.port = String(dbProxy.port);
    const worker = rig.spawnWorker({
      CTI_WORKER_ID: 'w-db',
      DATABASE_URL: url.toString(),
      CTI_GRADING_LEASE_S: '3',
    });
    workers.push(worker);
    await worker.waitForLog('worker started');
    const before = await graded();
    const images = await Promise.all([22, 23].map((seed) => phantomPng(seed, { width: 320, height: 240 })));
    for (let i = 0; i < 16; i++) await rig.ingest({ image: images[i % 2]! });
    await waitFor(async () => (await graded()) >= before + 4, {
      what: 'some graded before the outage',
      timeoutMs: 60_000,
    });
    await dbProxy.cut();
    for (let i = 0; i < 8; i++) await rig.ingest({ image: images[i % 2]! });
    const health = await fetch(`http://127.0.0.1:${await worker.port()}/healthz`).catch((err: Error) => {
      throw new Error(
        `worker unreachable (${err.message}); exit ${worker.child.exitCode}, stderr: ${worker.stderr().slice(-3000)} stdout: ${worker.lines.slice(-5).join('\n')}`,
      );
    });
    assert.equal(health.status, 200, 'a database outage does not make the worker unhealthy');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await dbProxy.restore();
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
    assert.equal(worker.child.exitCode, null, 'the worker kept running');
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0);
  });
});
