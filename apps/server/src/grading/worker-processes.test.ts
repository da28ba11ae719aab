import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { createGradingRig, type GradingRig, phantomPng, type SpawnedWorker } from './test-grading-rig.ts';

// Spawned worker processes: two workers never grade a job twice (nor hold one at once: every job
// claimed once, no lease lost or expired); a worker killed with -9 mid-job loses
// its lease and the job is graded once by another; SIGTERM releases a job it cannot finish.

let rig: GradingRig;
let blackHole: Server;
let blackHolePort: number;
const held: Socket[] = [];
before(async () => {
  rig = await createGradingRig();
  // An "S3" that accepts connections and never answers: a worker reading from it is stuck mid-job.
  blackHole = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  blackHolePort = (blackHole.address() as { port: number }).port;
});
after(async () => {
  for (const s of held) s.destroy();
  await new Promise((resolve) => blackHole.close(resolve));
  await rig.close();
});

/** Runs `body`, then SIGKILLs every worker it left running, so a failed test cannot leak into the next. */
async function withWorkers(body: (spawned: SpawnedWorker[]) => Promise<void>): Promise<void> {
  const spawned: SpawnedWorker[] = [];
  try {
    await body(spawned);
  } finally {
    for (const w of spawned)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(spawned.map((w) => w.exit));
  }
}

const resultsPerScan = () =>
  rig.db.sql<{ scan_id: string; n: number }[]>`
    SELECT s.id AS scan_id, count(g.id)::int AS n FROM scans s LEFT JOIN grading_results g ON g.scan_id = s.id GROUP BY s.id`;

