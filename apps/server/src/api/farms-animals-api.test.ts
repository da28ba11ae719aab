import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { clientsByEmail, problemPointers } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, squareAround } from '../test-seed.ts';

// Farms with GeoJSON geofences (PostGIS-validated), animals (tags, EIDs, moves between farms),
// contemporary groups and farm membership, through the API on a real database.

const f = {} as Record<'A' | 'B' | 'owner' | 'ownerB' | 'techA' | 'techAB' | 'admin', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'A');
      f.B = await seedFarm(db.sql, 'B');
      f.owner = (
        await seedUser(db.sql, 'owner@example.com', ['farmer'], { farms: [{ id: f.A, owner: true }] })
      ).id;
      f.ownerB = (
        await seedUser(db.sql, 'ownerb@example.com', ['farmer'], { farms: [{ id: f.B, owner: true }] })
      ).id;
      f.techA = (await seedUser(db.sql, 'techa@example.com', ['technician'], { farms: [{ id: f.A }] })).id;
      f.techAB = (
        await seedUser(db.sql, 'techab@example.com', ['technician'], { farms: [{ id: f.A }, { id: f.B }] })
      ).id;
      f.admin = (await seedUser(db.sql, 'admin@example.com', ['admin'])).id;
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);
const pointers = problemPointers;

describe('farms and geofences', () => {
  test('a valid polygon is stored in SRID 4326 with its centroid; GeoJSON comes back', async () => {
    const admin = await as('admin@example.com');
    const res = await admin.request('POST', '/api/v1/farms', {
      body: { name: 'Geo', geofence: squareAround(-79.38, 43.65) },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.geofence.type, 'Polygon');
    assert.ok(
      Math.abs(res.body.centroid.lon + 79.38) < 1e-9 && Math.abs(res.body.centroid.lat - 43.65) < 1e-9,
    );
    const [row] = await ctx.db
      .sql`SELECT ST_SRID(geofence) AS srid, ST_SRID(centroid) AS c FROM farms WHERE id = ${res.body.id}`;
    assert.deepEqual({ ...row }, { srid: 4326, c: 4326 });
  });

  test('positions with an altitude (RFC 7946 [lon, lat, alt]) are taken as 2-D, not a 500', async () => {
    const admin = await as('admin@example.com');
    const ring = [
      [-79.39, 43.64, 120],
      [-79.37, 43.64],
      [-79.37, 43.66, 118.5],
      [-79.39, 43.66, 121],
      [-79.39, 43.64, 120],
    ];
    const res = await admin.request('POST', '/api/v1/farms', {
      body: { name: 'Hilly', geofence: { type: 'Polygon', coordinates: [ring] } },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.geofence.coordinates, [ring.map(([lon, lat]) => [lon, lat])]);
    const [row] = await ctx.db
      .sql`SELECT ST_NDims(geofence) AS dims, ST_SRID(geofence) AS srid FROM farms WHERE id = ${res.body.id}`;
    assert.deepEqual({ ...row }, { dims: 2, srid: 4326 });
    const edit = await admin.request('PATCH', `/api/v1/farms/${res.body.id}`, {
      body: { geofence: { type: 'Polygon', coordinates: [ring.map(([lon, lat]) => [lon, lat, 0])] } },
    });
    assert.equal(edit.status, 200, edit.text);
  });

  test('invalid polygons are 422 naming the problem', async () => {
    const admin = await as('admin@example.com');
    const ring = squareAround(0, 0).coordinates[0]!;
    const cases: [unknown, string, RegExp][] = [
      [{ type: 'Point', coordinates: [0, 0] }, '/geofence/type', /Polygon/],
      [{ type: 'Polygon', coordinates: [ring.slice(0, 4)] }, '/geofence/coordinates/0/3', /not closed/],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 1],
              [0, 0],
            ],
          ],
        },
        '/geofence/coordinates/0',
        /at least 4/,
      ],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [0, 95],
              [1, 1],
              [0, 0],
            ],
          ],
        },
        '/geofence/coordinates/0/1/1',
        /latitude/,
      ],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 1],
              [1, 0],
              [0, 1],
              [0, 0],
            ],
          ],
        },
        '/geofence',
        /Self-intersection/,
      ],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [2, 0],
              [0, 0],
            ],
          ],
        },
        '/geofence',
        /not a valid polygon|no area/,
      ],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              [179.9, -17],
              [-179.9, -17],
              [-179.9, -16.9],
              [179.9, -16.9],
              [179.9, -17],
            ],
          ],
        },
        '/geofence/coordinates/0/1',
        /antimeridian.*split it.*RFC 7946/,
      ],
      [
        { type: 'Polygon', coordinates: [ring], crs: { type: 'name', properties: { name: 'EPSG:3857' } } },
        '/geofence/crs',
        /4326/,
      ],
      [
        {
          type: 'Polygon',
          coordinates: [
            [
              ['a', 0],
              [1, 0],
              [1, 1],
              ['a', 0],
            ],
          ],
        },
        '/geofence/coordinates/0/0',
        /position/,
      ],
    ];
    for (const [geofence, pointer, message] of cases) {
      const res = await admin.request('POST', '/api/v1/farms', { body: { name: 'Bad', geofence } });
      assert.equal(res.status, 422, JSON.stringify(geofence));
      assert.ok(pointers(res).includes(pointer), `${pointer} in ${JSON.stringify(res.body.problems)}`);
      assert.match(res.body.message, message);
    }
    const [{ n }] = (await ctx.db
      .sql`SELECT count(*)::int AS n FROM farms WHERE name = 'Bad'`) as unknown as [{ n: number }];
    assert.equal(n, 0);
  });

  test('technicians of the farm edit its geofence; a farm with data cannot be deleted', async () => {
    const tech = await as('techa@example.com');
    const res = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { geofence: squareAround(-79, 43, 0.02) },
    });
    assert.equal(res.status, 200);
    assert.ok(Math.abs(res.body.centroid.lon + 79) < 1e-9);
    await seedScan(ctx.db.sql, { farmId: f.A, deviceId: await seedDevice(ctx.db.sql, 'dev-geo') });
    const del = await (await as('admin@example.com')).request('DELETE', `/api/v1/farms/${f.A}`);
    assert.equal(del.status, 409);
    assert.equal(del.body.error, 'farm_in_use');
  });
});

