import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient, signedInClients } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { TEST_PASSWORD } from '../test-seed.ts';
import { type ReportSeed, seedReportFarm, toronto } from './test-report-seed.ts';

// The report figures of one farm day (test-report-seed.ts), against values computed by hand below,
// through the JSON API (each answer is also checked against the OpenAPI document), and who may see it.

let seed: ReportSeed;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      seed = await seedReportFarm(db.sql);
    },
  },
);

const as = signedInClients(() => ctx.server.app, TEST_PASSWORD);
const near = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

const DAY = '?from=2025-09-09&to=2025-09-09';

describe('farm report of 2025-09-09 (Toronto)', () => {
  test('counts and grade mix: latest result per scan, the late-evening scan in, the next day out', async () => {
    const res = await (await as('farmer@example.com')).request(
      'GET',
      `/api/v1/reports/farms/${seed.farm}${DAY}`,
    );
    assert.equal(res.status, 200);
    const r = res.body;
    assert.deepEqual(r.scope, {
      kind: 'farm',
      farm: { id: seed.farm, name: 'Report Farm' },
      group: null,
      from: '2025-09-09',
      to: '2025-09-09',
      time_zone: 'America/Toronto',
      starts_at: '2025-09-09T04:00:00.000Z',
      ends_at: '2025-09-10T04:00:00.000Z',
    });
    // a1 a2 a3 b1 b2 c1 d1 e1 f1 g1 h1 i1 — not `next` (00:30 on the 10th), not `before`, not the other farm's.
    assert.equal(r.counts.scans, 12);
    assert.deepEqual(r.counts.by_status, { uploaded: 0, ingested: 1, graded: 11, error: 0 });
    // A: a1 b1 c1 d1 f1 g1; M: a2 b2; R: a3 (latest R over an older A) e1; i1 has no grade; h1 none yet.
    assert.deepEqual(r.counts.grades, { A: 6, M: 2, R: 2, no_grade: 1, not_graded: 1 });
    assert.equal(r.counts.usable, 8);
    assert.equal(r.counts.animals, 6); // S1 S2 S3 H1 H2 U1
    assert.equal(r.counts.not_linked_to_animal, 3); // g1 h1 i1
    assert.deepEqual(r.by_day, [
      { day: '2025-09-09', scans: 12, grades: { A: 6, M: 2, R: 2, no_grade: 1, not_graded: 1 } },
    ]);
  });

  test('REA and fat thickness: usable (A/M) scans only, a missing value counted and never 0', async () => {
    const r = (
      await (await as('farmer@example.com')).request('GET', `/api/v1/reports/farms/${seed.farm}${DAY}`)
    ).body;
    // Usable REA: a1 80, a2 84, b1 72, b2 76, c1 78, d1 70, f1 66, g1 75 (a3 90 and e1 60 are R, i1 99 has no grade).
    const rea = r.rea_cm2;
    assert.equal(rea.measured, 8);
    assert.equal(rea.not_measured, 0);
    near(rea.mean, 601 / 8, 'REA mean');
    near(rea.median, (75 + 76) / 2, 'REA median');
    assert.equal(rea.min, 66);
    assert.equal(rea.max, 84);
    // Σ(x − 75.125)² = 230.875 over n − 1 = 7.
    near(rea.sd, Math.sqrt(230.875 / 7), 'REA sd');
    assert.deepEqual(rea.histogram, {
      bin_width: 5,
      bins: [
        { from: 65, to: 70, count: 1 },
        { from: 70, to: 75, count: 2 },
        { from: 75, to: 80, count: 3 },
        { from: 80, to: 85, count: 2 },
      ],
    });
    // Usable FT: 6, 7, 5, 6, (c1 missing), 8, 6, 5.5.
    const ft = r.fat_thickness_mm;
    assert.equal(ft.measured, 7);
    assert.equal(ft.not_measured, 1);
    near(ft.mean, 43.5 / 7, 'FT mean');
    assert.equal(ft.median, 6);
    assert.equal(ft.min, 5);
    assert.equal(
      ft.histogram.bins.reduce((n: number, b: { count: number }) => n + b.count, 0),
      7,
    );
    assert.ok(
      !ft.histogram.bins.some((b: { from: number }) => b.from < 5),
      'no bin for a 0 that is not there',
    );
    // Scatter: the 7 usable scans with both values; c1 is not drawn.
    assert.equal(r.scatter.points.length, 7);
    assert.equal(r.scatter.not_drawn, 1);
    assert.ok(!r.scatter.points.some((p: { scan_id: string }) => p.scan_id === seed.scans.c1));
    assert.deepEqual(
      r.scatter.points.find((p: { scan_id: string }) => p.scan_id === seed.scans.g1),
      { scan_id: seed.scans.g1, animal_id: null, animal_tag_id: null, rea_cm2: 75, fat_thickness_mm: 5.5 },
    );
  });

  test('device activity', async () => {
    const r = (
      await (await as('tech@example.com')).request('GET', `/api/v1/reports/farms/${seed.farm}${DAY}`)
    ).body;
    assert.deepEqual(r.devices, [
      {
        id: seed.dev1,
        device_code: 'dev-east',
        label: null,
        scans: 6, // a1 a2 a3 b1 b2 c1
        grades: { A: 3, M: 2, R: 1, no_grade: 0, not_graded: 0 },
        days_active: 1,
        first_at: '2025-09-09T13:00:00.000Z', // b1, 09:00 EDT
        last_at: '2025-09-10T03:30:00.000Z', // b2, 23:30 EDT
      },
      {
        id: seed.dev2,
        device_code: 'dev-west',
        label: null,
        scans: 6, // d1 e1 f1 g1 h1 i1
        grades: { A: 3, M: 0, R: 1, no_grade: 1, not_graded: 1 },
        days_active: 1,
        first_at: toronto('10:30'),
        last_at: toronto('15:30'),
      },
    ]);
  });

  test('contemporary groups (scan day + sex) with each animal’s ratios to the group mean', async () => {
    const r = (
      await (await as('admin@example.com')).request('GET', `/api/v1/reports/farms/${seed.farm}${DAY}`)
    ).body;
    const groups = r.contemporary_groups;
    assert.deepEqual(
      groups.map((g: { label: string }) => g.label),
      ['2025-09-09 · heifer', '2025-09-09 · steer', '2025-09-09 · sex not recorded'],
    );
    const [heifers, steers, unknown] = groups;
    // Heifers: H1 70 / 8; H2 only an R scan → not measured, no ratio.
    assert.deepEqual(heifers.key, { kind: 'scan_date_sex', scan_date: '2025-09-09', sex: 'heifer' });
    assert.equal(heifers.animals, 2);
    assert.deepEqual(heifers.rea_cm2, { measured: 1, mean: 70 });
    const h2 = heifers.members.find((m: { animal: { tag_id: string } }) => m.animal.tag_id === '202');
    assert.deepEqual(
      {
        scans: h2.scans,
        usable: h2.usable_scans,
        scan: h2.scan,
        rea: h2.rea_cm2,
        ratio: h2.rea_ratio,
        fat: h2.fat_ratio,
      },
      { scans: 1, usable: 0, scan: null, rea: null, ratio: null, fat: null },
    );
    // Steers: S1's latest usable scan is a2 (84 / 7; a3 is newer but R), S2's is b2 at 23:30 (76 / 6),
    // S3's is c1 (78 / FT missing). REA mean (84 + 76 + 78) / 3; FT mean (7 + 6) / 2 = 6.5.
    near(steers.rea_cm2.mean, 238 / 3, 'steer REA mean');
    assert.deepEqual(steers.fat_thickness_mm, { measured: 2, mean: 6.5 });
    const rows = steers.members.map(
      (m: Record<string, unknown> & { animal: { tag_id: string }; scan: { id: string } }) => [
        m.animal.tag_id,
        m.scan.id,
        m.scans,
        m.usable_scans,
        m.rea_cm2,
        m.rea_ratio,
        m.fat_thickness_mm,
        m.fat_ratio,
      ],
    );
    assert.deepEqual(rows, [
      ['101', seed.scans.a2, 3, 2, 84, 105.9, 7, 107.7], // 84 ÷ 79.33 = 1.0588; 7 ÷ 6.5 = 1.0769
      ['102', seed.scans.b2, 2, 2, 76, 95.8, 6, 92.3], // 76 ÷ 79.33 = 0.9580; 6 ÷ 6.5 = 0.9231
      ['103', seed.scans.c1, 1, 1, 78, 98.3, null, null], // 78 ÷ 79.33 = 0.9832
    ]);
    assert.deepEqual(unknown.key, { kind: 'scan_date_sex', scan_date: '2025-09-09', sex: null });
    assert.equal(unknown.members[0].rea_ratio, 100);
  });

  test('a wider period: the next day is its own group, the day before too', async () => {
    const r = (
      await (
        await as('farmer@example.com')
      ).request('GET', `/api/v1/reports/farms/${seed.farm}?from=2025-09-08&to=2025-09-10`)
    ).body;
    assert.equal(r.counts.scans, 14);
    assert.deepEqual(
      r.by_day.map((d: { day: string; scans: number }) => [d.day, d.scans]),
      [
        ['2025-09-08', 1],
        ['2025-09-09', 12],
        ['2025-09-10', 1],
      ],
    );
    assert.deepEqual(
      r.contemporary_groups.map((g: { label: string; animals: number }) => [g.label, g.animals]),
      [
        ['2025-09-08 · steer', 1],
        ['2025-09-09 · heifer', 2],
        ['2025-09-09 · steer', 3],
        ['2025-09-09 · sex not recorded', 1],
        ['2025-09-10 · steer', 1],
      ],
    );
    const open = (await (await as('farmer@example.com')).request('GET', `/api/v1/reports/farms/${seed.farm}`))
      .body;
    assert.equal(open.counts.scans, 14, 'no period: every scan of the farm');
    assert.equal(open.scope.starts_at, null);
  });
});

