import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook } from '../test-helpers.ts';

// scripts/lib/demo-check-scans.sh, the demo's verdict once every scan is graded or in error: run as the
// demo runs it, against the real migrations. A scan in `error` must fail the demo, naming the capture
// and the reason and message of its grading_failed event (demo.sh used to count it as finished, exit 0).

const SCRIPT = fileURLToPath(new URL('../../../../scripts/lib/demo-check-scans.sh', import.meta.url));
let db: TestDatabase;
const scans: { scanId: string; captureId: string }[] = [];
before(async () => {
  db = await createTestDatabase({ max: 2 });
  for (let i = 0; i < 3; i++) {
    const body = distinctWebhook(i);
    const { scanId } = await ingestCapture(db.sql, planIngest(body), { requestId: `r${i}` });
    scans.push({ scanId, captureId: body.meta_json.capture_id });
  }
  await db.sql`UPDATE scans SET status = 'graded'`;
});
after(() => db.drop());

const check = () =>
  spawnSync('bash', [SCRIPT, db.url], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });

test('every scan graded: silent, exit 0', () => {
  const run = check();
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout + run.stderr, '');
});

test('scans in error: exit 1, each named with the reason and message of its latest grading_failed event', async () => {
  const [tampered, lost] = [scans[0]!, scans[2]!];
  await db.sql`UPDATE scans SET status = 'error' WHERE id IN ${db.sql([tampered.scanId, lost.scanId])}`;
  await db.sql`
    INSERT INTO scan_events (scan_id, event, meta) VALUES
      (${tampered.scanId}, 'grading_failed', ${db.sql.json({ reason: 'image_missing', message: 'an older attempt' })}),
      (${tampered.scanId}, 'grading_failed', ${db.sql.json({ reason: 'sha256_mismatch', message: 'image bytes hash 3f2a… but assets.sha256 says 9c1b…' })})`;
  const run = check();
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /demo\.sh: FAILED — 2 scan\(s\) ended in error instead of graded:/);
  assert.match(
    run.stderr,
    new RegExp(
      `  ${tampered.captureId} \\| sha256_mismatch \\| image bytes hash 3f2a… but assets\\.sha256 says 9c1b…\n`,
    ),
  );
  assert.doesNotMatch(run.stderr, /an older attempt/);
  assert.match(
    run.stderr,
    new RegExp(`  ${lost.captureId} \\| no grading_failed event \\| see \\.cti/demo/logs/worker\\.log\n`),
  );
  assert.doesNotMatch(run.stderr, new RegExp(scans[1]!.captureId), 'a graded scan is not listed');
});
