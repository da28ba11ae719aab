import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { testPrincipal } from '../auth/test-principal.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../test-seed.ts';
import { compactScanStatusCounts, type ScanCountsRow, scanCountsQuery } from './scan-counts-query.ts';
import type { ScanFilters } from './scan-filters.ts';

// scanCountsQuery on real Postgres with the real migrations: with no filter but a farm, the totals come
// from scan_status_counts (migration 0028) over the farms the caller may read, and equal what a pass over
// the scans gives (a `from` at the start of time makes the same question take that path), after
// inserts, status changes, moves, deletes and compaction; a farmer's counts cover only their farms.

const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
/**
 * A filter that matches every scan, even one with neither a capture nor an arrival time (sort key
 * -infinity; a `from` would leave it out): it takes the pass over the scans.
 */
const EVERYTHING = { to: '9999-12-31T23:59:59Z' };

let db: TestDatabase;
const ids = {} as Record<
  'own' | 'other' | 'devOwn' | 'devOther' | 'farmer' | 'tech' | 'exFarmer' | 'both' | 'exTech',
  string
>;
const admin = () => testPrincipal('00000000-0000-0000-0000-000000000000', ['admin']);
const farmer = () => testPrincipal(ids.farmer, ['farmer']);
const tech = () => testPrincipal(ids.tech, ['technician']);

const sorted = (rows: readonly ScanCountsRow[]) =>
  [...rows].map((r) => ({ ...r })).sort((a, b) => String(a.status).localeCompare(String(b.status)));
const counts = async (p = admin(), filters: ScanFilters = {}) =>
  sorted(await scanCountsQuery(db.sql, p, filters));

/** The stored totals' answer equals the pass's for every principal, with and without a farm. */
async function assertSameAsPass(message: string, principals = [admin(), farmer(), tech()]) {
  for (const p of principals) {
    for (const farm of [{}, { farm_id: ids.own }, { farm_id: ids.other }]) {
      assert.deepEqual(
        await counts(p, farm),
        await counts(p, { ...farm, ...EVERYTHING }),
        `${message}: ${p.roles[0]} ${JSON.stringify(farm)}`,
      );
    }
  }
}

before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  ids.own = await seedFarm(sql, 'Own');
  ids.other = await seedFarm(sql, 'Other', { lon: -80, lat: 42 });
  ids.devOwn = await seedDevice(sql, 'dev-own', ids.own);
  ids.devOther = await seedDevice(sql, 'dev-other', ids.other);
  ids.farmer = (await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: ids.own }] })).id;
  ids.tech = (
    await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: ids.own }, { id: ids.other }] })
  ).id;
  // Linked as farmer but no longer holding the role: reads nothing.
  ids.exFarmer = (
    await seedUser(sql, 'ex@example.com', ['technician'], { farms: [{ id: ids.own, as: 'farmer' }] })
  ).id;
  const own = { farmId: ids.own, deviceId: ids.devOwn };
  await seedScan(sql, { ...own, capturedAt: ago(10 * 60_000), status: 'graded' });
  await seedScan(sql, { ...own, capturedAt: ago(23 * HOUR), status: 'ingested' });
  await seedScan(sql, { ...own, capturedAt: ago(30 * 24 * HOUR), status: 'error' });
  await seedScan(sql, { ...own, capturedAt: ago(-26 * HOUR), status: 'graded' }); // a device clock ahead
  const other = { farmId: ids.other, deviceId: ids.devOther };
  await seedScan(sql, { ...other, capturedAt: ago(HOUR), status: 'graded' });
  await seedScan(sql, { ...other, capturedAt: ago(48 * HOUR), status: 'uploaded' });
  await seedScan(sql, { farmId: null, deviceId: ids.devOther, capturedAt: ago(2 * HOUR), status: 'error' });
});
after(() => db.drop());

