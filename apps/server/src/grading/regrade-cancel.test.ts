import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { DEFAULT_MODELS_DIR, readModelCard } from '@cti/models';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook, SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { createJobQueue } from './job-queue.ts';

// `cti-server regrade` pinned to a model version no worker runs: the command warns, the pinned jobs
// hold their scans' one active job slot (later regrades skip them), and `regrade --cancel` frees them
// without touching a job a worker holds, an ingest job, the scans or their results.

let db: TestDatabase;
let loaded: string;
const scans: string[] = [];
before(async () => {
  db = await createTestDatabase({ max: 3 });
  loaded = (await readModelCard(join(DEFAULT_MODELS_DIR, 'ribeye-seg.card.json'))).version;
  // 4 graded scans on 2 devices (dev-0000: 0, 2; dev-0001: 1, 3), each with a result of the installed model.
  for (let i = 0; i < 4; i++) {
    const { scanId } = await ingestCapture(db.sql, planIngest(distinctWebhook(i, { devices: 2 })), {
      requestId: `r${i}`,
    });
    scans.push(scanId);
    await db.sql`
      INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence, grade)
      VALUES (${scanId}, 'ribeye-seg', ${loaded}, ${'d'.repeat(64)}, 0.9, 'A')`;
  }
  await db.sql`UPDATE grading_jobs SET status = 'done', finished_at = now()`;
  await db.sql`UPDATE scans SET status = 'graded'`;
});
after(() => db.drop());

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(
    process.execPath,
    [...SOURCE_NODE_ARGS, new URL('../main.ts', import.meta.url).pathname, 'regrade', ...args],
    { env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, ...env }, encoding: 'utf8' },
  );

/** Everything a cancel must leave alone on the scans: status, latest result, events. */
const scanState = () =>
  db.sql`
    SELECT s.id, s.status,
      (SELECT g.id FROM grading_results g WHERE g.scan_id = s.id ORDER BY g.created_at DESC, g.id DESC LIMIT 1) AS latest,
      (SELECT count(*)::int FROM scan_events e WHERE e.scan_id = s.id) AS events
    FROM scans s ORDER BY s.id`;

