import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import postgres from 'postgres';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook } from '../test-helpers.ts';

// Migration 0002 is the schema the next issues build on: the grading queue as the worker uses it
// (with the grading worker migration's lease column, which a running job must have),
// the user ↔ farm link for farmer RBAC, and grading result ↔ asset links for overlays.

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ max: 4 });
});
after(() => db.drop());

const CLAIM = (sql: postgres.Sql | postgres.TransactionSql, worker: string) => sql`
  UPDATE grading_jobs SET status = 'running', attempts = attempts + 1, locked_by = ${worker}, locked_at = now(),
    lease_expires_at = now() + interval '60 seconds', updated_at = now()
  WHERE id = (SELECT id FROM grading_jobs WHERE status = 'queued' AND run_after <= now()
              ORDER BY run_after, id FOR UPDATE SKIP LOCKED LIMIT 1)
  RETURNING id, scan_id`;

describe('grading_jobs', () => {
  test('ingest enqueues one job per new scan; two workers claiming with SKIP LOCKED never get the same job', async () => {
    for (let i = 0; i < 40; i++)
      await ingestCapture(db.sql, planIngest(distinctWebhook(i)), { requestId: `r${i}` });
    const a = postgres(db.url, { max: 2, onnotice: () => {} });
    const b = postgres(db.url, { max: 2, onnotice: () => {} });
    try {
      const claimAll = async (sql: postgres.Sql, worker: string) => {
        const claimed: string[] = [];
        for (;;) {
          const [job] = await CLAIM(sql, worker);
          if (!job) return claimed;
          claimed.push(job.id);
        }
      };
      const [fromA, fromB] = await Promise.all([claimAll(a, 'worker-a'), claimAll(b, 'worker-b')]);
      assert.equal(fromA.length + fromB.length, 40);
      assert.equal(new Set([...fromA, ...fromB]).size, 40, 'no job claimed twice');
    } finally {
      await a.end();
      await b.end();
    }
    const [row] =
      await db.sql`SELECT count(*)::int AS n FROM grading_jobs WHERE status = 'running' AND attempts = 1`;
    assert.equal(row?.n, 40);
  });

  test('a job row locked by one worker is skipped by another', async () => {
    await db.sql`UPDATE grading_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL`;
    await db.sql.begin(async (tx) => {
      const [first] = await CLAIM(tx, 'holder');
      const [second] = await CLAIM(db.sql, 'other');
      assert.ok(first && second);
      assert.notEqual(first.id, second.id);
    });
  });

  test('constraints: one waiting or running job per scan (grading worker migration), known statuses, running jobs name their worker', async () => {
    const [job] = await db.sql`SELECT scan_id FROM grading_jobs LIMIT 1`;
    await assert.rejects(db.sql`INSERT INTO grading_jobs (scan_id) VALUES (${job!.scan_id})`, {
      code: '23505',
    });
    await assert.rejects(db.sql`UPDATE grading_jobs SET status = 'paused'`, { code: '23514' });
    await assert.rejects(db.sql`UPDATE grading_jobs SET status = 'running', locked_by = NULL`, {
      code: '23514',
    });
  });
});

describe('user_farms and grading_result_assets', () => {
  test('farmers are linked to farms; a link is unique', async () => {
    const [user] = await db.sql`INSERT INTO users (email) VALUES ('farmer@example.com') RETURNING id`;
    const [farm] = await db.sql`INSERT INTO farms (name) VALUES ('North') RETURNING id`;
    await db.sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${user!.id}, ${farm!.id}, 'farmer')`;
    await assert.rejects(
      db.sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${user!.id}, ${farm!.id}, 'farmer')`,
      { code: '23505' },
    );
    await assert.rejects(
      db.sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${user!.id}, '00000000-0000-4000-8000-000000000009', 'farmer')`,
      { code: '23503' },
    );
  });

  test('an overlay asset links to exactly one grading result, with a role', async () => {
    const { scanId } = await ingestCapture(db.sql, planIngest(exampleWebhookBody()), { requestId: 'g' });
    const [result] = await db.sql`
      INSERT INTO grading_results (scan_id, model_name, model_version) VALUES (${scanId}, 'ribeye-unetpp', '1.2.0') RETURNING id`;
    const [overlay] = await db.sql`
      INSERT INTO assets (bucket, object_key, sha256, mime_type)
      VALUES ('cti-dev-406214277746', 'processed/cap_1757423584/overlay.png', ${'b'.repeat(64)}, 'image/png') RETURNING id`;
    await db.sql`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${result!.id}, ${overlay!.id}, 'overlay')`;
    const [second] = await db.sql`
      INSERT INTO grading_results (scan_id, model_name, model_version) VALUES (${scanId}, 'ribeye-unetpp', '1.3.0') RETURNING id`;
    await assert.rejects(
      db.sql`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${second!.id}, ${overlay!.id}, 'overlay')`,
      { code: '23505' },
    );
    await assert.rejects(
      db.sql`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${second!.id}, ${overlay!.id}, 'Not A Role')`,
      { code: '23514' },
    );
  });
});