describe('scan counts from the stored totals', () => {
  test('by status, last 24 hours and ahead, each caller only over the farms they read', async () => {
    assert.deepEqual(await counts(admin()), [
      { status: 'error', total: 2, last_24h: 1, ahead: 0 },
      { status: 'graded', total: 3, last_24h: 2, ahead: 1 },
      { status: 'ingested', total: 1, last_24h: 1, ahead: 0 },
      { status: 'uploaded', total: 1, last_24h: 0, ahead: 0 },
    ]);
    assert.deepEqual(await counts(farmer()), [
      { status: 'error', total: 1, last_24h: 0, ahead: 0 },
      { status: 'graded', total: 2, last_24h: 1, ahead: 1 },
      { status: 'ingested', total: 1, last_24h: 1, ahead: 0 },
    ]);
    assert.deepEqual(
      await counts(farmer(), { farm_id: ids.other }),
      [],
      "the other farm's scans do not exist for them",
    );
    assert.deepEqual(
      await counts(testPrincipal(ids.exFarmer, ['technician'])),
      [],
      'a link of a role they lost',
    );
    assert.deepEqual(
      await counts(tech(), { farm_id: ids.other }),
      [
        { status: 'graded', total: 1, last_24h: 1, ahead: 0 },
        { status: 'uploaded', total: 1, last_24h: 0, ahead: 0 },
      ],
      'no scan without a farm for a technician',
    );
    await assertSameAsPass('as seeded');
  });

  test('the same as a pass over the scans after status changes, moves, deletes and compaction', async () => {
    const sql = db.sql;
    const fresh = await seedScan(sql, { farmId: ids.own, deviceId: ids.devOwn, status: 'uploaded' });
    await sql`UPDATE scans SET status = 'graded' WHERE id = ${fresh}`;
    await sql`UPDATE scans SET farm_id = ${ids.other} WHERE farm_id = ${ids.own} AND status = 'error'`;
    await sql`UPDATE scans SET farm_id = ${ids.own} WHERE farm_id IS NULL`;
    await assertSameAsPass('after changes');
    assert.ok((await compactScanStatusCounts(sql)) > 0);
    await assertSameAsPass('after compaction');
    // A backlog folded in statements of 10 rows (more than this database's farm × status pairs): all
    // of it, in one call.
    for (let i = 0; i < 6; i++)
      for (const status of ['uploaded', 'graded'] as const)
        await sql`UPDATE scans SET status = ${status} WHERE id = ${fresh}`;
    assert.ok((await compactScanStatusCounts(sql, { batchRows: 10 })) > 24);
    const [left] = await sql`
      SELECT count(*)::int AS rows, count(DISTINCT (farm_id, status))::int AS pairs FROM scan_status_counts`;
    assert.equal(left!.rows, left!.pairs, 'one row per farm and status');
    await sql`DELETE FROM scan_events WHERE scan_id IN (SELECT id FROM scans WHERE status = 'uploaded')`;
    await sql`DELETE FROM scans WHERE status = 'uploaded'`;
    await assertSameAsPass('after compaction and a delete');
    assert.deepEqual(
      (await counts()).map((r) => r.status),
      ['error', 'graded', 'ingested'],
      'a status whose scans are all gone is left out, as the pass leaves it out',
    );
  });

  test('the unfiltered counts come from scan_status_counts, a filtered one from the scans', async () => {
    const sql = db.sql;
    const graded = (rows: ScanCountsRow[]) => rows.find((r) => r.status === 'graded')!.total;
    const before = graded(await counts(farmer()));
    await assert.rejects(
      sql.begin(async (tx) => {
        // A delta no scan backs, seen only inside this transaction (rolled back).
        await tx`INSERT INTO scan_status_counts (farm_id, status, n) VALUES (${ids.own}, 'graded', 1000)`;
        assert.equal(graded(await scanCountsQuery(tx, farmer(), {})), before + 1000);
        assert.equal(graded(await scanCountsQuery(tx, farmer(), { farm_id: ids.own })), before + 1000);
        assert.equal(graded(await scanCountsQuery(tx, farmer(), { status: 'graded' })), before);
        throw new Error('undone');
      }),
      /undone/,
    );
    assert.equal(graded(await counts(farmer())), before);
  });

  test('every filter but farm_id counts the scans (a filter added to ScanFilters must be listed here)', async () => {
    const sql = db.sql;
    const none = '00000000-0000-0000-0000-00000000abcd';
    // Each value a filter may take; a new ScanFilters field fails the type check until it is here.
    const others: Required<Omit<ScanFilters, 'farm_id'>> = {
      device_id: ids.devOwn,
      animal_id: none,
      group_id: none,
      capture_id: 'cap',
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T23:59:59Z',
      status: 'graded',
      grade: 'A',
      review_label: 'blurry',
      in_geofence_of: ids.own,
    };
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`INSERT INTO scan_status_counts (farm_id, status, n) VALUES (${ids.own}, 'graded', 1000)`;
        for (const [name, value] of Object.entries(others)) {
          for (const farm of [{}, { farm_id: ids.own }]) {
            const rows = await scanCountsQuery(tx, admin(), { ...farm, [name]: value });
            const graded = rows.find((r) => r.status === 'graded')?.total ?? 0;
            assert.ok(graded < 1000, `${name} ${JSON.stringify(farm)}: ${graded} includes the stored delta`);
          }
        }
        throw new Error('undone');
      }),
      /undone/,
    );
  });

  test('the same as the pass for scans with no time or no status, users linked in two roles or in one they lost', async () => {
    const sql = db.sql;
    // Sort key -infinity (neither capture nor arrival time): in total, never in the last 24 hours.
    await sql`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status, captured_at, created_at)
      VALUES ('no-time', 'no-time', ${ids.devOwn}, ${ids.own}, NULL, NULL, NULL),
             ('no-time-2', 'no-time-2', ${ids.devOwn}, ${ids.own}, 'graded', NULL, NULL),
             ('arrived', 'arrived', ${ids.devOwn}, ${ids.own}, NULL, NULL, now() - interval '1 hour'),
             ('no-farm', 'no-farm', ${ids.devOther}, NULL, NULL, NULL, now())`;
    ids.both = (
      await seedUser(sql, 'both@example.com', ['farmer', 'technician'], {
        farms: [{ id: ids.own, owner: true }],
      })
    ).id;
    ids.exTech = (
      await seedUser(sql, 'ex-tech@example.com', ['farmer'], { farms: [{ id: ids.other, as: 'technician' }] })
    ).id;
    const both = testPrincipal(ids.both, ['farmer', 'technician']);
    const exTech = testPrincipal(ids.exTech, ['farmer']);
    const [links] = await sql`SELECT count(*)::int AS n FROM user_farms WHERE user_id = ${ids.both}`;
    assert.equal(links!.n, 2, 'linked to the farm as farmer and as technician');
    await assertSameAsPass('no time, no status, two links, a lost role', [
      admin(),
      farmer(),
      tech(),
      both,
      exTech,
    ]);
    const nullStatus = (await counts(admin())).find((r) => r.status === null);
    assert.deepEqual(nullStatus, { status: null, total: 3, last_24h: 2, ahead: 0 });
    assert.deepEqual(await counts(both), await counts(farmer()), 'each scan once, not once a link');
    assert.deepEqual(await counts(exTech), [], 'a technician link of a role taken away reads nothing');
    assert.deepEqual(await counts(exTech, { farm_id: ids.other }), []);
  });
});

