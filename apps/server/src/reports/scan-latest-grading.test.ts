import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listMigrations, MIGRATIONS_DIR, migrate } from '@cti/db';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import { featureNumber, latestGradingJoin } from '../access/sql-fragments.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { createTestApp, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// scans.latest_* (migration "scan_latest_grading") hold the latest grading result's id, grade and
// measurements for reports, and (migration "scan_latest_grading_for_exports") its reasons, confidence,
// model, time and author for exports. They must equal, for every scan and after every kind of write, what the
// per-scan lookup the list uses (latestGradingJoin) finds: ingest, a model result, a regrade, a
// correction by hand, results written out of order or in one statement, edits and deletions of
// results, a scan moved to another farm — and the migration's backfill of scans graded before it.

/** Scans whose stored latest grading differs from the lookup, with both sides. */
async function drift(sql: Sql) {
  return sql`
    SELECT s.id, s.latest_grading_id, lg.id AS lookup_id, s.latest_grade, lg.grade AS lookup_grade,
           s.latest_rea_cm2, s.latest_fat_thickness_mm, s.latest_grade_reasons, s.latest_confidence,
           s.latest_model_name, s.latest_model_version, s.latest_graded_at, s.latest_graded_by
      FROM scans s ${latestGradingJoin(sql)}
     WHERE (s.latest_grading_id, s.latest_grade, s.latest_rea_cm2, s.latest_fat_thickness_mm,
            s.latest_grade_reasons, s.latest_confidence, s.latest_model_name, s.latest_model_version,
            s.latest_graded_at, s.latest_graded_by)
           IS DISTINCT FROM (lg.id, lg.grade, ${featureNumber(sql, sql`lg.features_used`, 'rea_cm2')},
                             ${featureNumber(sql, sql`lg.features_used`, 'fat_thickness_mm')},
                             lg.grade_reasons, lg.confidence, lg.model_name, lg.model_version, lg.created_at,
                             lg.created_by)`;
}
const assertExact = async (sql: Sql, when: string) => assert.deepEqual([...(await drift(sql))], [], when);
const latestOf = async (sql: Sql, scan: string) =>
  (
    await sql<{ id: string | null; grade: string | null; rea: number | null; fat: number | null }[]>`
      SELECT latest_grading_id AS id, latest_grade AS grade, latest_rea_cm2 AS rea, latest_fat_thickness_mm AS fat
        FROM scans WHERE id = ${scan}`
  )[0]!;

