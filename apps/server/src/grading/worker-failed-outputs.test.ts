import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { waitFor } from '@cti/testkit';
import { createGradingRig, type GradingRig, phantomPng } from './test-grading-rig.ts';

// A job that fails for good after its overlay and mask were written (review r2 U1): nothing will ever
// overwrite or link processed/{capture}/job-{id}-*.png (no next attempt), so the failure deletes them.
// Spawned workers, s3rver and the real database; the result transaction is made to fail by a trigger
// the test installs, as a bug or a database past CTI_GRADING_OUTAGE_ALLOWANCE_S would make it fail.

let rig: GradingRig;
before(async () => {
  rig = await createGradingRig();
});
after(() => rig.close());

/** The keys under processed/{capture}/ in the store. */
async function processedKeys(captureId: string): Promise<string[]> {
  const out = await rig.s3.client.send(
    new ListObjectsV2Command({ Bucket: rig.s3.bucket, Prefix: `processed/${captureId}/` }),
  );
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** The result insert of this scan's job fails with this SQLSTATE (other scans are graded). */
async function failResultOf(scanId: string, sqlstate: string): Promise<void> {
  await rig.db.sql.unsafe(`
    CREATE OR REPLACE FUNCTION test_fail_result() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.scan_id = TG_ARGV[0]::uuid THEN
        RAISE EXCEPTION 'result refused by the test' USING ERRCODE = TG_ARGV[1];
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER "test_fail_${scanId}" BEFORE INSERT ON grading_results
      FOR EACH ROW EXECUTE FUNCTION test_fail_result('${scanId}', '${sqlstate}');`);
}

test('a job failing for good after its PUTs (an error in the result transaction, the outage allowance passed) leaves no processed objects', async () => {
  const bug = await rig.ingest({ image: await phantomPng(51, { width: 320, height: 240 }) });
  const outage = await rig.ingest({ image: await phantomPng(52, { width: 320, height: 240 }) });
  const fine = await rig.ingest({ image: await phantomPng(53, { width: 320, height: 240 }) });
  await failResultOf(bug.scanId, 'P0001'); // internal_error: counted, failed at max attempts (1)
  // 57014 (statement_timeout) is database_unavailable: requeued until the allowance (1 s) has passed.
  await failResultOf(outage.scanId, '57014');

  const worker = rig.spawnWorker({
    CTI_WORKER_ID: 'w-orphans',
    CTI_GRADING_MAX_ATTEMPTS: '1',
    CTI_GRADING_OUTAGE_ALLOWANCE_S: '1',
    CTI_WORKER_POLL_MS: '100',
  });
  await rig.waitForStatus(fine.scanId, 'graded', 60_000);
  await rig.waitForStatus(bug.scanId, 'error', 60_000);
  await rig.waitForStatus(outage.scanId, 'error', 60_000);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);

  const jobs = await rig.db.sql`
    SELECT scan_id, status, last_error_code FROM grading_jobs
    WHERE scan_id IN ${rig.db.sql([bug.scanId, outage.scanId])} ORDER BY scan_id = ${bug.scanId} DESC`;
  assert.deepEqual(
    jobs.map((j) => [j.status, j.last_error_code]),
    [
      ['failed', 'internal_error'],
      ['failed', 'database_unavailable'],
    ],
  );
  // The failed attempts did write them (the worker's log says so: the result phase was reached) …
  assert.ok(
    worker.lines.some((l) => l.includes('result refused by the test')),
    'the internal error came from the result transaction',
  );
  // … and nothing of theirs is left: no asset row links such a key, and nothing would overwrite it.
  assert.deepEqual(await processedKeys(bug.captureId), []);
  assert.deepEqual(await processedKeys(outage.captureId), []);
  // A graded scan keeps its outputs.
  assert.equal((await processedKeys(fine.captureId)).length, 2);
  const removed = worker.lines.filter((l) => l.includes('"msg":"failed job\'s outputs deleted"'));
  assert.equal(removed.length, 2, worker.lines.join('\n'));
});

test('a job the reaper fails for good (its worker died after the PUTs, lease_expired) has its objects deleted', async () => {
  const { scanId, captureId } = await rig.ingest({
    image: await phantomPng(54, { width: 320, height: 240 }),
  });
  const [job] = await rig.db.sql<{ id: string }[]>`SELECT id FROM grading_jobs WHERE scan_id = ${scanId}`;
  // As a worker killed (-9, OOM) in the result phase of the job's last attempt leaves it: its overlay
  // and mask in the store, the job running with its lease run out.
  for (const file of ['overlay.png', 'mask.png'])
    await rig.s3.client.send(
      new PutObjectCommand({
        Bucket: rig.s3.bucket,
        Key: `processed/${captureId}/job-${job!.id}-${file}`,
        Body: await phantomPng(54, { width: 320, height: 240 }),
      }),
    );
  await rig.db.sql`
    UPDATE grading_jobs SET status = 'running', attempts = 2, max_attempts = 2, locked_by = 'w-dead',
      locked_at = now() - interval '2 minutes', lease_expires_at = now() - interval '1 minute'
    WHERE id = ${job!.id}`;
  const worker = rig.spawnWorker({ CTI_WORKER_ID: 'w-reaper', CTI_WORKER_POLL_MS: '100' });
  await rig.waitForStatus(scanId, 'error', 60_000);
  await waitFor(async () => (await processedKeys(captureId)).length === 0, {
    what: `processed/${captureId}/ emptied`,
    timeoutMs: 10_000,
  });
  const [failed] = await rig.db.sql`SELECT status, last_error_code FROM grading_jobs WHERE id = ${job!.id}`;
  assert.deepEqual([failed!.status, failed!.last_error_code], ['failed', 'lease_expired']);
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exit, 0);
});