describe('regrade pinned to a model version no worker runs', () => {
  test('warned at enqueue; it blocks later regrades; --cancel frees the scans and leaves held jobs, ingest jobs, scans and results alone', async () => {
    const pinned = cli(['--all', '--model-version', '9.9.9']);
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.match(pinned.stdout, /queued 4 regrade job\(s\) \(model version 9\.9\.9 only\)/);
    assert.match(
      pinned.stderr,
      /warning: no worker has graded with model version 9\.9\.9 in the last 24 h \(its last result: never; the newest result of any worker: ribeye-seg@/,
    );
    assert.match(
      pinned.stderr,
      new RegExp(
        `model version 9\\.9\\.9 is not the model this installation loads \\(ribeye-seg@${loaded.replace(/\./g, '\\.')}, the bundled models\\)`,
      ),
    );
    assert.match(
      pinned.stderr,
      /Cancel them with: cti-server regrade --cancel --all --model-version 9\.9\.9/,
    );

    // The installed model's workers leave the jobs alone, and the jobs block every later regrade.
    const worker = (modelVersion: string, workerId: string) =>
      createJobQueue({ sql: db.sql, workerId, leaseSeconds: 60, maxAttempts: 5, modelVersion });
    assert.equal(await worker(loaded, 'w-installed').claim(), null);
    const blocked = cli(['--all']);
    assert.equal(blocked.status, 0, blocked.stderr);
    assert.match(
      blocked.stdout,
      /queued 0 regrade job\(s\) for 4 matching scan\(s\); 4 already had a job waiting/,
    );

    // One pinned job held by a worker that does run 9.9.9; a new scan waits for its ingest job.
    const held = await worker('9.9.9', 'w-999').claim();
    assert.ok(held);
    const fresh = await ingestCapture(db.sql, planIngest(distinctWebhook(4, { devices: 2 })), {
      requestId: 'r4',
    });
    const stateBefore = await scanState();

    const dry = cli(['--cancel', '--all', '--model-version', '9.9.9', '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /would cancel 3 waiting regrade job\(s\) pinned to model version 9\.9\.9; 1 held/,
    );
    const [stillQueued] = await db.sql`SELECT count(*)::int AS n FROM grading_jobs WHERE status = 'queued'`;
    assert.equal(stillQueued!.n, 4, 'a dry run changes nothing (3 pinned + the ingest job)');

    const cancel = cli(['--cancel', '--all', '--model-version', '9.9.9']);
    assert.equal(cancel.status, 0, cancel.stderr);
    assert.equal(cancel.stderr, '');
    assert.match(
      cancel.stdout,
      /^cancelled 3 waiting regrade job\(s\) pinned to model version 9\.9\.9; 1 held by a worker left alone; scans and results unchanged\n/,
    );
    const jobs = await db.sql<
      {
        id: string;
        scan_id: string;
        reason: string;
        status: string;
        code: string | null;
        finished: boolean;
      }[]
    >`
      SELECT id, scan_id, reason, status, last_error_code AS code, finished_at IS NOT NULL AS finished
      FROM grading_jobs WHERE status <> 'done' ORDER BY id`;
    const cancelled = jobs.filter((j) => j.code === 'cancelled');
    assert.equal(cancelled.length, 3);
    for (const j of cancelled) {
      assert.deepEqual([j.reason, j.status, j.finished], ['regrade', 'failed', true]);
      assert.match(
        cancel.stdout,
        new RegExp(`  job ${j.id}: scan ${j.scan_id}, model version 9\\.9\\.9, queued `),
      );
    }
    assert.deepEqual(
      JSON.parse(cancel.stdout.trim().split('\n').at(-1)!).job_ids,
      cancelled.map((j) => j.id),
    );
    assert.deepEqual(
      jobs.filter((j) => j.code !== 'cancelled').map((j) => [j.scan_id, j.reason, j.status]),
      [
        [held.scanId, 'regrade', 'running'],
        [fresh.scanId, 'ingest', 'queued'],
      ],
      'the held job and the ingest job are untouched',
    );
    assert.deepEqual(await scanState(), stateBefore, 'scans: status, latest result and events unchanged');

    // The freed scans take a regrade again; the held one and the new one still have theirs.
    const again = cli(['--all']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(
      again.stdout,
      /queued 3 regrade job\(s\) for 5 matching scan\(s\); 2 already had a job waiting/,
    );
    assert.equal(
      cli(['--cancel', '--all', '--model-version', '9.9.9']).stdout.split('\n')[0],
      'cancelled 0 waiting regrade job(s) pinned to model version 9.9.9; 1 held by a worker left alone; scans and results unchanged',
      'with a version, only jobs pinned to it',
    );
    assert.ok(await worker('9.9.9', 'w-999').release(held));
  });

  test('--cancel by device without a version: every waiting regrade job of the device, not another device’s', async () => {
    const out = cli(['--cancel', '--device', 'dev-0001']);
    assert.equal(out.status, 0, out.stderr);
    const byDevice = await db.sql<{ device_code: string; status: string; reason: string; n: number }[]>`
      SELECT d.device_code, j.status, j.reason, count(*)::int AS n FROM grading_jobs j
      JOIN scans s ON s.id = j.scan_id JOIN devices d ON d.id = s.device_id
      WHERE j.status IN ('queued', 'running') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
    // dev-0000: scans 0, 2 and the new scan 4 (its ingest job); dev-0001: scans 1, 3 now have none.
    assert.deepEqual(
      byDevice.map((r) => [r.device_code, r.status, r.reason, r.n]),
      [
        ['dev-0000', 'queued', 'ingest', 1],
        ['dev-0000', 'queued', 'regrade', 2],
      ],
      out.stdout,
    );
    assert.match(out.stdout, /^cancelled 2 waiting regrade job\(s\); 0 held/);
  });

  test('no warning for the installed version a worker graded with today; an unreadable model card is named', () => {
    const installed = cli(['--scan', scans[0]!, '--model-version', loaded, '--dry-run']);
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal(installed.stderr, '');
    const elsewhere = cli(['--scan', scans[0]!, '--model-version', loaded, '--dry-run'], {
      CTI_MODELS_DIR: '/nonexistent-models',
    });
    assert.equal(elsewhere.status, 0, elsewhere.stderr);
    assert.match(
      elsewhere.stderr,
      /cannot read this installation's model card: .*\/nonexistent-models\/ribeye-seg\.card\.json/,
    );
    assert.doesNotMatch(elsewhere.stderr, /no worker has graded/);
  });

  test('usage: --cancel needs a selection; an unknown device exits 1', () => {
    const none = cli(['--cancel']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /say which scans/);
    assert.match(none.stderr, /--cancel/, 'the usage names --cancel');
    const unknown = cli(['--cancel', '--device', 'dev-9999']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no device with code "dev-9999"/);
  });
});