describe('scans.latest_* follow every write to grading_results', () => {
  let db: TestDatabase;
  let server: TestApp;
  const ids = {} as Record<'north' | 'south' | 'dev' | 'tech', string>;
  const scans: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    server = createTestApp(db.sql);
    ids.north = await seedFarm(db.sql, 'North');
    ids.south = await seedFarm(db.sql, 'South', { lon: -80.5, lat: 42.9 });
    ids.dev = await seedDevice(db.sql, 'dev-1', ids.north);
    ids.tech = (
      await seedUser(db.sql, 'tech@example.com', ['technician'], {
        farms: [{ id: ids.north }, { id: ids.south }],
      })
    ).id;
    await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: ids.north, owner: true }] });
    for (let i = 0; i < 4; i++)
      scans.push(
        await seedScan(db.sql, {
          farmId: ids.north,
          deviceId: ids.dev,
          capturedAt: `2025-09-09T12:0${i}:00Z`,
        }),
      );
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  async function as(email: string): Promise<ApiClient> {
    const client = apiClient(server.app);
    assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
    return client;
  }

  test('ingest, model result, regrade, late and tied results, correction by hand, edits, deletions', async () => {
    const sql = db.sql;
    const [s0, s1, s2] = scans as [string, string, string];
    assert.deepEqual(await latestOf(sql, s0), { id: null, grade: null, rea: null, fat: null }, 'ingested');
    const model = await seedGrading(sql, s0, {
      grade: 'M',
      features: { rea_cm2: 80.5, fat_thickness_mm: 6.25 },
      createdAt: '2025-09-09T13:00:00Z',
    });
    assert.deepEqual(await latestOf(sql, s0), { id: model, grade: 'M', rea: 80.5, fat: 6.25 });
    const regrade = await seedGrading(sql, s0, {
      grade: 'R',
      features: { rea_cm2: null, fat_thickness_mm: 'n/a' },
      createdAt: '2025-09-09T14:00:00Z',
    });
    assert.deepEqual(
      await latestOf(sql, s0),
      { id: regrade, grade: 'R', rea: null, fat: null },
      'JSON null, not a number',
    );
    await seedGrading(sql, s0, { grade: 'A', createdAt: '2025-09-09T12:30:00Z' });
    assert.equal((await latestOf(sql, s0)).id, regrade, 'a result dated earlier does not take over');
    const manual = await seedGrading(sql, s0, {
      grade: 'A',
      createdBy: ids.tech,
      features: { rea_cm2: 83 },
      createdAt: '2025-09-09T15:00:00Z',
    });
    assert.deepEqual(
      await latestOf(sql, s0),
      { id: manual, grade: 'A', rea: 83, fat: null },
      'correction by hand',
    );
    await assertExact(sql, 'after regrades and a correction');

    // Two results at the same instant: the larger id is the latest, as in the list.
    const tied = await sql<{ id: string }[]>`
      INSERT INTO grading_results (scan_id, model_name, model_version, grade, features_used, created_at)
      VALUES (${s1}, 'm', '1', 'A', '{"rea_cm2": 70}', '2025-09-09T13:00:00Z'),
             (${s1}, 'm', '1', 'M', '{"rea_cm2": 71}', '2025-09-09T13:00:00Z')
      RETURNING id`;
    const biggest = tied
      .map((r) => r.id)
      .sort()
      .at(-1);
    assert.equal((await latestOf(sql, s1)).id, biggest, 'one statement, tie broken by id');
    await assertExact(sql, 'after a tie');

    await sql`UPDATE grading_results SET features_used = '{"rea_cm2": 90, "fat_thickness_mm": 7}', grade = 'M' WHERE id = ${manual}`;
    assert.deepEqual(
      await latestOf(sql, s0),
      { id: manual, grade: 'M', rea: 90, fat: 7 },
      'an edited result',
    );
    // Columns only exports read: any edit of the latest result reaches the scan row.
    await sql`UPDATE grading_results SET grade_reasons = '{too_dark}', confidence = 0.5, model_version = '2' WHERE id = ${manual}`;
    assert.deepEqual(
      (
        await sql`SELECT latest_grade_reasons, latest_confidence::float8 AS c, latest_model_version FROM scans WHERE id = ${s0}`
      )[0],
      { latest_grade_reasons: ['too_dark'], c: 0.5, latest_model_version: '2' },
    );
    await assertExact(sql, 'after an edit of what exports show');
    await sql`UPDATE grading_results SET created_at = '2025-09-09T16:00:00Z' WHERE id = ${model}`;
    assert.equal((await latestOf(sql, s0)).id, model, 'a result re-dated to the newest');
    await sql`UPDATE grading_results SET scan_id = ${s2} WHERE id = ${model}`;
    assert.equal((await latestOf(sql, s0)).id, manual, 'a result moved away: the scan it left is refreshed');
    assert.equal((await latestOf(sql, s2)).id, model, '… and the scan it joined');
    await assertExact(sql, 'after edits');

    await sql`DELETE FROM grading_result_assets WHERE grading_result_id = ${manual}`;
    await sql`DELETE FROM grading_results WHERE id = ${manual}`;
    assert.equal((await latestOf(sql, s0)).id, regrade, 'the latest deleted: the one before it');
    await sql`DELETE FROM grading_results WHERE scan_id = ${s2}`;
    assert.deepEqual(await latestOf(sql, s2), { id: null, grade: null, rea: null, fat: null }, 'none left');
    await assertExact(sql, 'after deletions');
  });

  test('a scan moved to another farm takes its grade to that farm’s report', async () => {
    const s3 = scans[3]!;
    await seedGrading(db.sql, s3, { grade: 'A', features: { rea_cm2: 77, fat_thickness_mm: 5 } });
    const tech = await as('tech@example.com');
    const report = async (farm: string) =>
      (await tech.request('GET', `/api/v1/reports/farms/${farm}?from=2025-09-01&to=2025-09-30`)).body;
    const northBefore = await report(ids.north);
    const moved = await tech.request('PATCH', `/api/v1/scans/${s3}`, { body: { farm_id: ids.south } });
    assert.equal(moved.status, 200);
    const north = await report(ids.north);
    const south = await report(ids.south);
    assert.equal(north.counts.scans, northBefore.counts.scans - 1);
    assert.equal(north.counts.grades.A, northBefore.counts.grades.A - 1);
    assert.deepEqual(south.counts.grades, { A: 1, M: 0, R: 0, no_grade: 0, not_graded: 0 });
    assert.equal(south.rea_cm2.mean, 77);
    assert.equal(south.fat_thickness_mm.mean, 5);
    await assertExact(db.sql, 'after the move');
  });
});

