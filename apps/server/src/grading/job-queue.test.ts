import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook } from '../test-helpers.ts';
import { createJobQueue } from './job-queue.ts';
import { enqueueRegrades } from './regrade.ts';

// The claim order on the real queue (migration 0019): a capture ingested after a bulk regrade was
// queued is graded first; regrades follow, oldest first. And the claim reads its index in order.

let db: TestDatabase;
const scans: string[] = [];
before(async () => {
  db = await createTestDatabase({ max: 3 });
  for (let i = 0; i < 4; i++) {
    const body = distinctWebhook(i, { devices: 2 });
    scans.push((await ingestCapture(db.sql, planIngest(body), { requestId: `r${i}` })).scanId);
  }
});
after(() => db.drop());

const queue = (workerId: string) =>
  createJobQueue({ sql: db.sql, workerId, leaseSeconds: 30, maxAttempts: 5, modelVersion: '3.0.0' });

describe('grading queue: captures before regrades', () => {
  test('a capture ingested after a regrade of every scan is claimed first; the regrades then in order', async () => {
    const sql = db.sql;
    await sql`UPDATE grading_jobs SET status = 'done', finished_at = now()`;
    // A bulk regrade: three scans, queued a minute apart, all due long before the new capture.
    const regraded = scans.slice(0, 3);
    for (const [i, scanId] of regraded.entries()) {
      assert.equal((await enqueueRegrades(sql, { selection: { scanId }, modelVersion: null })).enqueued, 1);
      await sql`UPDATE grading_jobs SET run_after = now() - ${`${10 - i} minutes`}::interval,
                  created_at = now() - ${`${10 - i} minutes`}::interval
                WHERE scan_id = ${scanId} AND status = 'queued'`;
    }
    const fresh = (
      await ingestCapture(sql, planIngest(distinctWebhook(40, { devices: 2 })), { requestId: 'n' })
    ).scanId;
    const stats = await queue('w-stats').stats();
    assert.deepEqual([stats.waiting.ingest.queued, stats.waiting.regrade.queued, stats.running], [1, 3, 0]);
    assert.ok(stats.waiting.regrade.oldestQueuedSeconds >= 590, 'the oldest regrade waits ~10 min');
    assert.ok(stats.waiting.ingest.oldestQueuedSeconds < 60, 'the capture has just arrived');

    const worker = queue('w-1');
    const order: string[] = [];
    for (let job = await worker.claim(); job; job = await worker.claim()) {
      order.push(job.scanId);
      assert.equal(job.reason, order.length === 1 ? 'ingest' : 'regrade');
    }
    assert.deepEqual(order, [fresh, ...regraded]);
  });

  test('the claim walks idx_grading_jobs_claim_ingest_first in its order: no sort of the queue', async () => {
    const plan = await db.sql.begin(async (tx) => {
      // Planner costs aside (a test queue is tiny), can the index give this order at all? A sort would
      // still be planned if it could not.
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe(`
        EXPLAIN SELECT id FROM grading_jobs
        WHERE status = 'queued' AND run_after <= now() AND (model_version IS NULL OR model_version = '3.0.0')
        ORDER BY (reason <> 'ingest'), run_after, id
        FOR UPDATE SKIP LOCKED LIMIT 1`);
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(text, /idx_grading_jobs_claim_ingest_first/, text);
    assert.doesNotMatch(text, /Sort/, text);
  });
});
