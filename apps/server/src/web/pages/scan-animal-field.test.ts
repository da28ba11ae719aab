import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedDevice, seedFarm, seedScan, seedUser } from '../../test-seed.ts';
import { ANIMAL_SUGGESTIONS } from './animal-field.tsx';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { animalFieldOf, assignmentTyped, pageClient, strip, textById } from './test-page-client.ts';

// The Animal field of the scan page's "Farm and animal" form and of the scans filter, for herds of
// thousands (real Postgres, the real migrations, the pages through app.request): an animal is named by
// its ear tag or EID and found on the form's farm, or on the viewer's farms in the filter — any of the
// 1,200 animals of a feedlot, not only a select's first 1000. Unknown and ambiguous tags are named
// beside the field; an animal the viewer may not see is not found, in the same words. A farm of at
// most ANIMAL_SUGGESTIONS animals has its tags offered, one more and it has none. The animal page's
// `animal_id=` links still filter.

const HERD = 1200;
const x = {} as Record<
  'feedlot' | 'small' | 'device' | 'f1150' | 'f1199' | 'bA101' | 'scanF1199' | 'scanBA101',
  string
>;
const { ctx, w } = useDashboardApp(async (sql, w) => {
  x.feedlot = await seedFarm(sql, 'Big Feedlot');
  x.small = await seedFarm(sql, 'Small Herd');
  x.device = await seedDevice(sql, 'dev-feedlot', x.feedlot);
  // F-0001 … F-1200, EIDs 826000000000001 …: the 1,150th by tag is F-1150.
  await sql`
    INSERT INTO animals (farm_id, tag_id, eid)
    SELECT ${x.feedlot}, 'F-' || lpad(i::text, 4, '0'), '826' || lpad(i::text, 12, '0')
      FROM generate_series(1, ${HERD}::int) i`;
  await sql`
    INSERT INTO animals (farm_id, tag_id)
    SELECT ${x.small}, 'S-' || lpad(i::text, 3, '0') FROM generate_series(1, ${ANIMAL_SUGGESTIONS}::int) i`;
  const id = async (farm: string, tag: string) =>
    (await sql<{ id: string }[]>`SELECT id FROM animals WHERE farm_id = ${farm} AND tag_id = ${tag}`)[0]!.id;
  x.f1150 = await id(x.feedlot, 'F-1150');
  x.f1199 = await id(x.feedlot, 'F-1199');
  // A-101 is farm A's animal (w.animal); farm B has an A-101 of its own.
  [{ id: x.bA101 }] =
    await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${w.farmB}, 'A-101') RETURNING id`;
  x.scanF1199 = await seedScan(sql, { farmId: x.feedlot, deviceId: x.device, animalId: x.f1199 });
  x.scanBA101 = await seedScan(sql, { farmId: w.farmB, deviceId: w.deviceB, animalId: x.bA101 });
  await seedUser(sql, 'feedlot-tech@example.com', ['technician'], {
    farms: [{ id: x.feedlot }, { id: x.small }],
  });
  await seedUser(sql, 'feedlot-farmer@example.com', ['farmer'], { farms: [{ id: x.feedlot }] });
  await seedUser(sql, 'two-farms@example.com', ['farmer'], { farms: [{ id: w.farmA }, { id: w.farmB }] });
});
const as = (email: string) => pageClient(ctx.server.app, email);
const feedlotTech = () => as('feedlot-tech@example.com');
const rowIds = (html: string) => [...html.matchAll(/<tr data-scan-id="([^"]+)"/g)].map((m) => m[1]);
const errorOf = (html: string) => textById(html, 'field-animal-error') ?? '';
const animalOf = async (scan: string) =>
  (await ctx.db.sql<{ animal_id: string | null }[]>`SELECT animal_id FROM scans WHERE id = ${scan}`)[0]!
    .animal_id;
/** The hidden animal_id the scans filter keeps beside the text. */
const keptId = (html: string) => /<input type="hidden" name="animal_id" value="([^"]*)"/.exec(html)?.[1];

describe('the scan page on a farm of 1,200 animals', () => {
  test('a technician links a scan to the 1,150th animal by typing its tag, another by pasting its EID', async () => {
    const t = await feedlotTech();
    const byTag = await seedScan(ctx.db.sql, { farmId: x.feedlot, deviceId: x.device });
    const page = (await t.get(`/scans/${byTag}`)).html;
    assert.deepEqual(animalFieldOf(page), { value: '', offered: null }, 'too many to offer: typed only');
    assert.match(strip(page), /the farm has over 200 animals, too many to list/);
    const linked = await t.post(`/scans/${byTag}/assignment`, assignmentTyped(page, 'F-1150'));
    assert.equal(linked.status, 303);
    assert.equal(await animalOf(byTag), x.f1150);
    assert.match(strip((await t.get(linked.location!)).html), /Animal F-1150/);
    const byEid = await seedScan(ctx.db.sql, { farmId: x.feedlot, deviceId: x.device });
    const eidPage = (await t.get(`/scans/${byEid}`)).html;
    // As a stick reader prints it: a space after the country code.
    const pasted = await t.post(`/scans/${byEid}/assignment`, assignmentTyped(eidPage, '826 000000001150'));
    assert.equal(pasted.status, 303);
    assert.equal(await animalOf(byEid), x.f1150);
  });

  test('an unknown tag is named beside Animal with the typed text kept, and nothing is written', async () => {
    const t = await feedlotTech();
    const scan = await seedScan(ctx.db.sql, { farmId: x.feedlot, deviceId: x.device });
    const page = (await t.get(`/scans/${scan}`)).html;
    const res = await t.post(`/scans/${scan}/assignment`, assignmentTyped(page, 'F-1201'));
    assert.equal(res.status, 422);
    assert.equal(errorOf(res.html), 'Error: No animal with ear tag or EID “F-1201” on Big Feedlot.');
    assert.equal(animalFieldOf(res.html)?.value, 'F-1201');
    assert.equal(await animalOf(scan), null);
  });
});

describe(`tags offered up to ${ANIMAL_SUGGESTIONS} animals`, () => {
  test(`a farm of ${ANIMAL_SUGGESTIONS} animals offers every tag, one of ${ANIMAL_SUGGESTIONS + 1} none (scan page and filter)`, async () => {
    const t = await feedlotTech();
    const scan = await seedScan(ctx.db.sql, { farmId: x.small, deviceId: x.device });
    const offered = async () => ({
      form: animalFieldOf((await t.get(`/scans/${scan}`)).html)?.offered,
      filter: animalFieldOf((await t.get(`/scans?farm_id=${x.small}`)).html)?.offered,
    });
    const small = await offered();
    assert.equal(small.form?.length, ANIMAL_SUGGESTIONS);
    assert.deepEqual(small.form?.slice(0, 2), [
      ['S-001', ''],
      ['S-002', ''],
    ]);
    assert.deepEqual(small.filter, small.form);
    await ctx.db.sql`INSERT INTO animals (farm_id, tag_id) VALUES (${x.small}, 'S-201')`;
    try {
      assert.deepEqual(await offered(), { form: null, filter: null });
      // Typed, the 201st is found all the same.
      const res = await t.post(
        `/scans/${scan}/assignment`,
        assignmentTyped((await t.get(`/scans/${scan}`)).html, 'S-201'),
      );
      assert.equal(res.status, 303);
    } finally {
      await ctx.db.sql`UPDATE scans SET animal_id = NULL WHERE id = ${scan}`;
      await ctx.db.sql`DELETE FROM animals WHERE farm_id = ${x.small} AND tag_id = 'S-201'`;
    }
    // Without a farm the filter counts every farm the viewer reads: farm A's farmer has one animal,
    // offered with its EID; the admin has over 1,400, none offered.
    const farmer = await as(w.users.farmer.email);
    assert.deepEqual(animalFieldOf((await farmer.get('/scans')).html)?.offered, [
      ['A-101', 'EID 982000000000101'],
    ]);
    // On two farms each tag says its farm.
    const twoFarms = await as('two-farms@example.com');
    assert.deepEqual(animalFieldOf((await twoFarms.get('/scans')).html)?.offered, [
      ['A-101', 'Birch Farm'],
      ['A-101', 'Maple Farm · EID 982000000000101'],
    ]);
    const admin = await as(w.users.admin.email);
    assert.equal(animalFieldOf((await admin.get('/scans')).html)?.offered, null);
  });
});

describe('the scans filter by animal', () => {
  test('by tag or EID: the animal found on the viewer’s farms filters the list, its id kept beside the text', async () => {
    const farmer = await as('feedlot-farmer@example.com');
    for (const text of ['F-1199', '826000000001199']) {
      const res = await farmer.get(`/scans?animal=${encodeURIComponent(text)}`);
      assert.equal(res.status, 200);
      assert.deepEqual(rowIds(res.html), [x.scanF1199], text);
      assert.equal(animalFieldOf(res.html)?.value, text, 'shown as typed');
      assert.equal(keptId(res.html), x.f1199);
      assert.equal(errorOf(res.html), '');
      // The live rows and the downloads filter on the same animal (the API's animal_id).
      assert.match(res.html, new RegExp(`data-live-src="/scans/events\\?animal_id=${x.f1199}"`));
      assert.match(res.html, new RegExp(`scans\\.csv\\?[^"]*animal_id=${x.f1199}`));
    }
    // Cleared: no animal filter, whatever id the form kept.
    const cleared = await farmer.get(`/scans?animal=&animal_id=${x.f1199}`);
    assert.ok(rowIds(cleared.html).length > 1);
    assert.equal(animalFieldOf(cleared.html)?.value, '');
    assert.equal(keptId(cleared.html), undefined);
  });

  test('an unknown tag is named beside the field with the text kept; the list is not filtered by it', async () => {
    const farmer = await as('feedlot-farmer@example.com');
    const res = await farmer.get('/scans?animal=F-9999');
    assert.equal(res.status, 200);
    assert.equal(errorOf(res.html), 'Error: No animal with ear tag or EID “F-9999” on your farms.');
    assert.equal(animalFieldOf(res.html)?.value, 'F-9999');
    assert.match(
      res.html,
      /<a href="#field-animal">No animal with ear tag or EID “F-9999” on your farms\.<\/a>/,
    );
    assert.ok(!/data-live-src="[^"]*animal_id/.test(res.html));
  });

  test('an ear tag on two farms is ambiguous for an admin (how many, which): choosing the farm finds it, and the kept id keeps it', async () => {
    const admin = await as(w.users.admin.email);
    const both = await admin.get('/scans?animal=A-101');
    assert.equal(
      errorOf(both.html),
      'Error: Ear tag “A-101” is on 2 of your farms (Birch Farm, Maple Farm): choose the farm, or type the EID.',
    );
    assert.equal(keptId(both.html), undefined);
    const onA = await admin.get(`/scans?animal=A-101&farm_id=${w.farmA}`);
    assert.deepEqual(rowIds(onA.html), [w.scanNoSpacing, w.scanGraded]);
    assert.equal(keptId(onA.html), w.animal);
    // The form sent again with the farm set back to "Any farm": the same animal, not the question again.
    const kept = await admin.get(`/scans?farm_id=&animal=A-101&animal_id=${w.animal}`);
    assert.equal(errorOf(kept.html), '');
    assert.deepEqual(rowIds(kept.html), [w.scanNoSpacing, w.scanGraded]);
    const onB = await admin.get(`/scans?animal=A-101&farm_id=${w.farmB}`);
    assert.deepEqual(rowIds(onB.html), [x.scanBA101]);
  });

  test("a farmer naming another farm's animal (tag, EID or id) gets the words of one that does not exist", async () => {
    // Farm B's farmer: A-102 and farm A's EIDs exist, on a farm they are not linked to.
    const stranger = await as(w.users.stranger.email);
    const words = async (q: string) => errorOf((await stranger.get(`/scans?${q}`)).html);
    assert.equal(await words('animal=A-102'), 'Error: No animal with ear tag or EID “A-102” on your farms.');
    assert.equal(await words('animal=A-103'), 'Error: No animal with ear tag or EID “A-103” on your farms.');
    assert.equal(
      await words('animal=982000000000101'),
      'Error: No animal with ear tag or EID “982000000000101” on your farms.',
    );
    assert.equal(
      await words(`animal_id=${w.animal}`),
      `Error: No animal with id “${w.animal}” on your farms.`,
    );
    assert.equal(
      await words(`animal=A-102&farm_id=${w.farmA}`),
      'Error: No animal with ear tag or EID “A-102” on that farm.',
      'a farm they cannot see is not named',
    );
    // Their own farm's A-101 is theirs, never farm A's.
    const own = await stranger.get('/scans?animal=A-101');
    assert.deepEqual(rowIds(own.html), [x.scanBA101]);
  });

  test("the animal page's animal_id= links still filter; the field shows the animal's tag", async () => {
    // More scans than the animal page lists (50): it links to all of them.
    const f0500 = (
      await ctx.db.sql<{ id: string }[]>`
        SELECT id FROM animals WHERE farm_id = ${x.feedlot} AND tag_id = 'F-0500'`
    )[0]!.id;
    for (let i = 0; i < 51; i++)
      await seedScan(ctx.db.sql, { farmId: x.feedlot, deviceId: x.device, animalId: f0500 });
    const farmer = await as('feedlot-farmer@example.com');
    const animalPage = (await farmer.get(`/animals/${f0500}`)).html;
    const href = /<a href="(\/scans\?animal_id=[^"]+)">All 51 scans/.exec(animalPage)?.[1];
    assert.equal(href, `/scans?animal_id=${f0500}`);
    const res = await farmer.get(href!);
    const listed = rowIds(res.html);
    assert.equal(listed.length, 50);
    const theirs = await ctx.db
      .sql`SELECT 1 FROM scans WHERE id = ANY(${listed as string[]}) AND animal_id = ${f0500}`;
    assert.equal(theirs.length, 50, 'every row is a scan of that animal');
    assert.equal(animalFieldOf(res.html)?.value, 'F-0500');
    assert.equal(keptId(res.html), f0500);
    assert.equal(errorOf(res.html), '');
    // For the admin too, though A-101 is on two farms: the link names the animal, not the tag.
    const admin = await as(w.users.admin.email);
    const link = await admin.get(`/scans?animal_id=${w.animal.toUpperCase()}`);
    assert.deepEqual(rowIds(link.html), [w.scanNoSpacing, w.scanGraded]);
    assert.equal(animalFieldOf(link.html)?.value, 'A-101');
    assert.equal(errorOf(link.html), '');
  });
});
