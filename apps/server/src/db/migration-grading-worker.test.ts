import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { GRADING_JOBS_CHANNEL } from '../grading/grading-channel.ts';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook } from '../test-helpers.ts';

// The grading worker's migration (0009_grading_worker.sql): regrades, one result per job, leases, device calibrations; and
// ingest waking the workers in its own transaction.

let db: TestDatabase;
let scanId: string;
let deviceId: string;
before(async () => {
  db = await createTestDatabase({ max: 4 });
  ({ scanId } = await ingestCapture(db.sql, planIngest(distinctWebhook(1)), { requestId: 'r1' }));
  const [scan] = await db.sql<{ device_id: string }[]>`SELECT device_id FROM scans WHERE id = ${scanId}`;
  deviceId = scan!.device_id;
});
after(() => db.drop());

describe('grading_jobs with the grading worker migration', () => {
  test('a scan may have many jobs over time but only one queued or running', async () => {
    await assert.rejects(db.sql`INSERT INTO grading_jobs (scan_id, reason) VALUES (${scanId}, 'regrade')`, {
      code: '23505',
    });
    await db.sql`UPDATE grading_jobs SET status = 'done' WHERE scan_id = ${scanId}`;
    await db.sql`INSERT INTO grading_jobs (scan_id, reason, model_version) VALUES (${scanId}, 'regrade', '2.3.0')`;
    await db.sql`UPDATE grading_jobs SET status = 'failed' WHERE scan_id = ${scanId} AND reason = 'regrade'`;
    await db.sql`INSERT INTO grading_jobs (scan_id, reason) VALUES (${scanId}, 'regrade')`;
    const [n] = await db.sql`SELECT count(*)::int AS n FROM grading_jobs WHERE scan_id = ${scanId}`;
    assert.equal(n!.n, 3);
  });

  test('a running job holds a lease; reasons are ingest or regrade', async () => {
    await assert.rejects(
      db.sql`UPDATE grading_jobs SET status = 'running', locked_by = 'w', locked_at = now() WHERE scan_id = ${scanId} AND status = 'queued'`,
      { code: '23514' },
    );
    await assert.rejects(db.sql`UPDATE grading_jobs SET reason = 'whim' WHERE scan_id = ${scanId}`, {
      code: '23514',
    });
  });

  test('one result per job, enforced by the database; results without a job (manual) are unrestricted', async () => {
    const [job] = await db.sql`SELECT id FROM grading_jobs WHERE scan_id = ${scanId} AND status = 'done'`;
    const insert = (jobId: string | null) =>
      db.sql`INSERT INTO grading_results (scan_id, model_name, model_version, grading_job_id, grade)
             VALUES (${scanId}, 'ribeye-seg', '2.3.0', ${jobId}, 'A')`;
    await insert(job!.id);
    await assert.rejects(insert(job!.id), { code: '23505' });
    await insert(null);
    await insert(null);
  });

  test('device calibrations: a positive spacing up to 5 mm/px, an image size given whole or not at all', async () => {
    await db.sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm, image_width, image_height) VALUES (${deviceId}, 0.29586, 940, 720)`;
    await db.sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm) VALUES (${deviceId}, NULL)`;
    for (const [mm, w, h] of [
      [0, null, null],
      [6, null, null],
      [0.3, 940, null],
      [0.3, 0, 720],
    ] as const) {
      await assert.rejects(
        db.sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm, image_width, image_height) VALUES (${deviceId}, ${mm}, ${w}, ${h})`,
        { code: '23514' },
      );
    }
  });
});

describe('ingest wakes the grading workers', () => {
  test('a new capture notifies on the jobs channel when it commits; a replay does not', async () => {
    const received: string[] = [];
    const listener = await db.sql.listen(GRADING_JOBS_CHANNEL, (payload) => received.push(payload));
    try {
      await ingestCapture(db.sql, planIngest(distinctWebhook(2)), { requestId: 'r2' });
      await waitFor(() => received.length === 1, { what: 'a notification for the new capture' });
      await ingestCapture(db.sql, planIngest(distinctWebhook(2)), { requestId: 'r2-replay' });
      await ingestCapture(db.sql, planIngest(distinctWebhook(3)), { requestId: 'r3' });
      // Notifications arrive in commit order: had the replay notified, there would be 3 by now.
      await waitFor(() => received.length >= 2, { what: 'a notification for the third capture' });
      assert.equal(received.length, 2);
    } finally {
      await listener.unlisten();
    }
  });
});
