import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedScan, seedUser } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { type PageAnswer, pageClient, strip, textById } from './test-page-client.ts';

// The scan page's "Farm and animal" form (POST /scans/{id}/assignment) on a real database: offered to
// those who may write the scan's farm, a Farm select only to those who may write more than one farm;
// posts go through the API's updateScan, so its rules hold — the animal on the scan's (new) farm,
// rights on both farms, 422 beside the field, 403 for a farmer, 404 for another farm's scan, CSRF —
// and a field left alone writes nothing.

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
  for (const m of form.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)) fields[m[1]!] = m[2]!;
  for (const name of ['farm_id', 'animal_id']) {
    const chosen = options(form, name).find(([, , selected]) => selected);
    if (form.includes(`name="${name}"`)) fields[name] = chosen?.[0] ?? '';
  }
  delete fields._csrf;
  return { ...fields, ...changes };
}
const errorOf = (res: PageAnswer, name: string) => textById(res.html, `field-${name}-error`) ?? '';

describe('scan page: farm and animal', () => {
  test("offered to the farm's technicians (animals of the farm, no Farm select with one farm) and admins (a Farm select), never to farmers", async () => {
    const scan = await fresh(w.animal);
    const techPage = (await (await tech()).get(`/scans/${scan}`)).html;
    assert.deepEqual(options(techPage, 'animal_id'), [
      ['', 'None', false],
      [w.animal, 'A-101', true],
      [x.a102!, 'A-102', false],
    ]);
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
    assert.ok(!farmerPage.includes('/assignment') && !farmerPage.includes('id="field-animal_id"'));
    assert.match(strip(farmerPage), /Animal A-101/, 'the farmer still reads the link');
  });

  test('a technician links a scan to an animal and unlinks it: 303 back to the form, the change recorded', async () => {
    const scan = await fresh();
    const t = await tech();
    const page = (await t.get(`/scans/${scan}`)).html;
    const linked = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal_id: x.a102! }));
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
    const unlinked = await t.post(`/scans/${scan}/assignment`, formOf(after.html, { animal_id: '' }));
    assert.equal(unlinked.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: null });
  });

  test('an animal of another farm, or no animal id at all, is named beside Animal (422) and nothing is written', async () => {
    const scan = await fresh(w.animal);
    const t = await tech();
    const page = (await t.get(`/scans/${scan}`)).html;
    const other = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal_id: x.b201! }));
    assert.equal(other.status, 422);
    assert.match(errorOf(other, 'animal_id'), /^Error: Animal is not an animal you can see\.$/);
    const garbage = await t.post(`/scans/${scan}/assignment`, formOf(page, { animal_id: 'A-102' }));
    assert.equal(garbage.status, 422);
    assert.match(errorOf(garbage, 'animal_id'), /Animal must be/);
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: w.animal });
    assert.equal(await edits(scan), 0);
  });

  test('moving a scan needs rights on both farms and an animal of the new farm', async () => {
    const scan = await fresh(w.animal);
    const both = await as('both@example.com');
    const page = (await both.get(`/scans/${scan}`)).html;
    // The old farm's animal kept: named beside Animal, and the form shown again lists the new farm's animals.
    const kept = await both.post(`/scans/${scan}/assignment`, formOf(page, { farm_id: w.farmB }));
    assert.equal(kept.status, 422);
    assert.match(errorOf(kept, 'animal_id'), /Animal belongs to another farm than the scan's\./);
    assert.deepEqual(options(kept.html, 'animal_id'), [
      ['', 'None', false],
      [x.b201!, 'B-201', false],
    ]);
    assert.deepEqual(
      options(kept.html, 'farm_id').find(([, , s]) => s),
      [w.farmB, 'Birch Farm', true],
    );
    assert.deepEqual(await stored(scan), { farm_id: w.farmA, animal_id: w.animal });
    const moved = await both.post(`/scans/${scan}/assignment`, formOf(kept.html, { animal_id: x.b201! }));
    assert.equal(moved.status, 303);
    assert.deepEqual(await stored(scan), { farm_id: w.farmB, animal_id: x.b201 });
    // A technician of farm A only: farm B does not exist for them (422 beside Farm); one who only reads
    // farm B may not move scans there (403). Neither writes anything.
    const second = await fresh();
    const onlyA = await (await tech()).post(`/scans/${second}/assignment`, {
      farm_was: w.farmA,
      animal_was: '',
      farm_id: w.farmB,
      animal_id: '',
    });
    assert.equal(onlyA.status, 422);
    // They have no Farm select: the problem is in the summary at the top of the form.
    assert.match(
      onlyA.html,
      /<div class="error-summary"[\s\S]*?<a href="#field-animal_id">Farm is not a farm you can see\.<\/a>/,
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
    // Nothing chosen anew: still the same refusals.
    const untouched = { farm_was: w.farmA, animal_was: '', animal_id: '' };
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
      assert.deepEqual(
        options(page, 'animal_id').find(([, , s]) => s),
        undefined,
        'None (the placeholder) is what the form shows',
      );
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
