import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedScan, seedUser } from '../../test-seed.ts';
import { elements } from '../test-svg.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { animalFieldOf, type PageAnswer, pageClient, strip, textById } from './test-page-client.ts';

// The scan page's "Farm and animal" form (POST /scans/{id}/assignment) on a real database: offered to
// those who may write the scan's farm, a Farm select only to those who may write more than one farm,
// the animal typed (its ear tag or EID, looked up on the form's farm; a small herd's tags offered);
// posts go through the API's updateScan, so its rules hold — the animal on the scan's (new) farm,
// rights on both farms, 422 beside the field, 403 for a farmer, 404 for another farm's scan, CSRF —
// and a field left alone writes nothing. Herds of thousands: animal-field.test.ts.

const x: Record<string, string> = {};
const { ctx, w } = useDashboardApp(async (sql, w) => {
  const animal = async (farm: string, tag: string) =>
    (
      await sql<{ id: string }[]>`INSERT INTO animals (farm_id, tag_id) VALUES (${farm}, ${tag}) RETURNING id`
    )[0]!.id;
  x.a102 = await animal(w.farmA, 'A-102');
  x.b201 = await animal(w.farmB, 'B-201');
  // A technician of both farms; one who works on farm A and is only a farmer (reader) of farm B.
  await seedUser(sql, 'both@example.com', ['technician'], { farms: [{ id: w.farmA }, { id: w.farmB }] });
  await seedUser(sql, 'mixed@example.com', ['farmer', 'technician'], {
    farms: [
      { id: w.farmA, as: 'technician' },
      { id: w.farmB, as: 'farmer' },
    ],
  });
});
const as = (email: string) => pageClient(ctx.server.app, email);
const tech = () => as(w.users.technician.email);
const fresh = (animalId?: string) => seedScan(ctx.db.sql, { farmId: w.farmA, deviceId: w.deviceA, animalId });
const stored = async (id: string) =>
  (
    await ctx.db.sql<{ farm_id: string; animal_id: string | null }[]>`
    SELECT farm_id, animal_id FROM scans WHERE id = ${id}`
  )[0]!;
const edits = async (id: string) =>
  (await ctx.db.sql`SELECT 1 FROM scan_events WHERE scan_id = ${id} AND event = 'edited'`).length;
/** The options of a select: [value, text, selected]. */
function options(html: string, name: string): [string, string, boolean][] {
  const select = new RegExp(`<select id="field-${name}" name="${name}"[^>]*>([\\s\\S]*?)</select>`).exec(
    html,
  );
  if (!select) return [];
  return [...select[1]!.matchAll(/<option value="([^"]*)"( selected="")?>([^<]*)<\/option>/g)].map((m) => [
    m[1]!,
    m[3]!,
    m[2] !== undefined,
  ]);
}
/** The form as the page renders it, with `changes` applied (hidden fields included). */
function formOf(html: string, changes: Record<string, string>): Record<string, string> {
  const form = /<form method="post" action="[^"]*\/assignment"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const i of elements(form, 'input'))
    if (i.attrs.type === 'hidden') fields[i.attrs.name!] = i.attrs.value!;
  if (form.includes('name="farm_id"'))
    fields.farm_id = options(form, 'farm_id').find(([, , s]) => s)?.[0] ?? '';
  fields.animal = animalFieldOf(form)?.value ?? '';
  delete fields._csrf;
  return { ...fields, ...changes };
}
const errorOf = (res: PageAnswer, name: string) => textById(res.html, `field-${name}-error`) ?? '';

