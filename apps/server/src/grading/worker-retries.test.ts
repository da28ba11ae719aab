import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ImageInputError } from '@cti/models';
import { createLogger } from '@cti/runtime';
import { createGradingWorker } from './grading-worker.ts';
import { createGradingRig, type GradingRig, phantomPng } from './test-grading-rig.ts';
import { createWorkerMetrics } from './worker-metrics.ts';

// A failure that is neither permanent nor an outage (the image object is gone from the store, which
// an eventually consistent store may fix) is retried with backoff, each attempt counted, until
// CTI_GRADING_MAX_ATTEMPTS: then the job fails for good — scan `error`, one `grading_failed` event
// with the reason, staff told once each, no result. The same end for a job whose lease runs out on
// its last attempt (its worker died). An S3 or database answer that never changes (a bucket that does
// not exist, a 403 for a key that is gone) is retried as an outage — attempt not counted — only within
// CTI_GRADING_OUTAGE_ALLOWANCE_S of the job's first such failure: then it fails for good the same way.

let rig: GradingRig;
before(async () => {
  rig = await createGradingRig();
});
after(() => rig.close());

test('a transient failure is retried until max attempts, then fails for good with its reason', async () => {
  const { scanId } = await rig.ingest({ image: await phantomPng(31, { width: 320, height: 240 }) });
  const [image] = await rig.db.sql<{ bucket: string; object_key: string }[]>`
    SELECT a.bucket, a.object_key FROM scans s JOIN assets a ON a.id = s.image_asset_id WHERE s.id = ${scanId}`;
  await rig.s3.client.send(new DeleteObjectCommand({ Bucket: image!.bucket, Key: image!.object_key }));

  const worker = rig.spawnWorker({
    CTI_WORKER_ID: 'w-retries',
    CTI_GRADING_MAX_ATTEMPTS: '3',
    CTI_GRADING_RETRY_BASE_MS: '200',
    CTI_GRADING_RETRY_CAP_MS: '400',
    CTI_WORKER_POLL_MS: '100',
  });
  await rig.waitForStatus(scanId, 'error', 60_000);

  const [job] = await rig.db.sql`
    SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
  assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 3, 'image_missing']);
  assert.match(job!.last_error, /does not exist \(attempt 3 of 3\)/);
  assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 0);
  const events = await rig.db.sql`
    SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'grading_failed'`;
  assert.equal(events.length, 1, 'one grading_failed event, not one per attempt');
  assert.equal(events[0]!.meta.reason, 'image_missing');
  const told = await rig.db.sql<{ user_id: string }[]>`
    SELECT user_id FROM notifications WHERE type = 'grading_failed' AND payload->>'scan_id' = ${scanId}`;
  assert.deepEqual(told.map((n) => n.user_id).sort(), [rig.users.admin, rig.users.technician].sort());

  const metrics = await (await fetch(`http://127.0.0.1:${await worker.port()}/metrics`)).text();
  assert.match(metrics, /cti_grading_jobs_total\{outcome="retried"\} 2\b/);
  assert.match(metrics, /cti_grading_jobs_total\{outcome="failed"\} 1\b/);
  assert.match(metrics, /cti_grading_failures_total\{code="image_missing"\} 3\b/);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});

test('a job whose lease runs out on its last attempt fails for good: lease_expired, scan error, staff told', async () => {
  const { scanId } = await rig.ingest({ image: await phantomPng(32, { width: 320, height: 240 }) });
  // As a worker killed (-9, OOM) on the job's last allowed attempt leaves it: running, lease run out.
  await rig.db.sql`
    UPDATE grading_jobs SET status = 'running', attempts = 2, max_attempts = 2, locked_by = 'w-dead',
      locked_at = now() - interval '2 minutes', lease_expires_at = now() - interval '1 minute'
    WHERE scan_id = ${scanId}`;
  const worker = rig.spawnWorker({ CTI_WORKER_ID: 'w-reaper', CTI_WORKER_POLL_MS: '100' });
  await rig.waitForStatus(scanId, 'error', 60_000);
  const [job] = await rig.db.sql`
    SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
  assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 2, 'lease_expired']);
  assert.match(job!.last_error, /stopped renewing its lease 2 times.*w-dead/);
  assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 0);
  const [event] = await rig.db.sql`
    SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'grading_failed'`;
  assert.equal(event!.meta.reason, 'lease_expired');
  const told = await rig.db.sql<{ user_id: string }[]>`
    SELECT user_id FROM notifications WHERE type = 'grading_failed' AND payload->>'scan_id' = ${scanId}`;
  assert.deepEqual(told.map((n) => n.user_id).sort(), [rig.users.admin, rig.users.technician].sort());
  const metrics = await (await fetch(`http://127.0.0.1:${await worker.port()}/metrics`)).text();
  assert.match(metrics, /cti_grading_lease_expiries_total 1\b/);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});