describe('group report', () => {
  test('an explicit contemporary group: every member, ratios within the group', async () => {
    const res = await (await as('farmer@example.com')).request(
      'GET',
      `/api/v1/reports/groups/${seed.group}${DAY}`,
    );
    assert.equal(res.status, 200);
    const r = res.body;
    assert.deepEqual(r.scope.group, { id: seed.group, name: 'Spring calves' });
    assert.equal(r.counts.scans, 6); // S1: a1 a2 a3; S2: b1 b2; H1: d1
    const [g] = r.contemporary_groups;
    assert.deepEqual(g.key, { kind: 'group', group_id: seed.group, name: 'Spring calves' });
    // REA mean (84 + 76 + 70) / 3 = 76.67; FT mean (7 + 6 + 8) / 3 = 7. X (401) has no scan.
    assert.deepEqual(
      g.members.map((m: Record<string, unknown> & { animal: { tag_id: string } }) => [
        m.animal.tag_id,
        m.scans,
        m.rea_cm2,
        m.rea_ratio,
        m.fat_thickness_mm,
        m.fat_ratio,
      ]),
      [
        ['101', 3, 84, 109.6, 7, 100],
        ['102', 2, 76, 99.1, 6, 85.7],
        ['201', 1, 70, 91.3, 8, 114.3],
        ['401', 0, null, null, null, null],
      ],
    );
  });
});

