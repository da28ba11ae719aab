import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type ScanListRow, scanListJsonQuery, scanListQuery } from '../access/scan-list-query.ts';
import type { Principal } from '../auth/principal.ts';
import { testPrincipal } from '../auth/test-principal.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser } from '../test-seed.ts';
import { scanListItemJson } from './scan-views.ts';

// The API's list items are written as JSON by Postgres (scanListItemJson). They must carry the very
// values of the list row the pages read (scanListQuery) mapped to the documented item: nested device,
// farm and animal, a missing farm/animal name as '', review, the latest grading with `manual`, its
// reasons ([] for none) and measures (null when missing or JSON null, never 0).

let db: TestDatabase;
const principal = testPrincipal;
let admin: Principal;
let farmer: Principal;

/** The documented item of a list row (the mapping the API did in JS before Postgres wrote it). */
const expectedItem = (r: ScanListRow) => ({
  id: r.id,
  scan_ref: r.scan_ref,
  capture_id: r.capture_id,
  captured_at: r.captured_at,
  created_at: r.created_at,
  status: r.status,
  device: { id: r.device_id, device_code: r.device_code, label: r.device_label },
  farm: r.farm_id === null ? null : { id: r.farm_id, name: r.farm_name ?? '' },
  animal: r.animal_id === null ? null : { id: r.animal_id, tag_id: r.animal_tag_id ?? '' },
  animal_eid: r.animal_eid,
  gps: r.gps,
  review: {
    label: r.review_label,
    clarity: r.review_clarity,
    usability: r.review_usability,
    reviewed_at: r.reviewed_at,
  },
  image_asset_id: r.image_asset_id,
  latest_grading:
    r.grading_id === null
      ? null
      : {
          id: r.grading_id,
          grade: r.grade,
          grade_reasons: r.grade_reasons ?? [],
          confidence: r.confidence,
          model_name: r.model_name ?? '',
          model_version: r.model_version ?? '',
          manual: r.graded_by !== null,
          created_at: r.graded_at,
          rea_cm2: r.rea_cm2,
          fat_thickness_mm: r.fat_thickness_mm,
        },
});

before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  const north = await seedFarm(sql, 'North “quoted” \\ farm');
  const dev = await seedDevice(sql, 'dev-1', north);
  await sql`UPDATE devices SET label = 'Chute "2"' WHERE id = ${dev}`;
  const tech = await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: north }] });
  admin = principal((await seedUser(sql, 'admin@example.com', ['admin'])).id, ['admin']);
  farmer = principal(
    (await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: north, owner: true }] })).id,
    ['farmer'],
  );
  const [animal] = await sql<{ id: string }[]>`
    INSERT INTO animals (farm_id, tag_id) VALUES (${north}, 'N-7') RETURNING id`;
  const base = Date.parse('2025-09-09T12:00:00Z');
  const at = (i: number) => new Date(base + i * 60_000).toISOString();
  const s: string[] = [];
  for (let i = 0; i < 8; i++)
    s.push(
      await seedScan(sql, {
        farmId: i === 7 ? null : north,
        deviceId: dev,
        capturedAt: i === 6 ? null : at(i),
        gps: i % 2 ? null : { lon: -79.38123456789, lat: 43.6500000001 },
        animalId: i === 2 ? animal!.id : null,
        image: i === 3 ? { bucket: 'b', key: 'k/image.png', sha256: 'a'.repeat(64), size: 10 } : null,
      }),
    );
  await seedGrading(sql, s[0]!, { grade: 'A', confidence: 0.1234 });
  await seedGrading(sql, s[1]!, { grade: 'R' }); // reasons ['too_dark']
  await seedGrading(sql, s[2]!, { grade: null, features: { rea_cm2: null, fat_thickness_mm: 'n/a' } });
  await seedGrading(sql, s[3]!, { grade: 'M', features: { rea_cm2: 81.5, fat_thickness_mm: null } });
  await seedGrading(sql, s[3]!, { grade: 'A', createdBy: tech.id, features: { rea_cm2: 83 } });
  await sql`UPDATE scans SET review_label = 'blurry "edge"', review_clarity = 4, review_usability = 'marginal',
                             reviewed_at = now(), animal_eid = '982000123456789' WHERE id = ${s[4]!}`;
  await sql`UPDATE scans SET status = 'error' WHERE id = ${s[5]!}`;
});
after(async () => {
  await db?.drop();
});

async function compare(p: Principal, opts: { limit: number; after?: { sortUs: string; id: string } }) {
  const rows = await scanListQuery(db.sql, p, {}, opts);
  const items = await scanListJsonQuery(db.sql, p, {}, opts, scanListItemJson(db.sql));
  assert.deepEqual(
    items.map((i) => ({ id: i.id, sort_us: i.sort_us })),
    rows.map((r) => ({ id: r.id, sort_us: r.sort_us })),
    'same page, same order, same cursor values',
  );
  for (const [n, item] of items.entries()) assert.deepEqual(JSON.parse(item.item), expectedItem(rows[n]!));
  return rows;
}

test('the JSON items Postgres writes are the rows of the list mapped to the documented item', async () => {
  const all = await compare(admin, { limit: 50 });
  assert.equal(all.length, 8);
  const graded = all.filter((r) => r.grading_id !== null);
  assert.equal(graded.length, 4, 'ungraded, manual, reasons and missing measures are all covered');
  const manual = JSON.parse(
    (await scanListJsonQuery(db.sql, admin, {}, { limit: 50 }, scanListItemJson(db.sql))).find(
      (i) => JSON.parse(i.item).latest_grading?.manual,
    )!.item,
  );
  assert.equal(manual.latest_grading.rea_cm2, 83);
  assert.equal(manual.latest_grading.fat_thickness_mm, null, 'absent, not 0');
  const first = await compare(farmer, { limit: 3 });
  await compare(farmer, { limit: 3, after: { sortUs: first.at(-1)!.sort_us, id: first.at(-1)!.id } });
});
