import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { seedDevice } from '../../test-seed.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// The device page's "Label and farm" form (POST /fleet/{id}, admins) on a real database: the body of
// PATCH /api/v1/devices/{id}, checked with its schema and written by the same updateDevice — errors
// beside the field and nothing written, 403 for those who see the device but may not change it, 404
// for those who do not see it, CSRF.

let w: DashboardWorld;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      w = await seedDashboard(db.sql);
    },
  },
);
const as = (who: keyof DashboardWorld['users']) => pageClient(ctx.server.app, w.users[who].email);
const stored = async (id: string) =>
  (
    await ctx.db.sql<{ label: string | null; farm_id: string | null }[]>`
    SELECT label, farm_id FROM devices WHERE id = ${id}`
  )[0]!;
const formAction = (id: string) => `<form method="post" action="/fleet/${id}"`;

describe('device page: label and farm', () => {
  test('admins get the form with the current label and farm; technicians and farmers of the farm do not', async () => {
    await ctx.db.sql`UPDATE devices SET label = 'Chute Pi' WHERE id = ${w.deviceA}`;
    const admin = (await (await as('admin')).get(`/fleet/${w.deviceA}`)).html;
    assert.ok(admin.includes(formAction(w.deviceA)));
    assert.match(admin, /<input id="field-label" name="label" type="text" value="Chute Pi"/);
    assert.match(admin, new RegExp(`<option value="${w.farmA}" selected="">Maple Farm</option>`));
    assert.match(admin, /<option value="">Unassigned<\/option>/);
    for (const who of ['technician', 'farmer'] as const) {
      const res = await (await as(who)).get(`/fleet/${w.deviceA}`);
      assert.equal(res.status, 200, who);
      assert.ok(!res.html.includes(formAction(w.deviceA)), `${who}: no form`);
    }
  });

  test('an admin assigns a device to a farm and labels it (303), then clears both; the farm’s users see it', async () => {
    const device = await seedDevice(ctx.db.sql, 'dev-new', null);
    const stranger = await as('stranger');
    assert.equal((await stranger.get(`/fleet/${device}`)).status, 404, 'unassigned: not theirs to see');
    const admin = await as('admin');
    const label = 'Barn <b>2</b>';
    const saved = await admin.post(`/fleet/${device}`, { label: `  ${label} `, farm_id: w.farmB });
    assert.equal(saved.status, 303);
    assert.equal(saved.location, `/fleet/${device}?done=device-saved`);
    assert.deepEqual(await stored(device), { label, farm_id: w.farmB });
    const page = await admin.get(saved.location!);
    assert.match(strip(page.html), /Device label and farm saved\./);
    assert.match(page.html, /Barn &lt;b&gt;2&lt;\/b&gt;/);
    assert.ok(!page.html.includes(label), 'stored markup is shown as text');
    assert.match(page.html, new RegExp(`<a href="/farms/${w.farmB}">Birch Farm</a>`));
    assert.equal((await stranger.get(`/fleet/${device}`)).status, 200, "now on the stranger's farm");
    const cleared = await admin.post(`/fleet/${device}`, { label: '', farm_id: '' });
    assert.equal(cleared.status, 303);
    assert.deepEqual(await stored(device), { label: null, farm_id: null });
  });

  test('a label too long, a farm that is gone or no farm id at all: named beside the field (422), nothing written', async () => {
    const admin = await as('admin');
    await ctx.db.sql`UPDATE devices SET label = 'Chute Pi', farm_id = ${w.farmA} WHERE id = ${w.deviceA}`;
    const long = await admin.post(`/fleet/${w.deviceA}`, { label: 'x'.repeat(101), farm_id: w.farmB });
    assert.equal(long.status, 422);
    assert.match(textById(long.html, 'field-label-error') ?? '', /Label must be .*100/);
    assert.match(
      long.html,
      new RegExp(`<input id="field-label" name="label" type="text" value="${'x'.repeat(101)}"`),
    );
    const gone = await admin.post(`/fleet/${w.deviceA}`, {
      label: 'Chute Pi',
      farm_id: '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(gone.status, 422);
    assert.match(textById(gone.html, 'field-farm_id-error') ?? '', /^Error: Farm names no farm\.$/);
    const garbage = await admin.post(`/fleet/${w.deviceA}`, { label: 'Chute Pi', farm_id: 'Maple Farm' });
    assert.equal(garbage.status, 422);
    assert.match(textById(garbage.html, 'field-farm_id-error') ?? '', /Farm must be/);
    assert.deepEqual(await stored(w.deviceA), { label: 'Chute Pi', farm_id: w.farmA });
  });

  test('non-admins who see the device are refused (403), those who do not get a 404, CSRF is checked', async () => {
    const fields = { label: 'Mine', farm_id: w.farmA };
    assert.equal((await (await as('technician')).post(`/fleet/${w.deviceA}`, fields)).status, 403);
    assert.equal((await (await as('farmer')).post(`/fleet/${w.deviceA}`, fields)).status, 403);
    assert.equal((await (await as('technician')).post(`/fleet/${w.deviceB}`, fields)).status, 404);
    assert.equal((await (await as('stranger')).post(`/fleet/${w.deviceA}`, fields)).status, 404);
    const admin = await as('admin');
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, fields, { csrf: 'forged' })).status, 403);
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, fields, { csrf: false })).status, 403);
    assert.notEqual((await stored(w.deviceA)).label, 'Mine');
  });
});
