import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook, SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { parseSince } from './database-command.ts';
import { createJobQueue } from './job-queue.ts';
import { enqueueRegrades } from './regrade.ts';
import { parseRegradeArgs } from './regrade-command.ts';

let db: TestDatabase;
const scans: string[] = [];
before(async () => {
  db = await createTestDatabase({ max: 3 });
  // 6 captures on 2 devices (dev-0000: 0, 2, 4; dev-0001: 1, 3, 5), captured 2025-09-01..06.
  for (let i = 0; i < 6; i++) {
    const body = distinctWebhook(i, { devices: 2 });
    scans.push((await ingestCapture(db.sql, planIngest(body), { requestId: `r${i}` })).scanId);
  }
  await db.sql`UPDATE grading_jobs SET status = 'done'`;
});
after(() => db.drop());

const queued = async () =>
  (
    await db.sql<{ scan_id: string; model_version: string | null }[]>`
    SELECT scan_id, model_version FROM grading_jobs WHERE status = 'queued' AND reason = 'regrade' ORDER BY id`
  ).map((r) => ({ ...r }));

describe('regrade', () => {
  test('arguments: one selection, checked, with the problem named', () => {
    assert.deepEqual(parseRegradeArgs(['--all']), {
      selection: { all: true },
      modelVersion: null,
      dryRun: false,
      cancel: false,
      includeCorrected: false,
    });
    assert.deepEqual(
      parseRegradeArgs(['--device', 'dev-0001', '--since', '2025-09-03', '--model-version', '2.4.0']),
      {
        selection: { deviceCode: 'dev-0001', since: new Date('2025-09-03') },
        modelVersion: '2.4.0',
        dryRun: false,
        cancel: false,
        includeCorrected: false,
      },
    );
    assert.deepEqual(parseRegradeArgs(['--cancel', '--all', '--model-version', '9.9.9']), {
      selection: { all: true },
      modelVersion: '9.9.9',
      dryRun: false,
      cancel: true,
      includeCorrected: false,
    });
    for (const [args, problem] of [
      [[], /say which scans/],
      [['--scan', 'nope'], /not a scan uuid/],
      [['--scan', scans[0]!, '--all'], /cannot be combined/],
      [['--all', '--device', 'x'], /cannot be combined/],
      [['--since', 'yesterday'], /not a date/],
      [['--all', '--model-version', 'a b'], /not a version/],
      [['--everything'], /Unknown option/],
    ] as const) {
      assert.throws(() => parseRegradeArgs([...args]), problem);
    }
  });

  test('by device and date: new jobs for the matching scans only, pinned to a model version', async () => {
    const dry = await enqueueRegrades(db.sql, {
      selection: { deviceCode: 'dev-0001', since: new Date('2025-09-03') },
      modelVersion: '2.4.0',
      dryRun: true,
    });
    assert.deepEqual([dry.matched, dry.enqueued], [2, 0]);
    assert.deepEqual(await queued(), []);
    const s = await enqueueRegrades(db.sql, {
      selection: { deviceCode: 'dev-0001', since: new Date('2025-09-03') },
      modelVersion: '2.4.0',
    });
    assert.deepEqual([s.matched, s.enqueued, s.alreadyPending, s.unknownDevice], [2, 2, 0, false]);
    assert.deepEqual(
      (await queued()).map((q) => `${q.scan_id} ${q.model_version}`).sort(),
      [`${scans[3]} 2.4.0`, `${scans[5]} 2.4.0`].sort(),
    );
  });

  test('a worker running another model version leaves pinned jobs alone', async () => {
    const other = createJobQueue({
      sql: db.sql,
      workerId: 'w-old',
      leaseSeconds: 30,
      maxAttempts: 5,
      modelVersion: '2.3.0',
    });
    assert.equal(await other.claim(), null);
    const pinned = createJobQueue({
      sql: db.sql,
      workerId: 'w-new',
      leaseSeconds: 30,
      maxAttempts: 5,
      modelVersion: '2.4.0',
    });
    const job = await pinned.claim();
    assert.ok(job && [scans[3], scans[5]].includes(job.scanId));
    assert.ok(job && (await pinned.release(job)));
  });

  test('--all skips scans that already have a job waiting; an unknown device is reported', async () => {
    const s = await enqueueRegrades(db.sql, { selection: { all: true }, modelVersion: null });
    assert.deepEqual([s.matched, s.enqueued, s.alreadyPending], [6, 4, 2]);
    const unknown = await enqueueRegrades(db.sql, {
      selection: { deviceCode: 'dev-9999' },
      modelVersion: null,
    });
    assert.equal(unknown.unknownDevice, true);
  });

  test('a scan corrected by hand is left as it is unless --include-corrected (the model would replace the correction)', async () => {
    const sql = db.sql;
    const fresh: string[] = [];
    for (let i = 10; i < 13; i++) {
      const body = distinctWebhook(i, { devices: 1 });
      fresh.push((await ingestCapture(sql, planIngest(body), { requestId: `c${i}` })).scanId);
    }
    await sql`UPDATE grading_jobs SET status = 'done' WHERE scan_id IN ${sql(fresh)}`;
    const [user] = await sql<{ id: string }[]>`
      INSERT INTO users (email, password_hash, full_name) VALUES ('corrector@example.com', 'x', 'C') RETURNING id`;
    // fresh[0]: the model's result, then a person's correction (latest); fresh[1]: a correction, then the
    // model again (latest, so regraded); fresh[2]: the model's result only.
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version, created_at)
              VALUES (${fresh[0]!}, 'ribeye-seg', '3.0.0', now() - interval '2 hours')`;
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version, created_by, created_at)
              VALUES (${fresh[0]!}, 'manual', '1', ${user!.id}, now() - interval '1 hour')`;
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version, created_by, created_at)
              VALUES (${fresh[1]!}, 'manual', '1', ${user!.id}, now() - interval '2 hours')`;
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version, created_at)
              VALUES (${fresh[1]!}, 'ribeye-seg', '3.0.0', now() - interval '1 hour')`;
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version)
              VALUES (${fresh[2]!}, 'ribeye-seg', '3.0.0')`;
    const jobsFor = async () =>
      (
        await sql<{ scan_id: string }[]>`
        SELECT scan_id FROM grading_jobs WHERE status = 'queued' AND scan_id IN ${sql(fresh)} ORDER BY scan_id`
      ).map((r) => r.scan_id);
    const byDevice = {
      selection: { deviceCode: 'dev-0000', since: new Date('2020-01-01') },
      modelVersion: null,
    };
    const dry = await enqueueRegrades(sql, { ...byDevice, dryRun: true });
    assert.equal(dry.keptCorrected, 1);
    const s = await enqueueRegrades(sql, byDevice);
    assert.equal(s.keptCorrected, 1);
    assert.deepEqual(await jobsFor(), [fresh[1]!, fresh[2]!].sort(), 'the corrected scan got no job');
    await sql`UPDATE grading_jobs SET status = 'done' WHERE scan_id IN ${sql(fresh)}`;
    const all = await enqueueRegrades(sql, { ...byDevice, includeCorrected: true });
    assert.equal(all.keptCorrected, 0);
    assert.deepEqual(await jobsFor(), [...fresh].sort());
    await sql`UPDATE grading_jobs SET status = 'done' WHERE scan_id IN ${sql(fresh)}`;
    assert.deepEqual(parseRegradeArgs(['--all', '--include-corrected']).includeCorrected, true);
    assert.throws(
      () => parseRegradeArgs(['--all', '--cancel', '--include-corrected']),
      /--include-corrected/,
    );
  });

  test('cti-server regrade prints what it queued; usage errors exit 2', () => {
    const main = new URL('../main.ts', import.meta.url).pathname;
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [...SOURCE_NODE_ARGS, main, 'regrade', ...args], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, ...env },
        encoding: 'utf8',
      });
    const ok = run(['--scan', scans[0]!, '--dry-run']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /would queue 0 regrade job\(s\) for 1 matching scan\(s\); 1 already had a job waiting or running/,
    );
    const bad = run(['--since', 'soon']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--since "soon" is not a date/);
    const malformed = run(['--device', 'Pi 5', '--dry-run']); // not "no device with code": usage
    assert.equal(malformed.status, 2, malformed.stderr);
    assert.match(malformed.stderr, /--device "Pi 5" is not a device code/);
    const impossible = run(['--since', '2025-02-30', '--dry-run']); // not 2 March
    assert.equal(impossible.status, 2, impossible.stdout);
    assert.match(impossible.stderr, /--since "2025-02-30" is not a date/);
    const unknown = run(['--device', 'dev-9999']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no device with code "dev-9999"/);
    // A scan id of no scan (mistyped, another environment's) is not "nothing to do" either.
    const ghost = '00000000-0000-4000-8000-000000000000';
    for (const args of [
      ['--scan', ghost],
      ['--cancel', '--scan', ghost],
    ]) {
      const noScan = run(args);
      assert.equal(noScan.status, 1, `${args.join(' ')}: ${noScan.stdout}`);
      assert.match(noScan.stderr, new RegExp(`no scan with id ${ghost}`));
    }
  });

  test("--since without a zone is UTC whatever the host's TZ (captures at 10:00Z each day)", () => {
    const main = new URL('../main.ts', import.meta.url).pathname;
    const matched = (since: string, tz: string) => {
      const out = spawnSync(
        process.execPath,
        [...SOURCE_NODE_ARGS, main, 'regrade', '--since', since, '--dry-run'],
        {
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, TZ: tz },
          encoding: 'utf8',
        },
      );
      assert.equal(out.status, 0, out.stderr);
      return Number(/for (\d+) matching scan/.exec(out.stdout)![1]);
    };
    const utc = matched('2025-09-03T12:00:00Z', 'UTC');
    // Read in Tokyo time (UTC+9), 12:00 would be 03:00Z and take the 3 September capture in too.
    assert.notEqual(matched('2025-09-03T03:00:00Z', 'UTC'), utc);
    for (const tz of ['Asia/Tokyo', 'America/Los_Angeles']) {
      assert.equal(matched('2025-09-03T12:00', tz), utc, tz);
      assert.equal(matched('2025-09-03 12:00:00', tz), utc, tz);
    }
    assert.equal(parseSince('2025-09-03T12:00').toISOString(), '2025-09-03T12:00:00.000Z');
    assert.equal(parseSince('2025-09-03T12:00+09:00').toISOString(), '2025-09-03T03:00:00.000Z');
  });
});