describe('grading with worker processes', () => {
  test('two workers, 200 scans: each graded exactly once', async () => {
    await withWorkers(async (spawned) => {
      const track = (w: SpawnedWorker) => {
        spawned.push(w);
        return w;
      };
      const images = await Promise.all(
        [1, 2, 3, 4].map((seed) => phantomPng(seed, { width: 320, height: 240 })),
      );
      // A lease long enough that only a worker stalled for 20 s (a defect, not a loaded CI machine) loses
      // one: the checks below then say "no job was held by two workers", not "the machine was busy".
      const a = track(rig.spawnWorker({ CTI_WORKER_ID: 'w-a', CTI_GRADING_LEASE_S: '20' }));
      const b = track(rig.spawnWorker({ CTI_WORKER_ID: 'w-b', CTI_GRADING_LEASE_S: '20' }));
      await Promise.all([a.waitForLog('worker started'), b.waitForLog('worker started')]);
      const scans: string[] = [];
      for (let i = 0; i < 200; i++)
        scans.push((await rig.ingest({ image: images[i % images.length]! })).scanId);
      await waitFor(
        async () => {
          const [row] = await rig.db.sql`SELECT count(*)::int AS n FROM scans WHERE status = 'graded'`;
          return row!.n === 200;
        },
        { what: '200 scans graded', timeoutMs: 240_000, intervalMs: 250 },
      );
      const counts = await resultsPerScan();
      assert.equal(counts.length, 200);
      assert.ok(
        counts.every((c) => c.n === 1),
        'exactly one result per scan',
      );
      const jobs = await rig.db.sql<
        { status: string; n: number }[]
      >`SELECT status, count(*)::int AS n FROM grading_jobs GROUP BY status`;
      assert.deepEqual(
        jobs.map((j) => [j.status, j.n]),
        [['done', 200]],
      );
      const [events] = await rig.db.sql`SELECT count(*)::int AS n FROM scan_events WHERE event = 'graded'`;
      assert.equal(events!.n, 200);
      const byWorker = (w: typeof a) => w.lines.filter((l) => l.includes('"msg":"job done"')).length;
      // A worker logs "job done" after its commit, through an asynchronous logger: on a loaded machine the
      // last lines can reach the pipe after the database already shows every scan graded.
      await waitFor(async () => byWorker(a) + byWorker(b) >= 200, {
        what: '200 "job done" log lines',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      assert.equal(byWorker(a) + byWorker(b), 200);
      assert.ok(byWorker(a) > 0 && byWorker(b) > 0, `both workers graded (${byWorker(a)} + ${byWorker(b)})`);
      // One result per scan could hide a job graded twice whose second commit was refused. No job was
      // held by two workers: each was claimed once (a claim counts an attempt; a lost or expired lease
      // means a second claim), no lease ran out, and each job was finished by exactly one "job done".
      const reclaimed = await rig.db.sql<{ id: string; attempts: number; code: string | null }[]>`
        SELECT id, attempts, last_error_code AS code FROM grading_jobs
        WHERE attempts <> 1 OR last_error_code IS NOT NULL ORDER BY id`;
      assert.deepEqual(
        reclaimed.map((j) => ({ ...j })),
        [],
        'every job claimed exactly once, no lease expired',
      );
      const doneJobs = [...a.lines, ...b.lines]
        .filter((l) => l.includes('"msg":"job done"'))
        .map((l) => String((JSON.parse(l) as { jobId: unknown }).jobId));
      assert.equal(new Set(doneJobs).size, 200, 'each job finished by one worker, once');
      for (const w of [a, b]) {
        const leaseLines = w.lines.filter((l) =>
          /lease (was )?lost|lease expired|could not be renewed/.test(l),
        );
        assert.deepEqual(leaseLines, [], 'no worker lost a lease or requeued an expired one');
      }
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all([a.exit, b.exit]), [0, 0]);
    });
  });

  test('kill -9 mid-job: the lease expires, another worker re-claims the job, one result', async () => {
    await withWorkers(async (spawned) => {
      const track = (w: SpawnedWorker) => {
        spawned.push(w);
        return w;
      };
      const stuck = track(
        rig.spawnWorker({
          CTI_WORKER_ID: 'w-stuck',
          S3_ENDPOINT: `http://127.0.0.1:${blackHolePort}`,
          CTI_GRADING_LEASE_S: '3',
        }),
      );
      await stuck.waitForLog('worker started');
      const { scanId } = await rig.ingest({ image: await phantomPng(7, { width: 320, height: 240 }) });
      await waitFor(
        async () =>
          (
            await rig.db
              .sql`SELECT 1 FROM grading_jobs WHERE scan_id = ${scanId} AND status = 'running' AND locked_by = 'w-stuck'`
          ).length === 1,
        {
          what: 'the job held by w-stuck',
        },
      );
      stuck.child.kill('SIGKILL');
      await stuck.exit;
      const rescuer = track(rig.spawnWorker({ CTI_WORKER_ID: 'w-rescuer', CTI_GRADING_LEASE_S: '3' }));
      await rig.waitForStatus(scanId, 'graded', 60_000);
      const [job] = await rig.db
        .sql`SELECT status, attempts, locked_by FROM grading_jobs WHERE scan_id = ${scanId}`;
      assert.deepEqual([job!.status, job!.attempts], ['done', 2], 'the dead worker’s attempt counts');
      assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 1);
      const port = await rescuer.port();
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /cti_grading_lease_expiries_total [1-9]/);
      rescuer.child.kill('SIGTERM');
      assert.equal(await rescuer.exit, 0);
    });
  });

  test('SIGTERM with a job it cannot finish: the job is released to the queue and the worker exits 0', async () => {
    await withWorkers(async (spawned) => {
      const track = (w: SpawnedWorker) => {
        spawned.push(w);
        return w;
      };
      const stuck = track(
        rig.spawnWorker({
          CTI_WORKER_ID: 'w-term',
          S3_ENDPOINT: `http://127.0.0.1:${blackHolePort}`,
          CTI_SHUTDOWN_TIMEOUT_MS: '3000',
        }),
      );
      await stuck.waitForLog('worker started');
      const { scanId } = await rig.ingest({ image: await phantomPng(8, { width: 320, height: 240 }) });
      await waitFor(
        async () =>
          (await rig.db.sql`SELECT 1 FROM grading_jobs WHERE scan_id = ${scanId} AND status = 'running'`)
            .length === 1,
        {
          what: 'the job running',
        },
      );
      stuck.child.kill('SIGTERM');
      assert.equal(await stuck.exit, 0);
      const [job] = await rig.db
        .sql`SELECT status, attempts, locked_by FROM grading_jobs WHERE scan_id = ${scanId}`;
      assert.deepEqual(
        [job!.status, job!.attempts, job!.locked_by],
        ['queued', 0, null],
        'released, the attempt not counted',
      );
      const next = track(rig.spawnWorker({ CTI_WORKER_ID: 'w-next' }));
      await rig.waitForStatus(scanId, 'graded', 60_000);
      next.child.kill('SIGTERM');
      assert.equal(await next.exit, 0);
    });
  });
});
