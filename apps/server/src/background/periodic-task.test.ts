import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { pino } from 'pino';
import postgres from 'postgres';
import { compactScanStatusCounts } from '../access/scan-counts-query.ts';
import { seedDevice, seedFarm, seedScan } from '../test-seed.ts';
import { startPeriodicTask } from './periodic-task.ts';

// serve's periodic tasks, with the scan counts' compaction (migration 0028) as the run, on real
// Postgres: a database that is down or refuses the statement gives a log line per run and the next run
// at its time (no rejection escapes, nothing stops); stop() waits for the run in progress, so serve
// closes its pool after it (SIGTERM: serve-command.ts).

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { lines, log };
}

describe('the scan counts compaction as a periodic task', () => {
  test('database down: a warning each run, runs go on, stop() ends them', async () => {
    // Nothing listens on port 1: each run fails to connect (ECONNREFUSED).
    const sql = postgres('postgres://cti:cti@127.0.0.1:1/none', { max: 1, connect_timeout: 5 });
    const { lines, log } = capture();
    let runs = 0;
    const task = startPeriodicTask({
      name: 'scan-counts-compaction',
      intervalMs: 5,
      log,
      run: async () => {
        runs++;
        await compactScanStatusCounts(sql);
      },
    });
    await waitFor(() => lines.length >= 3, { what: 'three failed runs logged' });
    await task.stop();
    await sql.end();
    assert.ok(runs >= 3);
    for (const line of lines.slice(0, 3)) {
      assert.equal(line.level, 40);
      assert.equal(line.msg, 'periodic task: database unavailable');
      assert.equal(line.task, 'scan-counts-compaction');
    }
  });

  test('a statement past its timeout: a warning that says so, not "database unavailable"; runs go on', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { lines, log } = capture();
    let runs = 0;
    const task = startPeriodicTask({
      name: 'slow-task',
      intervalMs: 5,
      log,
      run: async () => {
        runs++;
        await db.sql.begin(async (tx) => {
          await tx`SET LOCAL statement_timeout = 20`;
          await tx`SELECT pg_sleep(1)`;
        });
      },
    });
    await waitFor(() => lines.length >= 2, { what: 'two cancelled runs logged' });
    await task.stop();
    assert.ok(runs >= 2);
    for (const line of lines.slice(0, 2)) {
      assert.equal(line.level, 40);
      assert.match(String(line.msg), /^periodic task: statement cancelled \(statement_timeout/);
      assert.equal(line.task, 'slow-task');
      assert.match(String(line.err), /statement timeout/);
    }
  });

  test('a statement the database refuses: an error each run, runs go on', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    // What migration 0030 fixed, made again: a published table without a replica identity refuses
    // the compaction's DELETE (55000), a statement error, not a database outage. Two deltas of one
    // farm and status: something to fold, so each run tries the DELETE (migration 0031).
    await db.sql`INSERT INTO scan_status_counts (farm_id, status, n) VALUES (NULL, 'graded', 2), (NULL, 'graded', -1)`;
    await db.sql`ALTER TABLE scan_status_counts REPLICA IDENTITY NOTHING`;
    await db.sql`CREATE PUBLICATION cti_refused_test FOR TABLE scan_status_counts`;
    const { lines, log } = capture();
    const task = startPeriodicTask({
      name: 'scan-counts-compaction',
      intervalMs: 5,
      log,
      run: async () => {
        await compactScanStatusCounts(db.sql);
      },
    });
    await waitFor(() => lines.length >= 2, { what: 'two failed runs logged' });
    await task.stop();
    for (const line of lines.slice(0, 2)) {
      assert.equal(line.level, 50);
      assert.equal(line.msg, 'periodic task failed');
      assert.equal((line.err as { code?: string }).code, '55000');
    }
  });

  test('stop() during a compaction waits for it to commit', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const farm = await seedFarm(sql, 'Stop');
    const deviceId = await seedDevice(sql, 'dev-stop', farm);
    for (let i = 0; i < 3; i++) await seedScan(sql, { farmId: farm, deviceId, status: 'graded' });
    const rows = async () => (await sql`SELECT count(*)::int AS n FROM scan_status_counts`)[0]!.n as number;
    assert.equal(await rows(), 3);
    // The table held by another transaction: the run's compaction waits for it.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = sql.begin(async (tx) => {
      await tx`LOCK TABLE scan_status_counts IN ACCESS EXCLUSIVE MODE`;
      locked();
      await released;
    });
    await holding;
    const { lines, log } = capture();
    const task = startPeriodicTask({
      name: 'scan-counts-compaction',
      intervalMs: 60_000,
      log,
      run: async () => {
        await compactScanStatusCounts(sql);
      },
    });
    await waitFor(
      async () =>
        (
          await sql`SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                       AND wait_event_type = 'Lock' AND query LIKE '%compact_scan_status_counts%'`
        ).length > 0,
      { what: 'the compaction waiting for the table' },
    );
    let stopped = false;
    const stopping = task.stop().then(() => {
      stopped = true;
    });
    assert.equal(stopped, false, 'stop() returned with the compaction still running');
    release();
    await holder;
    await stopping;
    assert.equal(await rows(), 1, 'the compaction in progress committed before stop() returned');
    assert.deepEqual(lines, [], 'nothing failed');
  });
});
