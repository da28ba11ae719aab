import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { apiClient, signedInClients } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import type { Report } from './report.ts';
import { toronto } from './test-report-seed.ts';

// Review r9 F1: an animal moved from farm A to farm B (PATCH /api/v1/animals/{id}) keeps its scans on
// A linked to it. Every reader of a report must get the same figures: A's farmer (who may not see the
// animal any more) and an admin (who may) read the same URL and get the same ratios, means and
// counts — only the animal's identity is hidden from the farmer. A group is one farm's animals: B's
// group does not take in the scan taken on A before the move, whoever reads it.

const DAY = '2025-09-09';
type Seed = Record<'A' | 'B' | 'S1' | 'S2' | 'H1' | 'M1' | 'groupA' | 'groupB' | 'm1OnA' | 'm1OnB', string>;
let s: Seed;
const ctx = useTestApp(
  {},
  {
    async seed({ db, server }) {
      const sql = db.sql;
      const A = await seedFarm(sql, 'Farm A', { lon: -79.38, lat: 43.65 });
      const B = await seedFarm(sql, 'Farm B', { lon: -80.5, lat: 42.9 });
      const devA = await seedDevice(sql, 'dev-a', A);
      const devB = await seedDevice(sql, 'dev-b', B);
      const animal = async (tag: string, sex: string) =>
        (
          await sql<{ id: string }[]>`
            INSERT INTO animals (farm_id, tag_id, sex) VALUES (${A}, ${tag}, ${sex}) RETURNING id`
        )[0]!.id;
      const [S1, S2, H1, M1] = [
        await animal('007', 'steer'),
        await animal('012', 'steer'),
        await animal('201', 'heifer'),
        await animal('099', 'steer'),
      ];
      const scan = async (
        farm: string,
        device: string,
        hhmm: string,
        animalId: string | null,
        rea: number,
        fat: number,
      ) => {
        const id = await seedScan(sql, {
          farmId: farm,
          deviceId: device,
          capturedAt: toronto(hhmm),
          animalId,
        });
        await seedGrading(sql, id, { grade: 'A', features: { rea_cm2: rea, fat_thickness_mm: fat } });
        return id;
      };
      await scan(A, devA, '10:00', S1, 82, 7);
      await scan(A, devA, '11:00', S2, 66, 5.5);
      const m1OnA = await scan(A, devA, '12:00', M1, 90, 9);
      await scan(A, devA, '13:00', null, 75, 5);
      await scan(A, devA, '14:00', H1, 70, 8);
      const [groupA] = await sql<{ id: string }[]>`
        INSERT INTO contemporary_groups (farm_id, name) VALUES (${A}, 'Fall 25') RETURNING id`;
      for (const id of [S1, S2, H1, M1])
        await sql`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${groupA!.id}, ${id})`;
      await seedUser(sql, 'fa@example.com', ['farmer'], { farms: [{ id: A, owner: true }] });
      await seedUser(sql, 'fb@example.com', ['farmer'], { farms: [{ id: B, owner: true }] });
      await seedUser(sql, 'admin@example.com', ['admin']);
      // M1 moves to farm B through the API; its scan stays on A, linked to it.
      const admin = apiClient(server.app);
      assert.equal((await admin.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
      const moved = await admin.request('PATCH', `/api/v1/animals/${M1}`, { body: { farm_id: B } });
      assert.equal(moved.status, 200, moved.text);
      const group = await admin.request('POST', '/api/v1/groups', { body: { farm_id: B, name: 'B group' } });
      assert.equal(group.status, 201, group.text);
      const join = await admin.request('PUT', `/api/v1/groups/${group.body.id}/animals/${M1}`);
      assert.equal(join.status, 200, join.text);
      const m1OnB = await scan(B, devB, '10:00', M1, 200, 20);
      s = { A, B, S1, S2, H1, M1, groupA: groupA!.id, groupB: group.body.id, m1OnA, m1OnB };
    },
  },
);

const as = signedInClients(() => ctx.server.app, TEST_PASSWORD);
const get = async (email: string, path: string) => {
  const res = await (await as(`${email}@example.com`)).request('GET', path);
  assert.equal(res.status, 200, `${email} ${path}: ${res.text.slice(0, 300)}`);
  return res;
};

/** The report without the animals' identity (id, tag): what every reader must get alike. */
function figures(report: Report) {
  return JSON.stringify({
    ...report,
    scatter: {
      ...report.scatter,
      points: report.scatter.points.map(({ animal_id: _, animal_tag_id: __, ...p }) => p),
    },
    contemporary_groups: report.contemporary_groups.map((g) => ({
      ...g,
      members: g.members.map(({ animal: { id: _, tag_id: __, ...animal }, ...m }) => ({ ...m, animal })),
    })),
  });
}
/** The whole-number ratios of a report page's group tables, in order. */
const pageRatios = (html: string, what: 'REA' | 'Fat') =>
  [...html.matchAll(new RegExp(`data-label="${what} ratio" class="num">([^<]*)<`, 'g'))].map((m) => m[1]);

describe('an animal moved to another farm: the same figures for every reader', () => {
  let forFarmer: Report;
  let forAdmin: Report;
  before(async () => {
    const path = `/api/v1/reports/farms/${s.A}?from=${DAY}&to=${DAY}`;
    forFarmer = (await get('fa', path)).body;
    forAdmin = (await get('admin', path)).body;
  });

  test("farm A's report: A's farmer and an admin get byte-identical figures", () => {
    assert.equal(figures(forFarmer), figures(forAdmin));
    assert.deepEqual(forFarmer.counts.grades, { A: 5, M: 0, R: 0, no_grade: 0, not_graded: 0 });
    assert.equal(forFarmer.counts.animals, 4, 'S1 S2 H1 and M1, now on farm B');
    assert.equal(forFarmer.counts.not_linked_to_animal, 1);
  });

  test('the moved animal stays in its scan-day + sex group; the ratios are over all three steers', () => {
    const steers = (r: Report) => r.contemporary_groups.find((g) => g.label === `${DAY} · steer`)!;
    // REA 82, 66, 90: mean 79.33; fat 7, 5.5, 9: mean 7.17.
    const rows = (r: Report) =>
      steers(r).members.map((m) => [m.animal.tag_id, m.animal.on_other_farm, m.rea_ratio, m.fat_ratio]);
    assert.deepEqual(rows(forAdmin), [
      ['007', false, 103.4, 97.7],
      ['012', false, 83.2, 76.7],
      ['099', true, 113.4, 125.6],
    ]);
    assert.deepEqual(rows(forFarmer), [
      ['007', false, 103.4, 97.7],
      ['012', false, 83.2, 76.7],
      [null, true, 113.4, 125.6],
    ]);
    assert.equal(steers(forAdmin).members[2]!.animal.id, s.M1);
    assert.deepEqual(steers(forFarmer).members[2]!.animal, {
      id: null,
      tag_id: null,
      sex: 'steer',
      on_other_farm: true,
    });
    assert.ok(!JSON.stringify(forFarmer).includes(s.M1), "the farmer's report never names the moved animal");
  });

  test('the reports page and the printable day report print the same ratios for both', async () => {
    for (const path of [
      `/reports?farm_id=${s.A}&from=${DAY}&to=${DAY}`,
      `/reports/farms/${s.A}/print?day=${DAY}`,
    ]) {
      const farmer = (await get('fa', path)).text;
      const admin = (await get('admin', path)).text;
      // Heifers (H1), then steers 007, 012 and the moved one.
      assert.deepEqual(pageRatios(farmer, 'REA'), ['100', '103', '83', '113'], path);
      assert.deepEqual(pageRatios(admin, 'REA'), pageRatios(farmer, 'REA'), path);
      assert.deepEqual(pageRatios(admin, 'Fat'), pageRatios(farmer, 'Fat'), path);
      assert.match(farmer, /<span class="muted">an animal now on another farm<\/span>/, path);
      assert.ok(!farmer.includes(s.M1), `${path}: no link to the moved animal for the farmer`);
      assert.match(
        admin,
        new RegExp(`<a href="/animals/${s.M1}">099</a> <span class="muted">\\(now on another farm\\)`),
      );
    }
  });

  test("farm B's group: the same report for B's farmer and an admin, without the scan taken on A", async () => {
    const path = `/api/v1/reports/groups/${s.groupB}?from=${DAY}&to=${DAY}`;
    const farmer: Report = (await get('fb', path)).body;
    const admin: Report = (await get('admin', path)).body;
    assert.equal(JSON.stringify(farmer), JSON.stringify(admin));
    assert.equal(admin.counts.scans, 1);
    assert.equal(admin.rea_cm2.mean, 200);
    assert.deepEqual(
      admin.contemporary_groups[0]!.members.map((m) => [m.animal.tag_id, m.scans, m.rea_cm2]),
      [['099', 1, 200]],
    );
  });

  test("a group's scans list, counts and exports hold only the scans taken on the group's farm", async () => {
    for (const who of ['fb', 'admin']) {
      const list = (await get(who, `/api/v1/scans?group_id=${s.groupB}`)).body;
      assert.deepEqual(
        list.items.map((i: { id: string }) => i.id),
        [s.m1OnB],
        who,
      );
      const counts = (await get(who, `/api/v1/scans/counts?group_id=${s.groupB}`)).body;
      assert.equal(counts.total, 1, who);
      const csv: Record<string, string>[] = parse(
        (await get(who, `/api/v1/exports/scans.csv?group_id=${s.groupB}`)).text,
        {
          columns: true,
        },
      );
      assert.deepEqual(
        csv.map((r) => r.scan_id),
        [s.m1OnB],
        who,
      );
      const geo = JSON.parse((await get(who, `/api/v1/exports/scans.geojson?group_id=${s.groupB}`)).text);
      assert.deepEqual(
        geo.features.map((f: { id: string }) => f.id),
        [s.m1OnB],
        who,
      );
    }
    // The scan taken on A before the move is still A's, in A's files.
    const farmA: Record<string, string>[] = parse(
      (await get('admin', `/api/v1/exports/scans.csv?farm_id=${s.A}`)).text,
      {
        columns: true,
      },
    );
    assert.ok(farmA.some((r) => r.scan_id === s.m1OnA));
  });
});