describe('animals', () => {
  test('tag_id unique per farm, EID unique everywhere and 15 digits — 409/422 naming the field', async () => {
    const tech = await as('techab@example.com');
    const first = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: 'A-1', eid: '982000123456789', sex: 'heifer', birth_date: '2024-03-01' },
    });
    assert.equal(first.status, 201);
    const sameTag = await tech.request('POST', '/api/v1/animals', { body: { farm_id: f.A, tag_id: 'A-1' } });
    assert.equal(sameTag.status, 409);
    assert.deepEqual(pointers(sameTag), ['/tag_id']);
    assert.equal(
      (await tech.request('POST', '/api/v1/animals', { body: { farm_id: f.B, tag_id: 'A-1' } })).status,
      201,
      'same tag on another farm',
    );
    const sameEid = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.B, tag_id: 'B-9', eid: '982000123456789' },
    });
    assert.equal(sameEid.status, 409);
    assert.deepEqual(pointers(sameEid), ['/eid']);
    const bad = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: ' ', eid: '12', sex: 'x', birth_date: '2024-13-01' },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(pointers(bad).sort(), ['/birth_date', '/eid', '/sex', '/tag_id']);
    // RFC 3339 has a year 0000; Postgres has none (it answered 500).
    const yearZero = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: 'A-0', birth_date: '0000-01-01' },
    });
    assert.equal(yearZero.status, 422);
    assert.deepEqual(pointers(yearZero), ['/birth_date']);
    // A typo'd century or a day to come is no birth date (it fell in no group's window, skewed ages).
    const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    for (const birth_date of ['0001-01-01', '1949-12-31', tomorrow]) {
      const odd = await tech.request('POST', '/api/v1/animals', {
        body: { farm_id: f.A, tag_id: `A-${birth_date}`, birth_date },
      });
      assert.equal(odd.status, 422, birth_date);
      assert.deepEqual(pointers(odd), ['/birth_date']);
    }
    const ok = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: 'A-TODAY', birth_date: new Date().toISOString().slice(0, 10) },
    });
    assert.equal(ok.status, 201);
    const later = await tech.request('PATCH', `/api/v1/animals/${ok.body.id}`, {
      body: { birth_date: tomorrow },
    });
    assert.equal(later.status, 422);
    assert.deepEqual(pointers(later), ['/birth_date']);
  });

  test('q: a tag prefix in any case, or an EID as typed or as a reader prints it', async () => {
    const tech = await as('techab@example.com');
    const made = await tech.request('POST', '/api/v1/animals', {
      body: { farm_id: f.A, tag_id: 'QZ-17', eid: '124000000000717' },
    });
    assert.equal(made.status, 201);
    const found = async (q: string) =>
      (await tech.request('GET', `/api/v1/animals?q=${encodeURIComponent(q)}`)).body.items.map(
        (a: { id: string }) => a.id,
      );
    for (const q of [
      'QZ-1',
      'qz-17',
      'Qz',
      '124000000000717',
      '124 000000000717',
      'LA 124.000000000717 FDX-B',
    ]) {
      assert.deepEqual(await found(q), [made.body.id], q);
    }
    for (const q of ['Z-17', '124000000000718', '24000000000717']) assert.deepEqual(await found(q), [], q);
  });

  test('moving an animal needs rights on both farms (the closest system let a farmer move any animal)', async () => {
    const sql = ctx.db.sql;
    const [animalB] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.B}, 'B-MOVE') RETURNING id`;
    const [animalA] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.A}, 'A-MOVE') RETURNING id`;
    const farmer = await as('owner@example.com');
    const steal = await farmer.request('PATCH', `/api/v1/animals/${animalB!.id}`, { body: { farm_id: f.A } });
    assert.equal(steal.status, 404, 'another farm’s animal does not exist for this farmer');
    assert.equal(
      (await farmer.request('PATCH', `/api/v1/animals/${animalA!.id}`, { body: { breed: 'Angus' } })).status,
      403,
    );
    const techA = await as('techa@example.com');
    const away = await techA.request('PATCH', `/api/v1/animals/${animalA!.id}`, { body: { farm_id: f.B } });
    assert.equal(away.status, 422);
    assert.deepEqual(pointers(away), ['/farm_id']);
    const pull = await techA.request('PATCH', `/api/v1/animals/${animalB!.id}`, { body: { farm_id: f.A } });
    assert.equal(pull.status, 404);
    const rows =
      await sql`SELECT farm_id FROM animals WHERE id IN (${animalA!.id}, ${animalB!.id}) ORDER BY tag_id`;
    assert.deepEqual(
      rows.map((r) => r.farm_id),
      [f.A, f.B],
      'nothing moved',
    );
    // A technician of both farms may; the animal leaves the old farm's groups, its scans stay.
    const [group] =
      await sql`INSERT INTO contemporary_groups (farm_id, name) VALUES (${f.A}, 'Spring') RETURNING id`;
    await sql`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${group!.id}, ${animalA!.id})`;
    const scan = await seedScan(sql, {
      farmId: f.A,
      deviceId: await seedDevice(sql, 'dev-move'),
      animalId: animalA!.id,
    });
    const moved = await (await as('techab@example.com')).request('PATCH', `/api/v1/animals/${animalA!.id}`, {
      body: { farm_id: f.B },
    });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.farm.id, f.B);
    assert.deepEqual(moved.body.groups, []);
    const [s] = await sql`SELECT farm_id FROM scans WHERE id = ${scan}`;
    assert.equal(s!.farm_id, f.A);
    assert.equal(
      (await (await as('ownerb@example.com')).request('GET', `/api/v1/scans/${scan}`)).status,
      404,
      'moving the animal exposes no scans',
    );
  });

  test('an animal moved to a farm the user cannot see shows nothing of that farm on the old farm’s scans, lists, reports and exports', async () => {
    const sql = ctx.db.sql;
    const [animal] =
      await sql`INSERT INTO animals (farm_id, tag_id, eid, sex, breed) VALUES (${f.A}, 'A-LEAVES', '982000000000001', 'heifer', 'Angus') RETURNING id`;
    const scan = await seedScan(sql, {
      farmId: f.A,
      deviceId: await seedDevice(sql, 'dev-leaves'),
      animalId: animal!.id,
    });
    const farmerA = await as('owner@example.com');
    const before = await farmerA.request('GET', `/api/v1/scans/${scan}`);
    assert.deepEqual(before.body.animal, { id: animal!.id, tag_id: 'A-LEAVES', eid: '982000000000001' });
    // A technician of both farms moves it to farm B; farm B renames it.
    const techAB = await as('techab@example.com');
    const moved = await techAB.request('PATCH', `/api/v1/animals/${animal!.id}`, { body: { farm_id: f.B } });
    assert.equal(moved.status, 200);
    const edit = await techAB.request('PATCH', `/api/v1/animals/${animal!.id}`, {
      body: { tag_id: 'B-SECRET', eid: '982000000000777', breed: 'NewOwnerBreed', sex: 'steer' },
    });
    assert.equal(edit.status, 200);
    assert.equal((await farmerA.request('GET', `/api/v1/animals/${animal!.id}`)).status, 404);
    const detail = await farmerA.request('GET', `/api/v1/scans/${scan}`);
    assert.equal(detail.status, 200, 'the scan stays on farm A');
    assert.equal(detail.body.animal, null, 'farm B’s animal record is not shown on farm A');
    const list = await farmerA.request('GET', `/api/v1/scans?farm_id=${f.A}&limit=200`);
    const item = list.body.items.find((i: { id: string }) => i.id === scan);
    assert.equal(item.animal, null);
    const csv = await farmerA.request('GET', `/api/v1/exports/scans.csv?farm_id=${f.A}`);
    assert.equal(csv.status, 200);
    assert.ok(csv.text.includes(scan), 'the scan is exported');
    for (const secret of ['B-SECRET', '982000000000777', 'NewOwnerBreed', 'steer', animal!.id])
      assert.ok(!csv.text.includes(secret), `the CSV holds nothing of farm B's animal (${secret})`);
    const geo = await farmerA.request('GET', `/api/v1/exports/scans.geojson?farm_id=${f.A}`);
    assert.ok(!geo.text.includes('B-SECRET') && !geo.text.includes(animal!.id));
    const report = await farmerA.request('GET', `/api/v1/reports/farms/${f.A}`);
    assert.equal(report.status, 200);
    assert.ok(!report.text.includes('B-SECRET') && !report.text.includes(animal!.id));
    // Someone who can read farm B (the technician of both farms) still sees the animal on the scan.
    const both = await techAB.request('GET', `/api/v1/scans/${scan}`);
    assert.equal(both.body.animal.tag_id, 'B-SECRET');
  });
});

