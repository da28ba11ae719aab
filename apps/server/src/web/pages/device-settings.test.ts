import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { seedDevice, seedFarm, seedUser } from '../../test-seed.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// The device page's "Label and farm" form (POST /fleet/{id}; admins, and technicians of the device's
// farm or of an unassigned device) on a real database: the body of PATCH /api/v1/devices/{id},
// checked with its schema and written by the same updateDevice — errors beside the field and nothing
// written, 403 for those who see the device but may not change it, 404 for those who do not see it,
// CSRF.

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
  test('admins and the farm’s technicians get the form with the current label and farm; farmers do not', async () => {
    await ctx.db.sql`UPDATE devices SET label = 'Chute Pi' WHERE id = ${w.deviceA}`;
    const admin = (await (await as('admin')).get(`/fleet/${w.deviceA}`)).html;
    assert.ok(admin.includes(formAction(w.deviceA)));
    assert.match(admin, /<input id="field-label" name="label" type="text" value="Chute Pi"/);
    assert.match(admin, new RegExp(`<option value="${w.farmA}" selected="">Maple Farm</option>`));
    assert.match(admin, new RegExp(`<option value="${w.farmB}">Birch Farm</option>`));
    assert.match(admin, /<option value="">Unassigned<\/option>/);
    const technician = (await (await as('technician')).get(`/fleet/${w.deviceA}`)).html;
    assert.ok(technician.includes(formAction(w.deviceA)), 'technician of the farm: the form');
    assert.match(technician, new RegExp(`<option value="${w.farmA}" selected="">Maple Farm</option>`));
    assert.ok(!technician.includes(w.farmB), 'only the farms they are technician of are offered');
    const farmer = await (await as('farmer')).get(`/fleet/${w.deviceA}`);
    assert.equal(farmer.status, 200);
    assert.ok(!farmer.html.includes(formAction(w.deviceA)), 'farmer: no form');
  });

  test('a technician claims an unassigned Pi for their farm, then releases it; a farm they cannot see is refused (422), nothing written', async () => {
    const device = await seedDevice(ctx.db.sql, 'dev-claim', null);
    const tech = await as('technician');
    const page = (await tech.get(`/fleet/${device}`)).html;
    assert.ok(page.includes(formAction(device)), 'an unassigned device: the form');
    const claimed = await tech.post(`/fleet/${device}`, { label: 'Chute Pi', farm_id: w.farmA });
    assert.equal(claimed.status, 303);
    assert.deepEqual(await stored(device), { label: 'Chute Pi', farm_id: w.farmA });
    // Birch Farm is not theirs: they cannot see it (422 beside the field), nothing written.
    const away = await tech.post(`/fleet/${device}`, { label: 'Moved', farm_id: w.farmB });
    assert.equal(away.status, 422);
    assert.match(textById(away.html, 'field-farm_id-error') ?? '', /Farm is not a farm you can see/);
    assert.deepEqual(await stored(device), { label: 'Chute Pi', farm_id: w.farmA });
    const released = await tech.post(`/fleet/${device}`, { label: '', farm_id: '' });
    assert.equal(released.status, 303);
    assert.deepEqual(await stored(device), { label: null, farm_id: null });
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
    assert.match(
      textById(gone.html, 'field-farm_id-error') ?? '',
      /^Error: Farm is not a farm you can see\.$/,
    );
    const garbage = await admin.post(`/fleet/${w.deviceA}`, { label: 'Chute Pi', farm_id: 'Maple Farm' });
    assert.equal(garbage.status, 422);
    assert.match(textById(garbage.html, 'field-farm_id-error') ?? '', /Farm must be/);
    assert.deepEqual(await stored(w.deviceA), { label: 'Chute Pi', farm_id: w.farmA });
  });

  test('farmers and read-only members who see the device are refused (403), those who do not get a 404, CSRF is checked', async () => {
    const fields = { label: 'Mine', farm_id: w.farmA };
    assert.equal((await (await as('farmer')).post(`/fleet/${w.deviceA}`, fields)).status, 403);
    assert.equal((await (await as('technician')).post(`/fleet/${w.deviceB}`, fields)).status, 404);
    assert.equal((await (await as('stranger')).post(`/fleet/${w.deviceA}`, fields)).status, 404);
    // Both roles, farmer of Cedar Farm only: they see its device but do not write on Cedar Farm.
    const cedar = await seedFarm(ctx.db.sql, 'Cedar Farm', { lon: -81, lat: 44 });
    const cedarDevice = await seedDevice(ctx.db.sql, 'dev-cedar', cedar);
    const both = await seedUser(ctx.db.sql, 'both@example.com', ['farmer', 'technician'], {
      farms: [
        { id: cedar, as: 'farmer' },
        { id: w.farmA, as: 'technician' },
      ],
    });
    const bothClient = await pageClient(ctx.server.app, both.email);
    assert.equal((await bothClient.get(`/fleet/${cedarDevice}`)).status, 200);
    assert.equal(
      (await bothClient.post(`/fleet/${cedarDevice}`, fields)).status,
      403,
      'a farm they only read',
    );
    assert.equal(
      (await bothClient.post(`/fleet/${w.deviceA}`, { label: 'Theirs', farm_id: cedar })).status,
      403,
      'moving to a farm they only read',
    );
    assert.deepEqual(await stored(cedarDevice), { label: null, farm_id: cedar });
    const admin = await as('admin');
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, fields, { csrf: 'forged' })).status, 403);
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, fields, { csrf: false })).status, 403);
    assert.notEqual((await stored(w.deviceA)).label, 'Mine');
    assert.notEqual((await stored(w.deviceA)).label, 'Theirs');
  });

  test('“Moved on” dates a move recorded late in the new farm’s local time; its refusals are shown beside the field, nothing written', async () => {
    const device = await seedDevice(ctx.db.sql, 'dev-carried', w.farmA);
    const admin = await as('admin');
    const page = (await admin.get(`/fleet/${device}`)).html;
    assert.match(page, /<input id="field-moved_at" name="moved_at" type="datetime-local"/);
    // Birch Farm is in Toronto's zone (UTC−5 in December): two days ago at its local 08:30.
    const day = new Date(Date.now() - 2 * 86_400_000);
    const local = `${day.toISOString().slice(0, 10)}T08:30`;
    const future = `${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}T08:30`;
    const ahead = await admin.post(`/fleet/${device}`, { label: '', farm_id: w.farmB, moved_at: future });
    assert.equal(ahead.status, 422);
    assert.match(textById(ahead.html, 'field-moved_at-error') ?? '', /Moved on is in the future/);
    const bad = await admin.post(`/fleet/${device}`, { label: '', farm_id: w.farmB, moved_at: 'soon' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-moved_at-error') ?? '', /Moved on must be a date and time/);
    const same = await admin.post(`/fleet/${device}`, { label: '', farm_id: w.farmA, moved_at: local });
    assert.equal(same.status, 422);
    assert.match(
      textById(same.html, 'field-moved_at-error') ?? '',
      /only with a change of Farm: .*\(give Farm, not/,
    );
    assert.equal((await stored(device)).farm_id, w.farmA);
    // Uploaded before the move was recorded: taken on Birch an hour after it, filed on Maple by the device's farm.
    const [scan] = await ctx.db.sql<{ id: string }[]>`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at)
      VALUES ('cap-carried', 'cap-carried', ${device}, ${w.farmA}, ${`${local.slice(0, 10)}T14:30:00Z`}) RETURNING id`;
    await ctx.db.sql`INSERT INTO scan_events (scan_id, event, meta)
                     VALUES (${scan!.id}, 'ingested', '{"farm_source": "device"}')`;
    const moved = await admin.post(`/fleet/${device}`, {
      label: '',
      farm_id: w.farmB,
      moved_at: local,
      refile_scans: 'on',
    });
    assert.equal(moved.status, 303, moved.html);
    assert.equal(moved.location, `/fleet/${device}?candidates=1&refiled=1&done=device-moved-late`);
    const after = strip((await admin.get(moved.location!)).html);
    assert.match(after, /1 scan captured since then moved from the old farm to the new one/);
    const [refiled] = await ctx.db.sql`SELECT farm_id FROM scans WHERE id = ${scan!.id}`;
    assert.equal(refiled!.farm_id, w.farmB);
    const [move] = await ctx.db.sql<{ moved_at: Date }[]>`
      SELECT moved_at FROM device_farm_moves WHERE device_id = ${device}`;
    assert.equal(move!.moved_at.toISOString(), `${local}:00.000Z`.replace('T08:30', 'T13:30'));
  });

  test('“Moved on” written as its error suggests (a space, not “T”) with an upper-case farm id is read in that farm’s zone (review r18 F3, F4)', async () => {
    const device = await seedDevice(ctx.db.sql, 'dev-typed', w.farmA);
    const admin = await as('admin');
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const moved = await admin.post(`/fleet/${device}`, {
      label: '',
      farm_id: w.farmB.toUpperCase(),
      moved_at: `${day} 08:30`,
    });
    assert.equal(moved.status, 303, moved.html);
    const [move] = await ctx.db.sql<{ moved_at: Date }[]>`
      SELECT moved_at FROM device_farm_moves WHERE device_id = ${device}`;
    // Birch Farm is in Toronto's zone (UTC−5 in December).
    assert.equal(move!.moved_at.toISOString(), `${day}T13:30:00.000Z`);
  });

  test('after “Moved on”, the page says what it left: scans an unsynced clock cannot place, and a claim’s none (review r17 F2, F8)', async () => {
    const admin = await as('admin');
    const local = `${new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10)}T08:30`;
    const device = await seedDevice(ctx.db.sql, 'dev-fake-clock', w.farmA);
    // Taken (by its unsynchronised clock) an hour after the move: the day ingest allows holds the move.
    const [scan] = await ctx.db.sql<{ id: string }[]>`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at)
      VALUES ('cap-fake', 'cap-fake', ${device}, ${w.farmA}, ${`${local.slice(0, 10)}T14:30:00Z`}) RETURNING id`;
    await ctx.db.sql`INSERT INTO scan_events (scan_id, event, meta)
                     VALUES (${scan!.id}, 'ingested', '{"farm_source": "device", "clock_unsynced": true}')`;
    const moved = await admin.post(`/fleet/${device}`, {
      label: '',
      farm_id: w.farmB,
      moved_at: local,
      refile_scans: 'on',
    });
    assert.equal(moved.location, `/fleet/${device}?candidates=0&refiled=0&unsynced=1&done=device-moved-late`);
    assert.match(
      strip((await admin.get(moved.location!)).html),
      /1 scan not moved: the Pi.s clock was not synced/,
    );
    const [kept] = await ctx.db.sql`SELECT farm_id FROM scans WHERE id = ${scan!.id}`;
    assert.equal(kept!.farm_id, w.farmA);

    const unassigned = await seedDevice(ctx.db.sql, 'dev-unclaimed', null);
    const claimed = await admin.post(`/fleet/${unassigned}`, {
      label: '',
      farm_id: w.farmB,
      moved_at: local,
      refile_scans: 'on',
    });
    assert.equal(
      claimed.location,
      `/fleet/${unassigned}?candidates=0&refiled=0&claim=1&done=device-moved-late`,
    );
    assert.match(
      strip((await admin.get(claimed.location!)).html),
      /The device had no farm before, so no scans were moved: its earlier scans were filed without a farm/,
    );
  });
});
