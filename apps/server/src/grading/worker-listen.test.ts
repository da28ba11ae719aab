import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createGradingRig, type GradingRig, phantomPng, type SpawnedWorker } from './test-grading-rig.ts';

// Issue 11: a new scan starts grading in milliseconds, through LISTEN/NOTIFY, not at the next poll —
// also after the worker's LISTEN connection died silently (a NAT or firewall forgot it, no RST: the
// socket looks alive while nothing arrives). The poll is 10 minutes away here, so only a NOTIFY, or
// the wake-up on a re-established LISTEN, can get a scan graded within the test.

let rig: GradingRig;
let proxy: TcpProxy;
let worker: SpawnedWorker | undefined;
before(async () => {
  rig = await createGradingRig();
  const url = new URL(rig.db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
after(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null)
    worker.child.kill('SIGKILL');
  await worker?.exit;
  await proxy.close();
  await rig.close();
});

/** The chunk a worker sends to LISTEN on the jobs channel (postgres.js quotes the name). */
const isJobsListen = (chunk: Buffer) => /listen "?cti_grading_jobs/i.test(chunk.toString('latin1'));

test('the LISTEN connection dies silently: the watchdog makes it anew and the worker claims the scan queued meanwhile at once', async (t) => {
  const url = new URL(rig.db.url);
  url.port = String(proxy.port);
  worker = rig.spawnWorker({
    CTI_WORKER_ID: 'w-listen',
    DATABASE_URL: url.toString(),
    CTI_WORKER_POLL_MS: '600000',
    CTI_WORKER_LISTEN_WATCHDOG_MS: '300',
  });
  await worker.waitForLog('worker started');
  const port = await worker.port();
  const image = await phantomPng(27, { width: 320, height: 240 });
  const first = await rig.ingest({ image });
  await rig.waitForStatus(first.scanId, 'graded', 15_000);

  // Only the LISTEN connection falls silent; the pool (claims, the watchdog's ping) keeps working.
  assert.equal(proxy.freezeOpen(isJobsListen), 1, 'the LISTEN connection frozen');
  const frozenAt = Date.now();
  const { scanId } = await rig.ingest({ image }); // its NOTIFY goes to the frozen connection
  await rig.waitForStatus(scanId, 'graded', 10_000);
  t.diagnostic(`graded ${Date.now() - frozenAt} ms after the LISTEN connection froze`);

  const lost = await worker.waitForLog('LISTEN connection lost; notifications are missed until it is back');
  assert.match(String(lost.why), /watchdog ping did not come back within 300 ms/);
  await worker.waitForLog('LISTEN connection re-established');
  const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
    database: { listening: boolean };
  };
  assert.equal(health.database.listening, true);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^cti_grading_listening 1$/m);
  assert.match(metrics, /^cti_grading_listen_lost_total [1-9]/m);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});