describe('contemporary groups', () => {
  test('members must be of the group’s farm and born inside its window', async () => {
    const tech = await as('techab@example.com');
    const g = await tech.request('POST', '/api/v1/groups', {
      body: {
        farm_id: f.A,
        name: '2024 heifers',
        birth_date_from: '2024-01-01',
        birth_date_to: '2024-06-30',
      },
    });
    assert.equal(g.status, 201);
    const sql = ctx.db.sql;
    const [inWindow] =
      await sql`INSERT INTO animals (farm_id, tag_id, birth_date) VALUES (${f.A}, 'G-1', '2024-02-02') RETURNING id`;
    const [late] =
      await sql`INSERT INTO animals (farm_id, tag_id, birth_date) VALUES (${f.A}, 'G-2', '2024-09-09') RETURNING id`;
    const [elsewhere] = await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.B}, 'G-3') RETURNING id`;
    const ok = await tech.request('PUT', `/api/v1/groups/${g.body.id}/animals/${inWindow!.id}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(
      ok.body.animals.map((a: { tag_id: string }) => a.tag_id),
      ['G-1'],
    );
    const out = await tech.request('PUT', `/api/v1/groups/${g.body.id}/animals/${late!.id}`);
    assert.equal(out.status, 422);
    assert.match(out.body.message, /outside the group's window/);
    assert.equal(
      (await tech.request('PUT', `/api/v1/groups/${g.body.id}/animals/${elsewhere!.id}`)).status,
      422,
    );
    const window = await tech.request('PATCH', `/api/v1/groups/${g.body.id}`, {
      body: { birth_date_from: '2025-01-01' },
    });
    assert.equal(window.status, 422, 'from after to');
    const dup = await tech.request('POST', '/api/v1/groups', {
      body: { farm_id: f.A, name: '2024 heifers' },
    });
    assert.equal(dup.status, 409);
    const scans = await tech.request('GET', `/api/v1/scans?group_id=${g.body.id}`);
    assert.equal(scans.status, 200);
  });

  test('the window holds on every write: a narrower window or a birth date outside it is a 422 naming the field and the animals/group', async () => {
    const tech = await as('techa@example.com');
    const sql = ctx.db.sql;
    const g = await tech.request('POST', '/api/v1/groups', {
      body: { farm_id: f.A, name: 'W-2024', birth_date_from: '2024-01-01', birth_date_to: '2024-12-31' },
    });
    assert.equal(g.status, 201);
    const animal = async (tag: string, born: string | null) =>
      (
        await tech.request('POST', '/api/v1/animals', {
          body: { farm_id: f.A, tag_id: tag, birth_date: born },
        })
      ).body.id as string;
    const june = await animal('WIN-1', '2024-06-01');
    const unknown = await animal('WIN-2', null);
    for (const id of [june, unknown])
      assert.equal((await tech.request('PUT', `/api/v1/groups/${g.body.id}/animals/${id}`)).status, 200);
    const window = () =>
      sql`SELECT birth_date_from::text AS f, birth_date_to::text AS t FROM contemporary_groups WHERE id = ${g.body.id}`;
    const born = async (id: string) =>
      (await sql`SELECT birth_date::text AS b FROM animals WHERE id = ${id}`)[0]!.b;

    const moved = await tech.request('PATCH', `/api/v1/animals/${june}`, {
      body: { birth_date: '2020-01-01' },
    });
    assert.equal(moved.status, 422);
    assert.deepEqual(pointers(moved), ['/birth_date']);
    assert.match(
      moved.body.message,
      /outside the birth-date window of the animal's group "W-2024" \(2024-01-01 – 2024-12-31\)/,
    );
    assert.equal(await born(june), '2024-06-01', 'nothing written');

    const filled = await tech.request('PATCH', `/api/v1/animals/${unknown}`, {
      body: { birth_date: '2023-05-05' },
    });
    assert.equal(filled.status, 422, 'an unknown birth date filled in later is checked too');
    assert.equal(await born(unknown), null);
    const fine = await tech.request('PATCH', `/api/v1/animals/${unknown}`, {
      body: { birth_date: '2024-03-03' },
    });
    assert.equal(fine.status, 200);

    const narrower = await tech.request('PATCH', `/api/v1/groups/${g.body.id}`, {
      body: { birth_date_from: '2024-04-01', birth_date_to: '2024-05-01' },
    });
    assert.equal(narrower.status, 422);
    assert.deepEqual(pointers(narrower), ['/birth_date_from', '/birth_date_to']);
    assert.match(narrower.body.message, /\/birth_date_from would leave out .*WIN-2 \(born 2024-03-03\)/);
    assert.match(narrower.body.message, /\/birth_date_to would leave out .*WIN-1 \(born 2024-06-01\)/);
    assert.deepEqual([...(await window())], [{ f: '2024-01-01', t: '2024-12-31' }], 'nothing written');
    const renamed = await tech.request('PATCH', `/api/v1/groups/${g.body.id}`, {
      body: { name: 'W-2024 spring', birth_date_to: '2024-06-30' },
    });
    assert.equal(renamed.status, 200, 'a window that still holds every member is fine');
    assert.equal(renamed.body.birth_date_to, '2024-06-30');
    const removed = await tech.request('DELETE', `/api/v1/groups/${g.body.id}/animals/${june}`);
    assert.ok(removed.status < 300);
    const moved2 = await tech.request('PATCH', `/api/v1/animals/${june}`, {
      body: { birth_date: '2020-01-01' },
    });
    assert.equal(moved2.status, 200, 'out of the group, its birth date is its own');

    // Locked, not only checked: while another transaction holds the group and narrows its window, a
    // birth-date change waits for it and is then judged against the new window.
    // Each step waits for the one before it (not a fixed sleep): the group locked and narrowed, then
    // the PATCH waiting on that lock — on a loaded machine 100 ms did not always see the lock taken.
    let narrowed!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const held = sql.begin(async (tx) => {
      await tx`SELECT 1 FROM contemporary_groups WHERE id = ${g.body.id} FOR UPDATE`;
      await tx`UPDATE contemporary_groups SET birth_date_to = '2024-03-31' WHERE id = ${g.body.id}`;
      await new Promise<void>((r) => {
        narrowed = r;
        locked();
      });
    });
    await isLocked;
    const racing = tech.request('PATCH', `/api/v1/animals/${unknown}`, {
      body: { birth_date: '2024-06-15' },
    });
    await waitFor(
      async () =>
        (
          await sql`SELECT count(*)::int AS n FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'`
        )[0]!.n > 0,
      { what: 'the PATCH waiting on the locked group' },
    );
    narrowed();
    await held;
    const raced = await racing;
    assert.equal(raced.status, 422, 'judged against the window committed before it');
    assert.equal(await born(unknown), '2024-03-03');
  });
});