test('an outage that never ends for one job (NoSuchBucket) is retried only within CTI_GRADING_OUTAGE_ALLOWANCE_S, then fails for good; other scans are graded meanwhile', async () => {
  const ghost = 'cti-ghost-bucket';
  const { scanId } = await rig.ingest({ image: await phantomPng(33, { width: 320, height: 240 }) });
  const { scanId: fine } = await rig.ingest({ image: await phantomPng(34, { width: 320, height: 240 }) });
  // The scan's image in an accepted bucket the store does not have (deleted, or a typo in a migration).
  await rig.db.sql`
    UPDATE assets SET bucket = ${ghost} WHERE id = (SELECT image_asset_id FROM scans WHERE id = ${scanId})`;
  const worker = rig.spawnWorker({
    CTI_WORKER_ID: 'w-allowance',
    CTI_S3_BUCKETS: `${rig.s3.bucket},${ghost}`,
    CTI_GRADING_OUTAGE_ALLOWANCE_S: '3',
    CTI_WORKER_POLL_MS: '100',
  });
  await rig.waitForStatus(fine, 'graded', 60_000);
  // Before the fix the job was requeued with its attempt refunded for ever: the scan never left `ingested`.
  await rig.waitForStatus(scanId, 'error', 60_000);

  const [job] = await rig.db.sql`
    SELECT status, attempts, last_error_code, last_error,
           extract(epoch FROM finished_at - outage_since)::float8 AS outage_s
    FROM grading_jobs WHERE scan_id = ${scanId}`;
  assert.deepEqual([job!.status, job!.last_error_code], ['failed', 's3_unavailable']);
  assert.equal(job!.attempts, 1, 'the outage retries before it were not counted');
  assert.match(job!.last_error, /NoSuchBucket|specified bucket does not exist/);
  assert.match(job!.last_error, /longer than CTI_GRADING_OUTAGE_ALLOWANCE_S \(3 s\)/);
  assert.ok(job!.outage_s >= 3, `failed ${job!.outage_s} s after its first outage failure, not before 3 s`);
  assert.equal((await rig.db.sql`SELECT 1 FROM grading_results WHERE scan_id = ${scanId}`).length, 0);
  const events = await rig.db.sql`
    SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'grading_failed'`;
  assert.equal(events.length, 1);
  assert.equal(events[0]!.meta.reason, 's3_unavailable');
  const told = await rig.db.sql<{ user_id: string }[]>`
    SELECT user_id FROM notifications WHERE type = 'grading_failed' AND payload->>'scan_id' = ${scanId}`;
  assert.deepEqual(told.map((n) => n.user_id).sort(), [rig.users.admin, rig.users.technician].sort());

  const metrics = await (await fetch(`http://127.0.0.1:${await worker.port()}/metrics`)).text();
  assert.match(metrics, /cti_grading_jobs_total\{outcome="failed"\} 1\b/);
  assert.match(metrics, /cti_grading_infrastructure_errors_total\{code="s3_unavailable"\} ([2-9]|\d\d)/);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});

test('the model refusing its input fails the job at once as model_refused, with the reason, never retried as internal_error', async () => {
  const { scanId } = await rig.ingest({ image: await phantomPng(35, { width: 320, height: 240 }) });
  // The models' own input check (ImageInputError) refusing what the worker's checks let through — a
  // model with a stricter input contract than the worker's. The grader is the one thing stood in for:
  // the database, the store and the worker are real.
  let calls = 0;
  const grader = {
    modelName: 'ribeye-seg',
    modelVersion: '0.0.0-refusing',
    viewModel: 'ribeye-view@0.0.0',
    inferenceSha256: '0'.repeat(64),
    async grade(): Promise<never> {
      calls++;
      throw new ImageInputError('gray image is 320×240: under the 384 px this model reads');
    },
    async close() {},
  };
  const metrics = createWorkerMetrics({ defaults: false });
  const worker = createGradingWorker({
    sql: rig.db.sql,
    s3: rig.s3.client,
    grader,
    config: {
      workerId: 'w-refusal',
      concurrency: 1,
      leaseSeconds: 10,
      maxAttempts: 5,
      retryBaseMs: 50,
      retryCapMs: 100,
      pollMs: 100,
      listenWatchdogMs: 30_000,
      jobTimeoutSeconds: 30,
      outageAllowanceSeconds: 3600,
      s3Buckets: [rig.s3.bucket],
    },
    log: createLogger({ name: 'test-worker', level: 'silent' }),
    metrics,
  });
  await worker.start();
  try {
    await rig.waitForStatus(scanId, 'error', 30_000);
  } finally {
    await worker.stop({ graceMs: 5000 });
  }
  const [job] = await rig.db.sql`
    SELECT status, attempts, last_error_code, last_error FROM grading_jobs WHERE scan_id = ${scanId}`;
  assert.deepEqual([job!.status, job!.attempts, job!.last_error_code], ['failed', 1, 'model_refused']);
  assert.equal(calls, 1, 'graded once: a refusal is not retried');
  assert.match(
    job!.last_error,
    /^the model refused s3:\/\/\S+\/image\.png: gray image is 320×240: under the 384 px this model reads$/,
  );
  const [event] = await rig.db.sql`
    SELECT meta FROM scan_events WHERE scan_id = ${scanId} AND event = 'grading_failed'`;
  assert.equal(event!.meta.reason, 'model_refused');
  const told = await rig.db.sql<{ user_id: string }[]>`
    SELECT user_id FROM notifications WHERE type = 'grading_failed' AND payload->>'scan_id' = ${scanId}`;
  assert.deepEqual(told.map((n) => n.user_id).sort(), [rig.users.admin, rig.users.technician].sort());
  assert.match(await metrics.registry.metrics(), /cti_grading_failures_total\{code="model_refused"\} 1\b/);
});