describe('a TRUNCATE of scans while a read of the counts waits for it', () => {
  test('no deadlock: the read locks scans before scan_status_counts, in the order the TRUNCATE does', async (t) => {
    const own = await createTestDatabase({ max: 4 });
    t.after(() => own.drop());
    const farm = await seedFarm(own.sql, 'Reset');
    await seedScan(own.sql, { farmId: farm, deviceId: await seedDevice(own.sql, 'dev-r', farm) });
    // An operator's TRUNCATE (a reset): it holds scans, then its trigger truncates scan_status_counts.
    // A read that had locked scan_status_counts first and waited for scans closed the cycle (40P01).
    let truncate!: () => void;
    const go = new Promise<void>((resolve) => {
      truncate = resolve;
    });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const operator = own.sql.begin(async (tx) => {
      await tx`LOCK TABLE scans IN ACCESS EXCLUSIVE MODE`;
      locked();
      await go;
      await tx`TRUNCATE scans CASCADE`;
    });
    operator.catch(() => {}); // awaited below
    await holding;
    const read = scanCountsQuery(own.sql, admin(), {}).execute();
    read.catch(() => {}); // awaited below
    await waitFor(
      async () =>
        (
          await own.sql`SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                          AND wait_event_type = 'Lock' AND query LIKE '%scan_status_counts%'`
        ).length > 0,
      { what: 'the read to wait for the lock on scans' },
    );
    truncate();
    await operator;
    assert.deepEqual([...(await read)], [], 'the read waited, then saw the scans truncated');
  });
});