describe('farm membership', () => {
  test('an admin links a user in the role they name (linked_as); a user holding both roles must be told which', async () => {
    const sql = ctx.db.sql;
    const farm = await seedFarm(sql, 'Linked-as farm');
    const both = await seedUser(sql, 'both-roles@example.com', ['farmer', 'technician']);
    const tech = await seedUser(sql, 'only-tech@example.com', ['technician']);
    const admin = await as('admin@example.com');
    const add = (body: Record<string, unknown>) =>
      admin.request('POST', `/api/v1/farms/${farm}/members`, { body });
    const unsaid = await add({ user_id: both.id });
    assert.equal(unsaid.status, 422);
    assert.equal(unsaid.body.problems[0].pointer, '/linked_as');
    const notHeld = await add({ user_id: tech.id, linked_as: 'farmer' });
    assert.equal(notHeld.status, 422);
    assert.equal(notHeld.body.problems[0].message, 'this user does not hold the farmer role');
    const ownerAsTech = await add({ user_id: both.id, linked_as: 'technician', is_owner: true });
    assert.equal(ownerAsTech.status, 422);
    assert.equal(ownerAsTech.body.problems[0].pointer, '/is_owner');
    assert.equal((await sql`SELECT 1 FROM user_farms WHERE farm_id = ${farm}`).length, 0, 'nothing written');

    assert.equal((await add({ user_id: tech.id })).status, 200, 'one role: the link is made in it');
    assert.equal((await add({ user_id: both.id, linked_as: 'technician' })).status, 200);
    const owned = await add({ user_id: both.id, is_owner: true });
    assert.equal(owned.status, 200, 'an owner: a farmer link');
    const view = (items: { email: string; linked_as: string[]; is_owner: boolean }[]) =>
      items.map((m) => [m.email, m.linked_as, m.is_owner]);
    assert.deepEqual(view(owned.body.items), [
      ['both-roles@example.com', ['farmer', 'technician'], true],
      ['only-tech@example.com', ['technician'], false],
    ]);
    const techOwner = await admin.request('PATCH', `/api/v1/farms/${farm}/members/${tech.id}`, {
      body: { is_owner: true },
    });
    assert.equal(techOwner.status, 422, 'only farmers own');
    // Removing one link leaves the other; without linked_as an admin removes every link.
    const one = await admin.request(
      'DELETE',
      `/api/v1/farms/${farm}/members/${both.id}?linked_as=technician`,
    );
    assert.equal(one.status, 204);
    const again = await admin.request(
      'DELETE',
      `/api/v1/farms/${farm}/members/${both.id}?linked_as=technician`,
    );
    assert.equal(again.status, 404, 'no such link any more');
    const left = await admin.request('GET', `/api/v1/farms/${farm}/members`);
    assert.deepEqual(view(left.body.items), [
      ['both-roles@example.com', ['farmer'], true],
      ['only-tech@example.com', ['technician'], false],
    ]);
    const bad = await admin.request('DELETE', `/api/v1/farms/${farm}/members/${tech.id}?linked_as=owner`);
    assert.equal(bad.status, 422);
    assert.equal((await admin.request('DELETE', `/api/v1/farms/${farm}/members/${tech.id}`)).status, 204);
  });

  test('an owner adds and removes technicians only; never the last owner', async () => {
    const owner = await as('owner@example.com');
    const tech = await seedUser(ctx.db.sql, 'newtech@example.com', ['technician']);
    const farmer = await seedUser(ctx.db.sql, 'newfarmer@example.com', ['farmer']);
    const added = await owner.request('POST', `/api/v1/farms/${f.A}/members`, {
      body: { email: 'NewTech@example.com' },
    });
    assert.equal(added.status, 200);
    assert.ok(added.body.items.some((m: { user_id: string }) => m.user_id === tech.id));
    assert.equal(
      (await owner.request('POST', `/api/v1/farms/${f.A}/members`, { body: { email: farmer.email } })).status,
      422,
      'a farmer who is not a member is "no such technician", like an unknown email',
    );
    assert.equal(
      (
        await owner.request('POST', `/api/v1/farms/${f.A}/members`, {
          body: { email: tech.email, is_owner: true },
        })
      ).status,
      403,
    );
    assert.equal(
      (await owner.request('POST', `/api/v1/farms/${f.A}/members`, { body: { email: 'ghost@example.com' } }))
        .status,
      422,
    );
    assert.equal((await owner.request('DELETE', `/api/v1/farms/${f.A}/members/${tech.id}`)).status, 204);
    assert.equal(
      (await owner.request('DELETE', `/api/v1/farms/${f.A}/members/${f.owner}`)).status,
      403,
      'owners remove technicians only',
    );
    const admin = await as('admin@example.com');
    const last = await admin.request('DELETE', `/api/v1/farms/${f.A}/members/${f.owner}`);
    assert.equal(last.status, 409);
    assert.equal(last.body.error, 'last_owner');
    assert.equal(
      (await admin.request('PATCH', `/api/v1/farms/${f.A}/members/${f.owner}`, { body: { is_owner: false } }))
        .status,
      409,
    );
    await admin.request('POST', `/api/v1/farms/${f.A}/members`, {
      body: { user_id: farmer.id, is_owner: true },
    });
    assert.equal(
      (await admin.request('DELETE', `/api/v1/farms/${f.A}/members/${f.owner}`)).status,
      204,
      'another owner remains',
    );
  });

  test('an owner cannot tell who has an account: a farmer, an admin, a disabled technician and an unknown address get the same 422', async () => {
    const sql = ctx.db.sql;
    const farm = await seedFarm(sql, 'Quiet');
    await seedUser(sql, 'quiet-owner@example.com', ['farmer'], { farms: [{ id: farm, owner: true }] });
    const owner = await as('quiet-owner@example.com');
    const farmer = await seedUser(sql, 'quiet-farmer@example.com', ['farmer']);
    const gone = await seedUser(sql, 'gone-tech@example.com', ['technician']);
    await sql`UPDATE users SET status = 'disabled' WHERE id = ${gone.id}`;
    const answers = [];
    for (const body of [
      { email: farmer.email },
      { email: 'admin@example.com' },
      { email: gone.email },
      { email: 'nobody-at-all@example.com' },
      { user_id: farmer.id },
      { user_id: f.admin },
      { user_id: '00000000-0000-4000-8000-000000000000' },
    ]) {
      const res = await owner.request('POST', `/api/v1/farms/${farm}/members`, { body });
      const pointer = 'email' in body ? '/email' : '/user_id';
      answers.push([res.status, res.body.error, res.body.message, res.body.problems]);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.problems[0].pointer, pointer, JSON.stringify(body));
    }
    const byEmail = answers.slice(0, 4).map((a) => JSON.stringify(a));
    assert.equal(new Set(byEmail).size, 1, `one answer by email: ${byEmail.join(' | ')}`);
    const byId = answers.slice(4).map((a) => JSON.stringify(a));
    assert.equal(new Set(byId).size, 1, `one answer by id: ${byId.join(' | ')}`);
    // Naming an owner is still refused as such, whoever the target is; and nothing was linked.
    const asOwner = await owner.request('POST', `/api/v1/farms/${farm}/members`, {
      body: { email: 'nobody-at-all@example.com', is_owner: true },
    });
    assert.equal(asOwner.status, 403);
    const [linked] = await sql`
      SELECT count(*)::int AS n FROM user_farms WHERE farm_id = ${farm} AND user_id IN (${farmer.id}, ${f.admin}, ${gone.id})`;
    assert.equal(linked!.n, 0);
  });

  test('the last ACTIVE owner is neither removed nor demoted while only a disabled owner remains (409, nothing written)', async () => {
    const sql = ctx.db.sql;
    const farm = await seedFarm(sql, 'Two owners');
    const active = await seedUser(sql, 'active-owner@example.com', ['farmer'], {
      farms: [{ id: farm, owner: true }],
    });
    const disabled = await seedUser(sql, 'disabled-owner@example.com', ['farmer'], {
      farms: [{ id: farm, owner: true }],
    });
    await sql`UPDATE users SET status = 'disabled' WHERE id = ${disabled.id}`;
    const owners = async () =>
      (
        await sql<{ user_id: string }[]>`
          SELECT user_id FROM user_farms WHERE farm_id = ${farm} AND is_owner ORDER BY user_id`
      ).map((r) => r.user_id);
    const before = await owners();
    const admin = await as('admin@example.com');
    const attempts = [
      await admin.request('DELETE', `/api/v1/farms/${farm}/members/${active.id}`),
      await admin.request('PATCH', `/api/v1/farms/${farm}/members/${active.id}`, {
        body: { is_owner: false },
      }),
      await admin.request('POST', `/api/v1/farms/${farm}/members`, {
        body: { user_id: active.id, is_owner: false },
      }),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 409);
      assert.equal(res.body.error, 'last_owner');
    }
    assert.deepEqual(await owners(), before, 'nothing written');
    const [link] = await sql`SELECT 1 FROM user_farms WHERE farm_id = ${farm} AND user_id = ${active.id}`;
    assert.ok(link, 'still a member');

    // A second ACTIVE owner: demoting and removing the first is allowed, and the disabled one may go.
    const second = await seedUser(sql, 'second-owner@example.com', ['farmer']);
    const named = await admin.request('POST', `/api/v1/farms/${farm}/members`, {
      body: { user_id: second.id, is_owner: true },
    });
    assert.equal(named.status, 200);
    const demoted = await admin.request('PATCH', `/api/v1/farms/${farm}/members/${active.id}`, {
      body: { is_owner: false },
    });
    assert.equal(demoted.status, 200);
    assert.equal((await admin.request('DELETE', `/api/v1/farms/${farm}/members/${active.id}`)).status, 204);
    assert.equal((await admin.request('DELETE', `/api/v1/farms/${farm}/members/${disabled.id}`)).status, 204);
    assert.deepEqual(await owners(), [second.id]);
  });

  test('a farm owner re-adding a co-owner who is also a technician adds a technician link; the ownership stays', async () => {
    const sql = ctx.db.sql;
    const farm = await seedFarm(sql, 'Co-owned');
    await seedUser(sql, 'co-owner-1@example.com', ['farmer'], { farms: [{ id: farm, owner: true }] });
    const both = await seedUser(sql, 'co-owner-2@example.com', ['farmer', 'technician'], {
      farms: [{ id: farm, owner: true, as: 'farmer' }],
    });
    const owner = await as('co-owner-1@example.com');
    const res = await owner.request('POST', `/api/v1/farms/${farm}/members`, { body: { email: both.email } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const member = res.body.items.find((m: { email: string }) => m.email === both.email);
    assert.deepEqual([member.linked_as, member.is_owner], [['farmer', 'technician'], true]);
    const rows = await sql`
      SELECT role, is_owner FROM user_farms WHERE farm_id = ${farm} AND user_id = ${both.id} ORDER BY role`;
    assert.deepEqual(
      rows.map((r) => [r.role, r.is_owner]),
      [
        ['farmer', true],
        ['technician', false],
      ],
      'still an owner (the farmer link), now also its technician',
    );
    // Owners remove technician links only: the farmer link (and ownership) is an admin's.
    const farmerLink = await owner.request(
      'DELETE',
      `/api/v1/farms/${farm}/members/${both.id}?linked_as=farmer`,
    );
    assert.equal(farmerLink.status, 403);
    assert.equal((await owner.request('DELETE', `/api/v1/farms/${farm}/members/${both.id}`)).status, 204);
    const left =
      await sql`SELECT role, is_owner FROM user_farms WHERE farm_id = ${farm} AND user_id = ${both.id}`;
    assert.deepEqual(
      left.map((r) => [r.role, r.is_owner]),
      [['farmer', true]],
    );
  });
});
