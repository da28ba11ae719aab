// Test helper (excluded from the build): one farm day whose report figures are computed by hand in
// report-api.test.ts — several scans per animal, R grades, a result without grade, a missing fat
// thickness, an ungraded scan, scans not linked to an animal, a late-evening scan that is the next day
// in UTC, and scans just outside the day. The farm is in Toronto (EDT, UTC−4, in September).
import type { Sql } from 'postgres';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser } from '../test-seed.ts';

export type ReportSeed = Awaited<ReturnType<typeof seedReportFarm>>;

/** 2025-09-09 at `hhmm` Toronto time (EDT) as UTC ISO; `dayOffset` moves the local day. */
export const toronto = (hhmm: string, dayOffset = 0) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(Date.UTC(2025, 8, 9 + dayOffset, h + 4, m)).toISOString();
};

export async function seedReportFarm(sql: Sql) {
  const farm = await seedFarm(sql, 'Report Farm', { lon: -79.38, lat: 43.65 });
  const other = await seedFarm(sql, 'Other Farm', { lon: -80.5, lat: 42.9 });
  const dev1 = await seedDevice(sql, 'dev-east', farm);
  const dev2 = await seedDevice(sql, 'dev-west', farm);
  const devOther = await seedDevice(sql, 'dev-other', other);
  const animal = async (tag: string, sex: string | null, farmId = farm) =>
    (
      await sql<
        { id: string }[]
      >`INSERT INTO animals (farm_id, tag_id, sex) VALUES (${farmId}, ${tag}, ${sex}) RETURNING id`
    )[0]!.id;
  const a = {
    S1: await animal('101', 'steer'),
    S2: await animal('102', 'steer'),
    S3: await animal('103', 'steer'),
    H1: await animal('201', 'heifer'),
    H2: await animal('202', 'heifer'),
    U1: await animal('301', null),
    X: await animal('401', 'steer'),
  };
  type G = { grade: 'A' | 'M' | 'R' | null; rea?: number | null; fat?: number | null; at?: string };
  const scan = async (deviceId: string, at: string, animalId: string | null, ...results: G[]) => {
    const id = await seedScan(sql, { farmId: farm, deviceId, capturedAt: at, animalId });
    for (const [i, r] of results.entries()) {
      await seedGrading(sql, id, {
        grade: r.grade,
        features: { rea_cm2: r.rea ?? null, fat_thickness_mm: r.fat ?? null, pixel_spacing_mm: 0.2 },
        createdAt: r.at ?? new Date(Date.parse(at) + (i + 1) * 60_000).toISOString(),
      });
    }
    return id;
  };
  const s = {
    a1: await scan(dev1, toronto('10:00'), a.S1, { grade: 'A', rea: 80, fat: 6 }),
    a2: await scan(dev1, toronto('11:00'), a.S1, { grade: 'M', rea: 84, fat: 7 }),
    // An older A, then the latest result R: the scan is a reject.
    a3: await scan(
      dev1,
      toronto('12:00'),
      a.S1,
      { grade: 'A', rea: 91, fat: 9 },
      { grade: 'R', rea: 90, fat: 9 },
    ),
    b1: await scan(dev1, toronto('09:00'), a.S2, { grade: 'A', rea: 72, fat: 5 }),
    // 23:30 in Toronto is 03:30 UTC the next day: still 2025-09-09 on the farm.
    b2: await scan(dev1, toronto('23:30'), a.S2, { grade: 'M', rea: 76, fat: 6 }),
    // An older R, then a newer A without fat thickness (the latest counts; FT is missing).
    c1: await scan(
      dev1,
      toronto('09:30'),
      a.S3,
      { grade: 'R', rea: 50, fat: 3 },
      { grade: 'A', rea: 78, fat: null },
    ),
    d1: await scan(dev2, toronto('10:30'), a.H1, { grade: 'A', rea: 70, fat: 8 }),
    e1: await scan(dev2, toronto('10:45'), a.H2, { grade: 'R', rea: 60, fat: 4 }),
    f1: await scan(dev2, toronto('13:00'), a.U1, { grade: 'A', rea: 66, fat: 6 }),
    g1: await scan(dev2, toronto('14:00'), null, { grade: 'A', rea: 75, fat: 5.5 }),
    h1: await scan(dev2, toronto('15:00'), null),
    i1: await scan(dev2, toronto('15:30'), null, { grade: null, rea: 99, fat: 9 }),
    // Outside 2025-09-09 on the farm: 00:30 the next day, 23:00 the day before.
    next: await scan(dev1, toronto('00:30', 1), a.S1, { grade: 'A', rea: 88, fat: 8 }),
    before: await scan(dev1, toronto('23:00', -1), a.S3, { grade: 'A', rea: 100, fat: 10 }),
  };
  const otherAnimal = await animal('101', 'steer', other);
  const otherScan = await seedScan(sql, {
    farmId: other,
    deviceId: devOther,
    capturedAt: toronto('10:00'),
    animalId: otherAnimal,
  });
  await seedGrading(sql, otherScan, { grade: 'A', features: { rea_cm2: 500, fat_thickness_mm: 50 } });
  const [group] = await sql<{ id: string }[]>`
    INSERT INTO contemporary_groups (farm_id, name) VALUES (${farm}, 'Spring calves') RETURNING id`;
  for (const id of [a.S1, a.S2, a.H1, a.X])
    await sql`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${group!.id}, ${id})`;
  const [otherGroup] = await sql<{ id: string }[]>`
    INSERT INTO contemporary_groups (farm_id, name) VALUES (${other}, 'Theirs') RETURNING id`;
  const users = {
    farmer: await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm, owner: true }] }),
    stranger: await seedUser(sql, 'stranger@example.com', ['farmer'], {
      farms: [{ id: other, owner: true }],
    }),
    tech: await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: farm }] }),
    otherTech: await seedUser(sql, 'othertech@example.com', ['technician'], { farms: [{ id: other }] }),
    admin: await seedUser(sql, 'admin@example.com', ['admin']),
  };
  return {
    farm,
    other,
    dev1,
    dev2,
    animals: a,
    scans: s,
    group: group!.id,
    otherGroup: otherGroup!.id,
    otherScan,
    users,
  };
}