for (const [migration, filled] of [
  ['scan_latest_grading', 'id, grade and measurements'],
  ['scan_latest_grading_for_exports', 'reasons, confidence, model, time and author'],
] as const) {
  test(`migration ${migration} fills the latest result's ${filled} in for results written before it`, async () => {
    const all = listMigrations();
    const at = all.findIndex((m) => m.name === migration);
    assert.ok(at > 0, 'the migration exists');
    const earlier = mkdtempSync(join(tmpdir(), 'cti-migrations-'));
    const db = await createTestDatabase({ migrated: false });
    try {
      for (const m of all.slice(0, at)) copyFileSync(join(MIGRATIONS_DIR, m.file), join(earlier, m.file));
      await migrate({ sql: db.sql, dir: earlier });
      const farm = await seedFarm(db.sql, 'North');
      const dev = await seedDevice(db.sql, 'dev-1', farm);
      const a = await seedScan(db.sql, { farmId: farm, deviceId: dev });
      const b = await seedScan(db.sql, { farmId: farm, deviceId: dev });
      await seedScan(db.sql, { farmId: farm, deviceId: dev }); // never graded
      await seedGrading(db.sql, a, { grade: 'M', createdAt: '2025-09-09T13:00:00Z' });
      const newest = await seedGrading(db.sql, a, {
        grade: 'A',
        features: { rea_cm2: 81.5, fat_thickness_mm: null },
        confidence: 0.8732,
        createdAt: '2025-09-09T14:00:00Z',
      });
      await db.sql`UPDATE grading_results SET grade_reasons = '{ribeye_cut_off}' WHERE id = ${newest}`;
      await seedGrading(db.sql, b, { grade: null, features: {} });
      const { applied } = await migrate({ sql: db.sql });
      assert.deepEqual(
        applied,
        all.slice(at).map((m) => m.file),
      );
      assert.deepEqual(await latestOf(db.sql, a), { id: newest, grade: 'A', rea: 81.5, fat: null });
      assert.equal((await latestOf(db.sql, b)).grade, null);
      assert.notEqual((await latestOf(db.sql, b)).id, null, 'graded without a grade is still graded');
      const [exported] = await db.sql`
        SELECT latest_grade_reasons, latest_confidence::float8 AS confidence, latest_graded_at IS NOT NULL AS dated
          FROM scans WHERE id = ${a}`;
      assert.deepEqual(exported, {
        latest_grade_reasons: ['ribeye_cut_off'],
        confidence: 0.8732,
        dated: true,
      });
      await assertExact(db.sql, 'after the backfill');
    } finally {
      rmSync(earlier, { recursive: true, force: true });
      await db.drop();
    }
  });
}