describe('scan page: farm and animal', () => {
  test("offered to the farm's technicians (the animal's tag, the farm's tags offered, no Farm select with one farm) and admins (a Farm select), never to farmers", async () => {
    const scan = await fresh(w.animal);
    const techPage = (await (await tech()).get(`/scans/${scan}`)).html;
    assert.deepEqual(animalFieldOf(techPage), {
      value: 'A-101',
      offered: [
        ['A-101', 'EID 982000000000101'],
        ['A-102', ''],
      ],
    });
    assert.match(strip(techPage), /Animal \(ear tag or EID\) \(optional\) Type or pick its ear tag/);
    assert.ok(!techPage.includes('name="farm_id"'), 'one writable farm: no Farm select');
    assert.match(techPage, new RegExp(`<form method="post" action="/scans/${scan}/assignment"`));
    const adminPage = (await (await as(w.users.admin.email)).get(`/scans/${scan}`)).html;
    assert.deepEqual(options(adminPage, 'farm_id'), [
      [w.farmB, 'Birch Farm', false],
      [w.farmA, 'Maple Farm', true],
    ]);
    // A scan without a farm (admins only see it): the Farm select starts at Unassigned.
    const loose = await seedScan(ctx.db.sql, { farmId: null, deviceId: w.deviceA });
    const loosePage = (await (await as(w.users.admin.email)).get(`/scans/${loose}`)).html;
    assert.deepEqual(options(loosePage, 'farm_id'), [
      ['', 'Unassigned', false],
      [w.farmB, 'Birch Farm', false],
      [w.farmA, 'Maple Farm', false],
    ]);
    const admin = await as(w.users.admin.email);
    assert.equal((await admin.post(`/scans/${loose}/assignment`, formOf(loosePage, {}))).status, 303);
    assert.deepEqual(
      await stored(loose),
      { farm_id: null, animal_id: null },
      'left at Unassigned: unchanged',
    );
    assert.equal(
      (await admin.post(`/scans/${loose}/assignment`, formOf(loosePage, { farm_id: w.farmA }))).status,
      303,
    );
    assert.deepEqual(await stored(loose), { farm_id: w.farmA, animal_id: null });
    const bothPage = (await (await as('both@example.com')).get(`/scans/${scan}`)).html;
    assert.equal(options(bothPage, 'farm_id').length, 2);
    const farmerPage = (await (await as(w.users.farmer.email)).get(`/scans/${scan}`)).html;
    assert.ok(!farmerPage.includes('/assignment') && animalFieldOf(farmerPage) === undefined);
    assert.match(strip(farmerPage), /Animal A-101/, 'the farmer still reads the link');
  });

  test('a technician links a scan to an animal by typing its tag and unlinks it by clearing the field: 303 back to the form, the change recorded', async () => {
    const scan = await fresh();
    const t = await tech();
    const page = (await t.get(`/scans/${scan}`)).html;
    assert.equal(animalFieldOf(page)?.value, '', 'no animal: an empty field');
    const linked = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal: ' A-102 ' }));
    assert.equal(linked.status, 303);
    assert.equal(linked.location, `/scans/${scan}?done=scan-assigned#assignment`);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: x.a102 });
    const after = await t.get(linked.location!);
    assert.match(strip(after.html), /Farm and animal saved\./);
    assert.match(strip(after.html), /Animal A-102/);
    const [event] = await ctx.db.sql`
      SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'edited'`;
    assert.equal(event!.meta.by, w.users.technician.id);
    assert.deepEqual(event!.meta.changes, { animal_id: x.a102 });
    assert.equal(animalFieldOf(after.html)?.value, 'A-102');
    // Its EID, as a reader prints it (a space after the country code), names A-101.
    const byEid = await t.post(
      `/scans/${scan}/assignment`,
      formOf(after.html, { animal: '982 000000000101' }),
    );
    assert.equal(byEid.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: w.animal });
    const again = (await t.get(byEid.location!)).html;
    assert.equal(animalFieldOf(again)?.value, 'A-101', 'the field shows the tag');
    const unlinked = await t.post(`/scans/${scan}/assignment`, formOf(again, { animal: '' }));
    assert.equal(unlinked.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: null });
  });

  test("an unknown tag, and another farm's animal (the same words), are named beside Animal (422) with the typed values kept, and nothing is written", async () => {
    const scan = await fresh(w.animal);
    const t = await tech();
    const page = (await t.get(`/scans/${scan}`)).html;
    const unknown = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal: 'A-999' }));
    assert.equal(unknown.status, 422);
    assert.equal(errorOf(unknown, 'animal'), 'Error: No animal with ear tag or EID “A-999” on Maple Farm.');
    assert.equal(animalFieldOf(unknown.html)?.value, 'A-999', 'the typed text is kept');
    assert.match(
      unknown.html,
      /<div class="error-summary"[\s\S]*?<a href="#field-animal">No animal with ear tag/,
    );
    // B-201 lives on farm B, which this technician cannot see: "not found", not "not yours".
    const other = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal: 'B-201' }));
    assert.equal(other.status, 422);
    assert.equal(errorOf(other, 'animal'), 'Error: No animal with ear tag or EID “B-201” on Maple Farm.');
    // Farm B's animal by its id (ids are looked up too, as links and old forms carry them): not found either.
    const byId = await t.post(`/scans/${scan}/assignment`, {
      ...formOf(page, {}),
      animal: x.b201!,
    });
    assert.equal(byId.status, 422);
    assert.equal(errorOf(byId, 'animal'), `Error: No animal with id “${x.b201}” on Maple Farm.`);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: w.animal });
    assert.equal(await edits(scan), 0);
  });

  test('a form from before the field was typed (an animal_id select) still links and unlinks as it meant', async () => {
    const scan = await fresh();
    const t = await tech();
    const old = { farm_was: w.farmA, animal_was: '', animal_id: x.a102! };
    const linked = await t.post(`/scans/${scan}/assignment`, old);
    assert.equal(linked.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: x.a102 });
    const left = await t.post(`/scans/${scan}/assignment`, { ...old, animal_was: x.a102! });
    assert.equal(left.location, `/scans/${scan}?done=scan-unchanged#assignment`);
    const cleared = await t.post(`/scans/${scan}/assignment`, { ...old, animal_was: x.a102!, animal_id: '' });
    assert.equal(cleared.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: null });
  });

  test('moving a scan needs rights on both farms and an animal of the new farm', async () => {
    const scan = await fresh(w.animal);
    const both = await as('both@example.com');
    const page = (await both.get(`/scans/${scan}`)).html;
    // The old farm's tag kept: looked up on the new farm, where no animal has it — named beside Animal,
    // and the form shown again offers the new farm's tags.
    const kept = await both.post(`/scans/${scan}/assignment`, formOf(page, { farm_id: w.farmB }));
    assert.equal(kept.status, 422);
    assert.equal(errorOf(kept, 'animal'), 'Error: No animal with ear tag or EID “A-101” on Birch Farm.');
    assert.deepEqual(animalFieldOf(kept.html), { value: 'A-101', offered: [['B-201', '']] });
    assert.deepEqual(
      options(kept.html, 'farm_id').find(([, , s]) => s),
      [w.farmB, 'Birch Farm', true],
    );
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: w.animal });
    const moved = await both.post(`/scans/${scan}/assignment`, formOf(kept.html, { animal: 'B-201' }));
    assert.equal(moved.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmB, animal_id: x.b201 });
    // A technician of farm A only: farm B does not exist for them (422 beside Farm); one who only reads
    // farm B may not move scans there (403). Neither writes anything.
    const second = await fresh();
    const onlyA = await (await tech()).post(`/scans/${second}/assignment`, {
      farm_was: w.farmA,
      animal_shown: '',
      farm_id: w.farmB,
      animal: '',
    });
    assert.equal(onlyA.status, 422);
    // They have no Farm select: the problem is in the summary at the top of the form.
    assert.match(
      onlyA.html,
      /<div class="error-summary"[\s\S]*?<a href="#field-animal">Farm is not a farm you can see\.<\/a>/,
    );
    const mixed = await as('mixed@example.com');
    const readOnly = await mixed.post(`/scans/${second}/assignment`, {
      ...formOf((await mixed.get(`/scans/${second}`)).html, {}),
      farm_id: w.farmB,
    });
    assert.equal(readOnly.status, 403);
    assert.deepEqual(await stored(second), { farm_id: w.farmA, animal_id: null });
    assert.equal(await edits(second), 0);
  });

  test('farmers are refused (403), another farm’s scan is a 404, a form without the session’s token a 403', async () => {
    const scan = await fresh();
    const fields = { farm_was: w.farmA, animal_was: '', animal_id: w.animal };
    const farmer = await as(w.users.farmer.email);
    assert.equal((await farmer.post(`/scans/${scan}/assignment`, fields)).status, 403);
    assert.equal((await farmer.post(`/scans/${w.scanB}/assignment`, fields)).status, 404);
    assert.equal((await (await tech()).post(`/scans/${w.scanB}/assignment`, fields)).status, 404);
    const t = await tech();
    assert.equal((await t.post(`/scans/${scan}/assignment`, fields, { csrf: 'forged' })).status, 403);
    assert.equal((await t.post(`/scans/${scan}/assignment`, fields, { csrf: false })).status, 403);
    // A typed tag, found or not: the same refusals, before any lookup is shown.
    for (const animal of ['A-101', 'A-999']) {
      const typed = { farm_was: w.farmA, animal_shown: '', animal };
      assert.equal((await farmer.post(`/scans/${scan}/assignment`, typed)).status, 403, animal);
      assert.equal((await farmer.post(`/scans/${w.scanB}/assignment`, typed)).status, 404, animal);
    }
    // Nothing chosen anew: still the same refusals.
    const untouched = { farm_was: w.farmA, animal_shown: '', animal: '' };
    assert.equal((await farmer.post(`/scans/${scan}/assignment`, untouched)).status, 403);
    assert.equal((await farmer.post(`/scans/${w.scanB}/assignment`, untouched)).status, 404);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: null });
    assert.equal(await edits(scan), 0);
  });

  test('a field left alone writes nothing: an animal the technician cannot see (moved to another farm) stays linked', async () => {
    const scan = await fresh(x.a102);
    // The animal moves to farm B (an admin's doing); the scan stays on farm A, where its technician
    // no longer sees the animal: the form shows None.
    await ctx.db.sql`UPDATE animals SET farm_id = ${w.farmB} WHERE id = ${x.a102!}`;
    try {
      const t = await tech();
      const page = (await t.get(`/scans/${scan}`)).html;
      assert.ok(!page.includes(x.a102!), 'the moved animal is not shown');
      assert.deepEqual(animalFieldOf(page), { value: '', offered: [['A-101', 'EID 982000000000101']] });
      const res = await t.post(`/scans/${scan}/assignment`, formOf(page, {}));
      assert.equal(res.status, 303);
      assert.equal(res.location, `/scans/${scan}?done=scan-unchanged#assignment`);
      assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: x.a102 });
      assert.equal(await edits(scan), 0);
    } finally {
      await ctx.db.sql`UPDATE animals SET farm_id = ${w.farmA} WHERE id = ${x.a102!}`;
    }
  });
});