describe('who may see a report', () => {
  const random = '00000000-0000-4000-8000-000000000000';
  test('another farm’s report or group is the same 404 as a missing one; admins see all', async () => {
    for (const [email, farm, group, ok] of [
      ['farmer@example.com', 'other', 'otherGroup', false],
      ['stranger@example.com', 'farm', 'group', false],
      ['tech@example.com', 'other', 'otherGroup', false],
      ['othertech@example.com', 'farm', 'group', false],
      ['othertech@example.com', 'other', 'otherGroup', true],
      ['admin@example.com', 'other', 'otherGroup', true],
    ] as const) {
      const client = await as(email);
      const farmRes = await client.request('GET', `/api/v1/reports/farms/${seed[farm]}`);
      const groupRes = await client.request('GET', `/api/v1/reports/groups/${seed[group]}`);
      if (ok) {
        assert.equal(farmRes.status, 200, email);
        assert.equal(groupRes.status, 200, email);
        continue;
      }
      const missingFarm = await client.request('GET', `/api/v1/reports/farms/${random}`);
      const missingGroup = await client.request('GET', `/api/v1/reports/groups/${random}`);
      assert.equal(farmRes.status, 404, `${email} → ${farm}`);
      assert.deepEqual({ ...farmRes.body, request_id: '' }, { ...missingFarm.body, request_id: '' });
      assert.equal(groupRes.status, 404);
      assert.deepEqual({ ...groupRes.body, request_id: '' }, { ...missingGroup.body, request_id: '' });
    }
    const anonymous = apiClient(ctx.server.app);
    assert.equal((await anonymous.request('GET', `/api/v1/reports/farms/${seed.farm}`)).status, 401);
  });

  test('the other farm’s scans never reach a report, whatever the period', async () => {
    const r = (await (await as('admin@example.com')).request('GET', `/api/v1/reports/farms/${seed.farm}`))
      .body;
    assert.ok(!r.scatter.points.some((p: { rea_cm2: number }) => p.rea_cm2 === 500));
    const theirs = (
      await (await as('stranger@example.com')).request('GET', `/api/v1/reports/farms/${seed.other}`)
    ).body;
    assert.equal(theirs.counts.scans, 1);
  });

  test('bad input: 422 naming the parameter; a malformed id is a 404', async () => {
    const client = await as('farmer@example.com');
    const cases: [string, string][] = [
      ['?from=2025-02-30', '/query/from'],
      ['?from=09/09/2025', '/query/from'],
      ['?from=2025-09-10&to=2025-09-09', '/query/to'],
      ['?day=2025-09-09', '/query/day'],
      ['?from=2025-09-09&from=2025-09-10', '/query/from'],
      // The end of 9999-12-31 is in year 10000, which no timestamp here can hold (it answered 500).
      ['?to=9999-12-31', '/query/to'],
      ['?from=9999-12-31', '/query/from'],
    ];
    for (const [query, pointer] of cases) {
      const res = await client.request('GET', `/api/v1/reports/farms/${seed.farm}${query}`);
      assert.equal(res.status, 422, query);
      assert.equal(res.body.error, 'invalid_request');
      assert.ok(
        res.body.problems.some((p: { pointer: string }) => p.pointer === pointer),
        `${query}: ${JSON.stringify(res.body.problems)}`,
      );
    }
    assert.equal((await client.request('GET', '/api/v1/reports/farms/not-a-uuid')).status, 404);
  });
});
