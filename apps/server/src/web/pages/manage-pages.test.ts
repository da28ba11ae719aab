import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// The pages that manage things, through app.request on a real database: animals (chart, forms),
// farms (map, geofence edit with clear errors, membership by owners), fleet health, groups,
// notifications (badge, mark read), and the admin pages (users, account requests, announcements).
// Every form: POST + 303 when done, the form again with the error beside its field when not.

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
const sql = () => ctx.db.sql;

describe('animals', () => {
  test("an animal's page charts its ribeye area and fat thickness over time, in the farm's calendar", async () => {
    const res = await (await as('farmer')).get(`/animals/${w.animal}`);
    assert.equal(res.status, 200);
    assert.match(res.html, /<svg[^>]*role="img"/);
    assert.match(res.html, /Ribeye area and fat thickness of A-101/);
    // The scan without pixel spacing is a marked gap, never a point at 0.
    assert.match(strip(res.html), /no pixel spacing/);
    assert.match(strip(res.html), /Spring heifers/);
    assert.ok(!res.html.includes('<form method="post" action="/animals/'), 'a farmer gets no edit form');
    assert.equal((await (await as('stranger')).get(`/animals/${w.animal}`)).status, 404);
  });

  test('technicians add and edit animals; errors sit beside the fields; farmers are refused', async () => {
    const tech = await as('technician');
    const bad = await tech.post('/animals', { farm_id: w.farmA, tag_id: '', eid: '123', birth_date: 'soon' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-tag_id-error') ?? '', /Tag must not be empty/);
    assert.match(textById(bad.html, 'field-eid-error') ?? '', /15-digit/);
    assert.match(textById(bad.html, 'field-birth_date-error') ?? '', /Birth date must be a valid date/);
    const dup = await tech.post('/animals', { farm_id: w.farmA, tag_id: 'A-101' });
    assert.equal(dup.status, 422);
    assert.match(
      textById(dup.html, 'field-tag_id-error') ?? '',
      /already used by another animal of this farm/,
    );
    const made = await tech.post('/animals', { farm_id: w.farmA, tag_id: 'A-202', sex: 'steer' });
    assert.equal(made.status, 303);
    const id = /\/animals\/([0-9a-f-]{36})\?done=animal-created/.exec(made.location ?? '')?.[1];
    assert.ok(id);
    const edited = await tech.post(`/animals/${id}`, {
      farm_id: w.farmA,
      tag_id: 'A-202',
      breed: 'Hereford',
      sex: '',
    });
    assert.equal(edited.status, 303);
    const [row] = await sql()`SELECT breed, sex FROM animals WHERE id = ${id}`;
    assert.deepEqual({ ...row }, { breed: 'Hereford', sex: null });
    const farmer = await as('farmer');
    assert.equal((await farmer.post('/animals', { farm_id: w.farmA, tag_id: 'A-303' })).status, 403);
    // Moving an animal to a farm the technician cannot see is refused beside the farm field.
    const moved = await tech.post(`/animals/${id}`, { farm_id: w.farmB, tag_id: 'A-202' });
    assert.equal(moved.status, 422);
    assert.match(textById(moved.html, 'field-farm_id-error') ?? '', /not a farm you can see/);
  });

  test('a tampered page link (cursor) is a 422 naming it, never a 500 — the API refuses the same cursors', async () => {
    const farmer = await as('farmer');
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    // Well-formed JSON of the right shape, but an id that is no uuid or a tag Postgres cannot hold.
    for (const c of [
      cursor(['A-101', 'not-a-uuid']),
      cursor(['\u0000', '00000000-0000-4000-8000-000000000000']),
    ]) {
      const page = await farmer.get(`/animals?cursor=${c}`);
      assert.equal(page.status, 422, c);
      assert.match(strip(page.html), /cursor is not one this API returned/);
      const api = await farmer.api.request('GET', `/api/v1/animals?cursor=${c}`);
      assert.equal(api.status, 422, c);
    }
    // The cursor the page itself writes still works.
    const own = cursor(['A-100', '00000000-0000-4000-8000-000000000000']);
    assert.equal((await farmer.get(`/animals?cursor=${own}`)).status, 200);
  });
});

describe('farms', () => {
  test('the farm page maps the geofence and the scan positions, in the farm’s time zone', async () => {
    const res = await (await as('farmer')).get(`/farms/${w.farmA}`);
    assert.equal(res.status, 200);
    assert.match(res.html, /<path class="geofence"/);
    assert.equal((res.html.match(/class="scan-point /g) ?? []).length, 3);
    assert.match(strip(res.html), /Local time zone America\/Toronto/);
    assert.equal((await (await as('farmer')).get(`/farms/${w.farmB}`)).status, 404);
  });

  test('geofence edit: invalid JSON, a self-crossing ring and an unclosed ring are named beside the field', async () => {
    const tech = await as('technician');
    const notJson = await tech.post(`/farms/${w.farmA}`, {
      name: 'Maple Farm',
      geofence: '{"type": "Polygon",',
    });
    assert.equal(notJson.status, 422);
    assert.match(textById(notJson.html, 'field-geofence-error') ?? '', /Geofence is not valid JSON/);
    const bowtie = JSON.stringify({
      type: 'Polygon',
      coordinates: [
        [
          [-79.4, 43.6],
          [-79.3, 43.7],
          [-79.3, 43.6],
          [-79.4, 43.7],
          [-79.4, 43.6],
        ],
      ],
    });
    const crossed = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm', geofence: bowtie });
    assert.equal(crossed.status, 422);
    assert.match(textById(crossed.html, 'field-geofence-error') ?? '', /Self-intersection/);
    const open = JSON.stringify({
      type: 'Polygon',
      coordinates: [
        [
          [-79.4, 43.6],
          [-79.3, 43.6],
          [-79.3, 43.7],
          [-79.4, 43.7],
        ],
      ],
    });
    const unclosed = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm', geofence: open });
    assert.match(textById(unclosed.html, 'field-geofence-error') ?? '', /not closed/);
    // geojson.io's FeatureCollection is accepted.
    const square = [
      [-79.39, 43.64],
      [-79.37, 43.64],
      [-79.37, 43.66],
      [-79.39, 43.66],
      [-79.39, 43.64],
    ];
    const fc = JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [square] } }],
    });
    const saved = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm', geofence: fc });
    assert.equal(saved.status, 303);
    const [farm] = await sql()`SELECT ST_AsGeoJSON(geofence)::json AS g FROM farms WHERE id = ${w.farmA}`;
    assert.deepEqual(farm!.g.coordinates, [square]);
    assert.equal(
      (await (await as('farmer')).post(`/farms/${w.farmA}`, { name: 'Mine', geofence: '' })).status,
      403,
    );
  });

  test('a geofence text without a geometry is refused beside the field, the fence kept; only an empty box removes it (r18 F7)', async () => {
    const tech = await as('technician');
    const geofence = async () =>
      (await sql()`SELECT ST_AsText(geofence) AS g FROM farms WHERE id = ${w.farmA}`)[0]!.g as string | null;
    await sql()`UPDATE farms SET geofence = ST_GeomFromText('POLYGON((-79.39 43.64,-79.37 43.64,-79.37 43.66,-79.39 43.64))', 4326) WHERE id = ${w.farmA}`;
    const before = await geofence();
    assert.ok(before);
    for (const [text, message] of [
      ['{"type":"Feature"}', /Geofence has no geometry in the Feature: a Feature needs a geometry/],
      ['{"type":"Feature","geometry":null}', /Geofence has no geometry in the Feature/],
      ['{"type":"FeatureCollection","features":[]}', /Geofence is a FeatureCollection with no features/],
      ['{"type":"FeatureCollection","features":[{}]}', /Geofence holds something that is not a Feature/],
      [
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{}}]}',
        /Geofence has no geometry in the FeatureCollection's Feature/,
      ],
    ] as const) {
      const res = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm', geofence: text });
      assert.equal(res.status, 422, text);
      assert.match(textById(res.html, 'field-geofence-error') ?? '', message, text);
      assert.equal(await geofence(), before, `${text}: the geofence is kept`);
    }
    // What the map editor sends to remove the geofence: the box emptied.
    const cleared = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm', geofence: '' });
    assert.equal(cleared.status, 303);
    assert.equal(await geofence(), null);
  });

  test('edit forms: a field absent from the form keeps the stored value, only a field sent empty clears it (r18 F9)', async () => {
    const tech = await as('technician');
    const admin = await as('admin');
    // Animal: only the farm and tag sent.
    const animal = async () =>
      ({
        ...(
          await sql()`SELECT tag_id, eid, breed, sex, to_char(birth_date, 'YYYY-MM-DD') AS birth_date
                        FROM animals WHERE id = ${w.animal}`
        )[0],
      }) as Record<string, unknown>;
    const before = await animal();
    assert.ok(before.eid && before.breed && before.sex && before.birth_date, 'the seed fills them');
    const tagOnly = await tech.post(`/animals/${w.animal}`, {
      farm_id: w.farmA,
      tag_id: before.tag_id as string,
    });
    assert.equal(tagOnly.status, 303);
    assert.deepEqual(await animal(), before);
    const breedCleared = await tech.post(`/animals/${w.animal}`, {
      farm_id: w.farmA,
      tag_id: 'A-101',
      breed: '',
    });
    assert.equal(breedCleared.status, 303);
    assert.deepEqual(await animal(), { ...before, breed: null });
    await sql()`UPDATE animals SET breed = ${before.breed as string} WHERE id = ${w.animal}`;

    // Farm: only the name sent, the geofence stays.
    await sql()`UPDATE farms SET geofence = ST_GeomFromText('POLYGON((-79.39 43.64,-79.37 43.64,-79.37 43.66,-79.39 43.64))', 4326) WHERE id = ${w.farmA}`;
    const nameOnly = await tech.post(`/farms/${w.farmA}`, { name: 'Maple Farm' });
    assert.equal(nameOnly.status, 303);
    const [farm] = await sql()`SELECT name, geofence IS NOT NULL AS fenced FROM farms WHERE id = ${w.farmA}`;
    assert.deepEqual({ ...farm }, { name: 'Maple Farm', fenced: true });

    // Group: only the name sent, the birth-date window stays.
    const group = async () =>
      ({
        ...(
          await sql()`SELECT name, birth_date_from::text AS f, birth_date_to::text AS t
                        FROM contemporary_groups WHERE id = ${w.group}`
        )[0],
      }) as Record<string, unknown>;
    const window = await group();
    assert.ok(window.f && window.t, 'the seed fills the window');
    const renamed = await tech.post(`/groups/${w.group}`, { name: 'Renamed heifers' });
    assert.equal(renamed.status, 303);
    assert.deepEqual(await group(), { ...window, name: 'Renamed heifers' });
    await tech.post(`/groups/${w.group}`, { name: window.name as string });

    // User: roles only (checkboxes, as a browser sends them); name, status and operator code stay.
    await sql()`UPDATE users SET full_name = 'Spare Tech', operator_code = 'OP-7' WHERE id = ${w.users.spareTech.id}`;
    const rolesOnly = await admin.post(`/admin/users/${w.users.spareTech.id}`, { roles: 'technician' });
    assert.equal(rolesOnly.status, 303, strip(rolesOnly.html).slice(0, 300));
    const [user] =
      await sql()`SELECT full_name, status, operator_code FROM users WHERE id = ${w.users.spareTech.id}`;
    assert.deepEqual({ ...user }, { full_name: 'Spare Tech', status: 'active', operator_code: 'OP-7' });
    const codeCleared = await admin.post(`/admin/users/${w.users.spareTech.id}`, {
      roles: 'technician',
      operator_code: '',
    });
    assert.equal(codeCleared.status, 303);
    const [after] = await sql()`SELECT operator_code FROM users WHERE id = ${w.users.spareTech.id}`;
    assert.equal(after!.operator_code, null);

    // Device "Label and farm": only the label sent, the farm stays (it was unassigned); only the farm
    // sent, the label stays.
    await sql()`UPDATE devices SET label = 'Chute Pi' WHERE id = ${w.deviceA}`;
    const device = async () =>
      ({ ...(await sql()`SELECT label, farm_id FROM devices WHERE id = ${w.deviceA}`)[0] }) as Record<
        string,
        unknown
      >;
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, { label: 'Barn Pi' })).status, 303);
    assert.deepEqual(await device(), { label: 'Barn Pi', farm_id: w.farmA });
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, { farm_id: w.farmA })).status, 303);
    assert.deepEqual(await device(), { label: 'Barn Pi', farm_id: w.farmA });
    assert.equal((await admin.post(`/fleet/${w.deviceA}`, { label: '', farm_id: w.farmA })).status, 303);
    assert.deepEqual(await device(), { label: null, farm_id: w.farmA });
  });

  test('admins create farms (errors beside fields) and cannot delete one still in use', async () => {
    const admin = await as('admin');
    const bad = await admin.post('/farms', { name: '  ', geofence: '' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-name-error') ?? '', /Name must be/);
    const made = await admin.post('/farms', { name: 'Cedar Farm', geofence: '' });
    assert.equal(made.status, 303);
    const inUse = await admin.post(`/farms/${w.farmB}/delete`);
    assert.equal(inUse.status, 409);
    assert.match(strip(inUse.html), /still has scans/);
    const id = /\/farms\/([0-9a-f-]{36})/.exec(made.location ?? '')?.[1];
    assert.equal((await admin.post(`/farms/${id}/delete`)).status, 303);
    assert.equal((await (await as('technician')).post('/farms', { name: 'Tech farm' })).status, 403);
  });

  test('an owner adds and removes technicians, never themselves as the last owner; a technician cannot', async () => {
    const owner = await as('farmer');
    const unknown = await owner.post(`/farms/${w.farmA}/members`, { email: 'nobody@example.com' });
    assert.equal(unknown.status, 422);
    assert.match(textById(unknown.html, 'field-email-error') ?? '', /no active farmer or technician/);
    const added = await owner.post(`/farms/${w.farmA}/members`, { email: w.users.spareTech.email });
    assert.equal(added.status, 303);
    assert.match((await owner.get(`/farms/${w.farmA}`)).html, /spare-tech@example\.com/);
    const removed = await owner.post(`/farms/${w.farmA}/members/${w.users.spareTech.id}/remove`, {
      linked_as: 'technician',
    });
    assert.equal(removed.status, 303);
    const farmerLink = { linked_as: 'farmer' };
    assert.equal(
      (await owner.post(`/farms/${w.farmA}/members/${w.users.farmer.id}/remove`, farmerLink)).status,
      403,
    );
    const tech = await as('technician');
    assert.equal(
      (await tech.post(`/farms/${w.farmA}/members`, { email: w.users.spareTech.email })).status,
      403,
    );
    const admin = await as('admin');
    const last = await admin.post(`/farms/${w.farmA}/members/${w.users.farmer.id}/remove`, farmerLink);
    assert.equal(last.status, 409);
    assert.match(strip(last.html), /keeps at least one active owner/);
  });

  test("the farm's last ACTIVE owner is neither removed nor demoted from the farm or user pages while only a disabled owner remains", async () => {
    const farm = await seedFarm(sql(), 'Cedar Farm');
    const active = await seedUser(sql(), 'cedar-active@example.com', ['farmer'], {
      farms: [{ id: farm, owner: true }],
    });
    const disabled = await seedUser(sql(), 'cedar-disabled@example.com', ['farmer'], {
      farms: [{ id: farm, owner: true }],
    });
    await sql()`UPDATE users SET status = 'disabled' WHERE id = ${disabled.id}`;
    const owners = async () =>
      (
        await sql()<{ user_id: string }[]>`
          SELECT user_id FROM user_farms WHERE farm_id = ${farm} AND is_owner ORDER BY user_id`
      ).map((r) => r.user_id);
    const before = await owners();
    const admin = await as('admin');
    const attempts = [
      await admin.post(`/farms/${farm}/members/${active.id}/remove`, { linked_as: 'farmer' }),
      // Re-adding without "Owner" ticked demotes.
      await admin.post(`/farms/${farm}/members`, { email: active.email }),
      await admin.post(`/admin/users/${active.id}/farms/${farm}/remove`, { linked_as: 'farmer' }),
      await admin.post(`/admin/users/${active.id}/farms`, { farm_id: farm }),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 409);
      assert.match(strip(res.html), /keeps at least one active owner/);
    }
    assert.deepEqual(await owners(), before, 'nothing written');

    const second = await seedUser(sql(), 'cedar-second@example.com', ['farmer']);
    assert.equal(
      (await admin.post(`/admin/users/${second.id}/farms`, { farm_id: farm, is_owner: 'on' })).status,
      303,
    );
    assert.equal((await admin.post(`/farms/${farm}/members`, { email: active.email })).status, 303);
    assert.equal(
      (await admin.post(`/admin/users/${active.id}/farms/${farm}/remove`, { linked_as: 'farmer' })).status,
      303,
    );
    assert.deepEqual(await owners(), [disabled.id, second.id].sort());
    const [link] = await sql()`SELECT 1 FROM user_farms WHERE farm_id = ${farm} AND user_id = ${active.id}`;
    assert.equal(link, undefined, 'removed');
  });

  test("an admin's Remove takes away the one link named: a member linked as farmer (owner) and as technician keeps reading, stops writing", async () => {
    const farm = await seedFarm(sql(), 'Birch Farm');
    // Both roles, owner: a farmer link (owner) and a technician link to the farm.
    const both = await seedUser(sql(), 'birch-both@example.com', ['farmer', 'technician'], {
      farms: [{ id: farm, owner: true }],
    });
    const links = async () =>
      (
        await sql()<{ role: string; is_owner: boolean }[]>`
          SELECT role, is_owner FROM user_farms WHERE farm_id = ${farm} AND user_id = ${both.id} ORDER BY role`
      ).map((r) => `${r.role}${r.is_owner ? ' (owner)' : ''}`);
    assert.deepEqual(await links(), ['farmer (owner)', 'technician']);
    const member = await pageClient(ctx.server.app, both.email);
    const edit = { name: 'Birch Farm', geofence: '' };
    assert.equal((await member.post(`/farms/${farm}`, edit)).status, 303, 'writes as technician');

    const admin = await as('admin');
    const page = await admin.get(`/farms/${farm}`);
    const asTechnician = removeForm(page.html, 'birch-both@example.com as technician');
    assert.deepEqual(removeForm(page.html, 'birch-both@example.com as farmer')?.fields, {
      linked_as: 'farmer',
    });
    assert.ok(asTechnician, 'one Remove per link');
    assert.deepEqual(asTechnician.fields, { linked_as: 'technician' });
    assert.match(textById(page.html, 'farm-members') ?? '', /farmer \(owner\) and technician/);
    const removed = await admin.post(asTechnician.action, asTechnician.fields);
    assert.equal(removed.status, 303);
    assert.deepEqual(await links(), ['farmer (owner)'], 'the farmer (owner) link stays');
    assert.equal((await member.get(`/farms/${farm}`)).status, 200, 'still reads the farm');
    assert.equal((await member.post(`/farms/${farm}`, edit)).status, 403, 'no longer writes');
    assert.equal((await member.post('/animals', { farm_id: farm, tag_id: 'B-1' })).status, 403);

    // The farmer link is the farm's last owner: refused, said above the members, nothing written.
    const after = await admin.get(`/farms/${farm}`);
    assert.equal(removeForm(after.html, 'birch-both@example.com as technician'), undefined);
    const last = removeForm(after.html, 'birch-both@example.com as farmer');
    assert.ok(last);
    const refused = await admin.post(last.action, last.fields);
    assert.equal(refused.status, 409);
    assert.match(textById(refused.html, 'members') ?? '', /Birch Farm keeps at least one active owner/);
    assert.deepEqual(await links(), ['farmer (owner)']);

    // A form that does not say which link, or says something else: 422 naming the field, from both pages.
    for (const path of [
      `/farms/${farm}/members/${both.id}/remove`,
      `/admin/users/${both.id}/farms/${farm}/remove`,
    ]) {
      const unsaid = await admin.post(path);
      assert.equal(unsaid.status, 422, path);
      assert.match(strip(unsaid.html), /Linked as must say which link to remove: "farmer" or "technician"\./);
      const bad = await admin.post(path, { linked_as: 'owner' });
      assert.equal(bad.status, 422, path);
      assert.match(strip(bad.html), /Linked as must be "farmer" or "technician"\./);
    }
    assert.deepEqual(await links(), ['farmer (owner)'], 'nothing removed');
  });
});

/** The remove form on a page whose button reads `label` (visually hidden text included): its action and hidden fields. */
function removeForm(html: string, label: string) {
  for (const form of html.split('<form').slice(1)) {
    const body = form.slice(0, form.indexOf('</form>'));
    if (!strip(`<form${body}`).endsWith(`Remove ${label}`)) continue;
    const action = /action="([^"]+)"/.exec(body)?.[1] ?? '';
    const fields = Object.fromEntries(
      [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)]
        .map((m) => [m[1]!, m[2]!] as const)
        .filter(([name]) => name !== '_csrf'),
    );
    return { action, fields };
  }
  return undefined;
}

describe('fleet', () => {
  test('devices with their health badges: backlog and silence flagged, a device never heard says so', async () => {
    await sql()`
      INSERT INTO device_health (device_id, heartbeat_id, received_at, sent_at, clock_skew_ms, agent_version, uptime_s,
                                 pending_captures, pending_bytes, oldest_pending_age_s, quarantined, disk_free_bytes,
                                 clock_synced, clock_offset_ms, probe_connected, body, backlog_since)
      VALUES (${w.deviceA}, 1, now() - interval '2 hours', now() - interval '2 hours', 0, '0.4.1', 3600, 140, 5000000,
              4000, 0, 8000000000, true, 12, true, '{}', now() - interval '2 hours')`;
    const res = await (await as('technician')).get('/fleet');
    assert.equal(res.status, 200);
    const fleet = textById(res.html, 'fleet') ?? '';
    assert.match(fleet, /dev-a Problem: silent for 2 h 0 min Problem: backlog: 140 waiting/);
    assert.match(fleet, /7\.5 GB/);
    assert.match(fleet, /0\.4\.1/);
    assert.ok(!fleet.includes('dev-b'), "another farm's device is not listed");
    const admin = textById((await (await as('admin')).get('/fleet')).html, 'fleet') ?? '';
    assert.match(admin, /dev-b Unknown: no heartbeat yet/);
  });
});

describe('device page and calibration', () => {
  test('whoever sees the device reads its calibration; only admins get the form; another farm’s device is 404', async () => {
    const tech = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    assert.equal(tech.status, 200);
    assert.match(strip(tech.html), /Device dev-a/);
    assert.match(textById(tech.html, 'calibration-none') ?? '', /No calibration/);
    assert.ok(!tech.html.includes(`action="/fleet/${w.deviceA}/calibration`), 'a technician gets no form');
    assert.equal((await (await as('farmer')).get(`/fleet/${w.deviceA}`)).status, 200);
    assert.equal((await (await as('stranger')).get(`/fleet/${w.deviceA}`)).status, 404);
    const admin = await (await as('admin')).get(`/fleet/${w.deviceA}`);
    assert.match(admin.html, new RegExp(`<form method="post" action="/fleet/${w.deviceA}/calibration"`));
    assert.match(admin.html, /name="_csrf"/);
    const fleet = await (await as('technician')).get('/fleet');
    assert.ok(fleet.html.includes(`href="/fleet/${w.deviceA}"`), 'the fleet links each device to its page');
  });

  test('an admin sets and clears it with the form; errors sit beside the fields; non-admins are refused', async () => {
    const admin = await as('admin');
    const count = async () =>
      Number(
        (await sql()`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${w.deviceA}`)[0]!
          .n,
      );
    const bad = await admin.post(`/fleet/${w.deviceA}/calibration`, { pixel_spacing_mm: '7', note: 'x' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-pixel_spacing_mm-error') ?? '', /Pixel spacing must be <= 5/);
    assert.match(
      bad.html,
      /name="note"[^>]*value="x"|value="x"[^>]*name="note"/,
      'the values stay in the form',
    );
    // Neither a spacing nor an aspect: both fields say one of them is needed.
    const empty = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '',
      pixel_aspect: ' ',
    });
    assert.equal(empty.status, 422);
    assert.match(
      textById(empty.html, 'field-pixel_spacing_mm-error') ?? '',
      /Pixel spacing or the pixel aspect must be given: a calibration sets a spacing, an aspect or both/,
    );
    assert.match(
      textById(empty.html, 'field-pixel_aspect-error') ?? '',
      /Pixel aspect or the pixel spacing must be given/,
    );
    // An aspect alone with a bad one: the error sits beside the aspect, none beside the empty spacing.
    const onlyBad = await admin.post(`/fleet/${w.deviceA}/calibration`, { pixel_aspect: '3' });
    assert.equal(onlyBad.status, 422);
    assert.match(textById(onlyBad.html, 'field-pixel_aspect-error') ?? '', /Pixel aspect must be <= 2/);
    assert.equal(textById(onlyBad.html, 'field-pixel_spacing_mm-error'), undefined);
    const half = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '0.3',
      image_width: '940',
    });
    assert.equal(half.status, 422);
    assert.match(
      textById(half.html, 'field-image_height-error') ?? '',
      /Image height must be given with the other/,
    );
    const when = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '0.3',
      valid_from: 'monday',
    });
    assert.equal(when.status, 422);
    assert.match(
      textById(when.html, 'field-valid_from-error') ?? '',
      /Valid from must be a date such as 2025-09-01/,
    );
    const aspect = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '0.3',
      pixel_aspect: '4:3',
    });
    assert.equal(aspect.status, 422);
    assert.match(textById(aspect.html, 'field-pixel_aspect-error') ?? '', /Pixel aspect must be number/);
    const wide = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '0.3',
      pixel_aspect: '2.4',
    });
    assert.match(textById(wide.html, 'field-pixel_aspect-error') ?? '', /Pixel aspect must be <= 2/);
    assert.equal(await count(), 0, 'nothing written');

    const set = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: '0.29586',
      pixel_aspect: '0.8889',
      image_width: '940',
      image_height: '720',
      valid_from: '2025-01-01',
      note: 'LV5-2 at 20 cm',
    });
    assert.equal(set.status, 303, set.html);
    assert.equal(set.location, `/fleet/${w.deviceA}?done=calibration-set`);
    const [row] = await sql()`
      SELECT pixel_spacing_mm::float8 AS mm, pixel_aspect::float8 AS aspect, image_width, image_height, valid_from, note, created_by
        FROM device_calibrations WHERE device_id = ${w.deviceA}`;
    assert.deepEqual(
      { ...row },
      {
        mm: 0.29586,
        aspect: 0.8889,
        image_width: 940,
        image_height: 720,
        valid_from: new Date('2025-01-01T00:00:00Z'),
        note: 'LV5-2 at 20 cm',
        created_by: w.users.admin.id,
      },
    );
    const shown = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    const table = textById(shown.html, 'calibrations') ?? '';
    assert.match(table, /0\.29586 mm\/px/);
    assert.match(table, /0\.8889/);
    assert.match(table, /940×720/);
    assert.match(table, new RegExp(w.users.admin.email));

    const tech = await as('technician');
    assert.equal(
      (await tech.post(`/fleet/${w.deviceA}/calibration`, { pixel_spacing_mm: '0.3' })).status,
      403,
    );
    assert.equal((await tech.post(`/fleet/${w.deviceA}/calibration/clear`, {})).status, 403);
    assert.equal((await tech.post(`/fleet/${w.deviceB}/calibration/clear`, {})).status, 404);

    // The aspect alone (a grabber whose depth changes): the spacing column says where it comes from.
    const aspectOnly = await admin.post(`/fleet/${w.deviceA}/calibration`, {
      pixel_spacing_mm: ' ',
      pixel_aspect: '0.889',
      note: 'grabber',
    });
    assert.equal(aspectOnly.status, 303, aspectOnly.html);
    const [stored] = await sql()`
      SELECT pixel_spacing_mm, pixel_aspect::float8 AS aspect FROM device_calibrations
       WHERE device_id = ${w.deviceA} AND note = 'grabber'`;
    assert.deepEqual({ ...stored }, { pixel_spacing_mm: null, aspect: 0.889 });
    const rowOf = (html: string, text: string) =>
      (html.match(/<tr[^>]*>[\s\S]*?<\/tr>/g) ?? []).map(strip).find((r) => r.includes(text)) ?? '';
    const listed = (await (await as('technician')).get(`/fleet/${w.deviceA}`)).html;
    assert.match(rowOf(listed, 'grabber'), /from meta\.json or the ruler\s*0\.889/);

    const clear = await admin.post(`/fleet/${w.deviceA}/calibration/clear`, {});
    assert.equal(clear.status, 303);
    assert.equal(clear.location, `/fleet/${w.deviceA}?done=calibration-cleared`);
    const after = await admin.get(`/fleet/${w.deviceA}?done=calibration-cleared`);
    assert.match(strip(after.html), /Calibration cleared/);
    assert.match(textById(after.html, 'calibrations') ?? '', /withdrawn \(cleared\)/);
    assert.equal(await count(), 3);
  });

  test('the checkbox "Regrade this device\'s scans" queues, with the row, one job per scan it applies to', async () => {
    const admin = await as('admin');
    const page = await admin.get(`/fleet/${w.deviceB}`);
    assert.match(page.html, /<input[^>]*type="checkbox"[^>]*name="regrade"/);
    assert.match(strip(page.html), /Regrade this device's scans from “Valid from”/);
    // The scans of device B captured from 2020 on (each with no job waiting yet, or one already).
    const expected = async () =>
      (
        await sql()<{ n: number }[]>`
          SELECT count(*)::int AS n FROM scans s WHERE s.device_id = ${w.deviceB}
             AND coalesce(s.captured_at, now()) >= '2020-01-01'
             AND NOT EXISTS (SELECT 1 FROM grading_jobs j WHERE j.scan_id = s.id AND j.status IN ('queued', 'running'))`
      )[0]!.n;
    const toQueue = await expected();
    assert.ok(toQueue > 0, 'the dashboard world has scans on device B');
    const set = await admin.post(`/fleet/${w.deviceB}/calibration`, {
      pixel_spacing_mm: '0.3',
      valid_from: '2020-01-01',
      regrade: 'on',
    });
    assert.equal(set.status, 303, set.html);
    assert.equal(set.location, `/fleet/${w.deviceB}?queued=${toQueue}&done=calibration-set-regraded`);
    assert.equal(await expected(), 0, 'every scan it applies to waits for a job');
    const [dup] = await sql()<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (
        SELECT j.scan_id FROM grading_jobs j JOIN scans s ON s.id = j.scan_id
         WHERE s.device_id = ${w.deviceB} AND j.status IN ('queued', 'running')
         GROUP BY j.scan_id HAVING count(*) > 1) d`;
    assert.equal(dup!.n, 0, 'never two waiting jobs for a scan');
    const shown = await admin.get(set.location!);
    assert.match(
      strip(shown.html),
      new RegExp(`${toQueue} regrade jobs? queued for the scans it applies to`),
    );
    // Without the box: the row only.
    const plain = await admin.post(`/fleet/${w.deviceB}/calibration`, { pixel_spacing_mm: '0.31' });
    assert.equal(plain.location, `/fleet/${w.deviceB}?done=calibration-set`);
  });
});

describe('groups', () => {
  test('create with errors beside fields, add and remove animals (window checked), delete', async () => {
    const tech = await as('technician');
    const bad = await tech.post('/groups', {
      farm_id: w.farmA,
      name: 'Spring heifers',
      birth_date_from: '2024-06-01',
      birth_date_to: '2024-01-01',
    });
    assert.ok(bad.status === 422 || bad.status === 409);
    const made = await tech.post('/groups', {
      farm_id: w.farmA,
      name: 'Autumn steers',
      birth_date_from: '2024-09-01',
    });
    assert.equal(made.status, 303);
    const id = /\/groups\/([0-9a-f-]{36})/.exec(made.location ?? '')?.[1] ?? 'missing';
    const outside = await tech.post(`/groups/${id}/animals`, { animal_id: w.animal });
    assert.equal(outside.status, 422);
    assert.match(textById(outside.html, 'field-animal_id-error') ?? '', /outside the group's window/);
    const none = await tech.post(`/groups/${id}/animals`, { animal_id: '' });
    assert.match(textById(none.html, 'field-animal_id-error') ?? '', /Animal must be chosen/);
    assert.equal(
      (await tech.post(`/groups/${id}`, { name: 'Autumn steers', birth_date_from: '' })).status,
      303,
    );
    assert.equal((await tech.post(`/groups/${id}/animals`, { animal_id: w.animal })).status, 303);
    assert.match((await tech.get(`/groups/${id}`)).html, /A-101/);
    assert.equal((await tech.post(`/groups/${id}/animals/${w.animal}/remove`)).status, 303);
    assert.equal((await (await as('farmer')).post(`/groups/${id}/delete`)).status, 403);
    assert.equal((await tech.post(`/groups/${id}/delete`)).status, 303);
    assert.equal((await tech.get(`/groups/${id}`)).status, 404);
  });
});

describe('notifications', () => {
  test('the unread badge in the layout, the list in words, mark one and all read; another’s is a 404', async () => {
    await sql()`
      INSERT INTO notifications (user_id, type, payload) VALUES
        (${w.users.farmer.id}, 'scan_graded', ${sql().json({ scan_id: w.scanGraded, capture_id: 'cap_graded', grade: 'A', rea_cm2: 81.4 })}),
        (${w.users.farmer.id}, 'scan_rejected', ${sql().json({ scan_id: w.scanNoSpacing, capture_id: '<b>cap</b>' })})`;
    const farmer = await as('farmer');
    const home = await farmer.get('/');
    assert.match(
      home.html,
      /<span class="badge" aria-hidden="true">2<\/span><span class="visually-hidden">, 2 unread<\/span>/,
    );
    const list = await farmer.get('/notifications');
    assert.match(strip(list.html), /Scan cap_graded graded A, ribeye area 81\.4 cm²/);
    assert.match(list.html, /Scan &lt;b&gt;cap&lt;\/b&gt; rejected/);
    const [n] =
      await sql()`SELECT id FROM notifications WHERE user_id = ${w.users.farmer.id} AND type = 'scan_graded'`;
    assert.equal((await (await as('stranger')).post(`/notifications/${n!.id}/read`)).status, 404);
    assert.equal((await farmer.post(`/notifications/${n!.id}/read`)).status, 303);
    assert.match((await farmer.get('/')).html, /, 1 unread/);
    assert.equal((await farmer.post('/notifications/read-all')).status, 303);
    assert.ok(!(await farmer.get('/')).html.includes('unread'));
  });
});

describe('admin pages', () => {
  test('non-admins get 403 on every admin page', async () => {
    for (const who of ['farmer', 'technician'] as const) {
      const client = await as(who);
      for (const path of [
        '/admin/users',
        `/admin/users/${w.users.farmer.id}`,
        '/admin/registrations',
        '/admin/announcements',
      ])
        assert.equal((await client.get(path)).status, 403, `${who} ${path}`);
    }
  });

  test('users: create (policy beside the password), roles, reset password ends sessions, disable, never the last admin', async () => {
    const admin = await as('admin');
    const weak = await admin.post('/admin/users', {
      email: 'new@example.com',
      full_name: 'New Person',
      roles: 'farmer',
      password: 'password',
    });
    assert.equal(weak.status, 422);
    assert.match(
      textById(weak.html, 'field-password-error') ?? '',
      /Password must be at least 12 characters/,
    );
    const noRole = await admin.post('/admin/users', {
      email: 'new@example.com',
      full_name: 'New',
      password: 'cedar-lane-river-77',
    });
    assert.match(textById(noRole.html, 'field-roles-error') ?? '', /Roles must have at least 1 item/);
    const made = await admin.post('/admin/users', {
      email: 'new@example.com',
      full_name: 'New Person',
      roles: ['farmer', 'technician'],
      password: 'cedar-lane-river-77',
    });
    assert.equal(made.status, 303);
    const id = /\/admin\/users\/([0-9a-f-]{36})/.exec(made.location ?? '')?.[1] ?? 'missing';
    const newcomer = await pageClient(ctx.server.app, 'new@example.com', 'cedar-lane-river-77');
    assert.equal((await newcomer.get('/')).status, 200);
    assert.equal((await admin.post(`/admin/users/${id}/password`, { password: 'short' })).status, 422);
    assert.equal(
      (await admin.post(`/admin/users/${id}/password`, { password: 'willow-creek-bend-12' })).status,
      303,
    );
    assert.equal((await newcomer.get('/')).status, 303, 'reset ends the sessions');
    // Farmer and technician: the admin says in which role the farm is assigned (the error beside the field).
    const unsaid = await admin.post(`/admin/users/${id}/farms`, { farm_id: w.farmA });
    assert.equal(unsaid.status, 422);
    assert.match(textById(unsaid.html, 'field-linked_as-error') ?? '', /both farmer and technician/);
    const assigned = await admin.post(`/admin/users/${id}/farms`, {
      farm_id: w.farmA,
      linked_as: 'technician',
    });
    assert.equal(assigned.status, 303);
    assert.match(strip((await admin.get(`/admin/users/${id}`)).html), /Maple Farm as technician/);
    const [link] = await sql()`SELECT role FROM user_farms WHERE user_id = ${id} AND farm_id = ${w.farmA}`;
    assert.equal(link!.role, 'technician');
    assert.equal(
      (await admin.post(`/admin/users/${id}/farms/${w.farmA}/remove`, { linked_as: 'technician' })).status,
      303,
    );
    assert.equal((await sql()`SELECT 1 FROM user_farms WHERE user_id = ${id}`).length, 0);
    const disabled = await admin.post(`/admin/users/${id}`, {
      full_name: 'New Person',
      roles: 'farmer',
      status: 'disabled',
    });
    assert.equal(disabled.status, 303);
    const [row] = await sql()`SELECT status FROM users WHERE id = ${id}`;
    assert.equal(row!.status, 'disabled');
    const demote = await admin.post(`/admin/users/${w.users.admin.id}`, {
      full_name: 'Admin',
      roles: 'farmer',
      status: 'active',
    });
    assert.equal(demote.status, 409);
    assert.match(strip(demote.html), /last active admin/);
  });

  test("users: a farm's only owner cannot be disabled; the error beside Status names the farm", async () => {
    const admin = await as('admin');
    const refused = await admin.post(`/admin/users/${w.users.stranger.id}`, {
      full_name: 'Stranger',
      roles: 'farmer',
      status: 'disabled',
    });
    assert.equal(refused.status, 409);
    assert.match(textById(refused.html, 'field-status-error') ?? '', /only owner of Birch Farm/);
    const [row] = await sql()`SELECT status, full_name FROM users WHERE id = ${w.users.stranger.id}`;
    assert.deepEqual({ ...row }, { status: 'active', full_name: 'stranger' }, 'nothing written');
  });

  test('account requests: reject needs a reason (beside the field), approve creates the account', async () => {
    const anon = await pageClient(ctx.server.app);
    for (const email of ['ask1@example.com', 'ask2@example.com']) {
      const asked = await anon.post(
        '/register',
        { email, full_name: 'Asker <i>', requested_role: 'technician', password: 'meadow-lark-river-9' },
        { csrf: false },
      );
      assert.equal(asked.status, 200);
    }
    const admin = await as('admin');
    const page = await admin.get('/admin/registrations');
    assert.match(page.html, /Asker &lt;i&gt;/);
    const [r1, r2] =
      await sql()`SELECT id FROM registration_requests WHERE email IN ('ask1@example.com', 'ask2@example.com') ORDER BY email`;
    const noReason = await admin.post(`/admin/registrations/${r1!.id}/reject`, { reason: '   ' });
    assert.equal(noReason.status, 422);
    assert.match(textById(noReason.html, `reason-${r1!.id}-error`) ?? '', /Reason must not be empty/);
    assert.equal(
      (await admin.post(`/admin/registrations/${r1!.id}/reject`, { reason: 'unknown farm' })).status,
      303,
    );
    assert.equal(
      (await admin.post(`/admin/registrations/${r2!.id}/approve`, { role: 'technician', farm_id: w.farmA }))
        .status,
      303,
    );
    const tech = await pageClient(ctx.server.app, 'ask2@example.com', 'meadow-lark-river-9');
    assert.match(strip((await tech.get('/scans')).html), /cap_graded/);
    // The same admin pressing Approve again (double submit) gets the first answer.
    const again = await admin.post(`/admin/registrations/${r2!.id}/approve`, { role: 'technician' });
    assert.equal(again.status, 303);
    assert.equal(again.location, '/admin/registrations?done=registration-approved');
  });

  test('account requests decided already: the page says by whom and when; an email now taken is named with the ways out (r18 F1, F2)', async () => {
    const anon = await pageClient(ctx.server.app);
    for (const email of ['dec-a@example.com', 'dec-b@example.com', 'dec-c@example.com']) {
      const asked = await anon.post(
        '/register',
        { email, full_name: 'Decided', requested_role: 'farmer', password: 'meadow-lark-river-9' },
        { csrf: false },
      );
      assert.equal(asked.status, 200);
    }
    const ids = Object.fromEntries(
      (await sql()`SELECT id, email FROM registration_requests WHERE email LIKE 'dec-%@example.com'`).map(
        (r) => [r.email.slice(4, 5), r.id as string],
      ),
    );
    const admin = await as('admin');
    await seedUser(sql(), 'second-admin@example.com', ['admin']);
    const other = await pageClient(ctx.server.app, 'second-admin@example.com');
    assert.equal((await admin.post(`/admin/registrations/${ids.a}/approve`, { role: 'farmer' })).status, 303);
    assert.equal((await admin.post(`/admin/registrations/${ids.c}/reject`, { reason: 'no' })).status, 303);
    const refusals = [
      [
        other,
        `${ids.a}/approve`,
        { role: 'farmer' },
        /dec-a@example\.com was already approved by admin at \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
      ],
      [admin, `${ids.a}/reject`, { reason: 'no' }, /dec-a@example\.com was already approved by admin/],
      [
        admin,
        `${ids.c}/approve`,
        { role: 'farmer' },
        /dec-c@example\.com was already rejected by admin at .* UTC \(reason: no\)/,
      ],
      [other, `${ids.c}/reject`, { reason: 'no' }, /already rejected by admin/],
    ] as const;
    for (const [who, path, fields, message] of refusals) {
      const res = await who.post(`/admin/registrations/${path}`, fields);
      assert.equal(res.status, 409, path);
      assert.match(strip(res.html), message, path);
    }
    // Same admin, same decision: the first answer again.
    const twice = await admin.post(`/admin/registrations/${ids.c}/reject`, { reason: 'no' });
    assert.equal(twice.location, '/admin/registrations?done=registration-rejected');
    const [row] = await sql()`SELECT status, decision_reason FROM registration_requests WHERE id = ${ids.c}`;
    assert.deepEqual({ ...row }, { status: 'rejected', decision_reason: 'no' }, 'the first decision stays');

    // The email became an account meanwhile: named, with the ways out, the account one click away.
    const made = await admin.post('/admin/users', {
      email: 'dec-b@example.com',
      full_name: 'Made by hand',
      roles: 'farmer',
      password: 'meadow-lark-river-9',
    });
    assert.equal(made.status, 303, strip(made.html).slice(0, 300));
    const taken = await admin.post(`/admin/registrations/${ids.b}/approve`, { role: 'farmer' });
    assert.equal(taken.status, 409);
    assert.match(
      strip(taken.html),
      /An account with this email exists: dec-b@example\.com\. Reject this request, or link that account to a farm on its user page/,
    );
    const [user] = await sql()`SELECT id FROM users WHERE email = 'dec-b@example.com'`;
    assert.ok(taken.html.includes(`href="/admin/users/${user!.id}"`));
    const rejected = await admin.post(`/admin/registrations/${ids.b}/reject`, { reason: 'has an account' });
    assert.equal(rejected.status, 303);
  });

  test('announcements: a "Show until" that does not exist (Feb 30, Apr 31, 24:00) is refused beside the field, never rolled over (r18 F8)', async () => {
    const admin = await as('admin');
    const count = async () =>
      (await sql()`SELECT count(*)::int AS n FROM announcements WHERE title = 'Rolled'`)[0]!.n as number;
    for (const expires_at of [
      '2027-02-30T10:00',
      '2027-02-31T10:00',
      '2027-04-31T10:00',
      '2027-01-01T24:00',
      '2027-01-01T10:60',
    ]) {
      const res = await admin.post('/admin/announcements', {
        title: 'Rolled',
        body: 'b',
        format: 'plain',
        expires_at,
      });
      assert.equal(res.status, 422, expires_at);
      assert.match(
        textById(res.html, 'field-expires_at-error') ?? '',
        /Show until must be a date and time that exists/,
        expires_at,
      );
    }
    assert.equal(await count(), 0, 'nothing written');
    const ok = await admin.post('/admin/announcements', {
      title: 'Rolled',
      body: 'b',
      format: 'plain',
      expires_at: '2027-02-28T23:59',
    });
    assert.equal(ok.status, 303);
    const [row] = await sql()`SELECT expires_at FROM announcements WHERE title = 'Rolled'`;
    assert.equal((row!.expires_at as Date).toISOString(), '2027-02-28T23:59:00.000Z');
  });

  test('announcements: errors beside fields, published on the home page, a script stays text, expired goes away', async () => {
    const admin = await as('admin');
    const bad = await admin.post('/admin/announcements', {
      title: '',
      body: 'x',
      format: 'markdown',
      expires_at: 'tomorrow',
    });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-expires_at-error') ?? '', /must be a date and time/);
    const empty = await admin.post('/admin/announcements', { title: '', body: 'x', format: 'markdown' });
    assert.match(textById(empty.html, 'field-title-error') ?? '', /Title must not be empty/);
    const made = await admin.post('/admin/announcements', {
      title: 'Scanner day <script>alert(1)</script>',
      body: 'Bring *tags*. <script>alert(2)</script>',
      format: 'markdown',
    });
    assert.equal(made.status, 303);
    const home = (await (await as('farmer')).get('/')).html;
    assert.match(home, /Scanner day &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(home, /Bring <em>tags<\/em>\. &lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    const [a] = await sql()`SELECT id FROM announcements WHERE title LIKE 'Scanner day%'`;
    assert.equal((await admin.post(`/admin/announcements/${a!.id}/expire`)).status, 303);
    assert.ok(!(await (await as('farmer')).get('/')).html.includes('Scanner day'));
    assert.equal((await admin.post(`/admin/announcements/${a!.id}/delete`)).status, 303);
    assert.equal((await admin.post(`/admin/announcements/${a!.id}/delete`)).status, 404);
  });
});

describe('account', () => {
  test('the account page in the layout: name saved, password errors beside the field', async () => {
    const farmer = await as('farmer');
    const bad = await farmer.post('/account/password', {
      current_password: TEST_PASSWORD,
      new_password: 'short',
    });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'field-new_password-error') ?? '', /at least 12 characters/);
    assert.match(bad.html, /<nav class="site-nav"/);
    const saved = await farmer.post('/account', { full_name: 'Fran Farmer' });
    assert.equal(saved.location, '/account?done=name-saved');
    assert.match(strip((await farmer.get('/account?done=name-saved')).html), /Done: Name saved\./);
  });
});

describe("messages in the form's words (r18 F10)", () => {
  test('other fields, pointers and parameters are named by their labels, never by their API names', async () => {
    const tech = await as('technician');
    const reversed = await tech.post(`/groups/${w.group}`, {
      name: 'Spring heifers',
      birth_date_from: '2024-06-30',
      birth_date_to: '2024-01-01',
    });
    assert.equal(reversed.status, 422);
    assert.match(
      textById(reversed.html, 'field-birth_date_to-error') ?? '',
      /Born until must not be before Born from\.$/,
    );

    const report = await (await as('farmer')).get(
      `/reports?farm_id=${w.farmA}&from=2025-09-10&to=2025-09-01`,
    );
    assert.match(strip(report.html), /To must not be before From\./);
    assert.doesNotMatch(strip(report.html), /This date|before from/);

    const anon = await pageClient(ctx.server.app);
    await anon.post(
      '/register',
      {
        email: 'words@example.com',
        full_name: 'Words',
        requested_role: 'farmer',
        password: 'meadow-lark-river-9',
      },
      { csrf: false },
    );
    const [r] = await sql()`SELECT id FROM registration_requests WHERE email = 'words@example.com'`;
    const admin = await as('admin');
    const noFarm = await admin.post(`/admin/registrations/${r!.id}/approve`, {
      role: 'farmer',
      farm_id: '00000000-0000-4000-8000-000000000001',
    });
    assert.equal(noFarm.status, 422);
    assert.match(textById(noFarm.html, `farm-${r!.id}-error`) ?? '', /Farm names no farm\.$/);

    const nul = await admin.post(`/admin/registrations/${r!.id}/reject`, { reason: 'a\u0000b' });
    assert.equal(nul.status, 422);
    assert.match(
      strip(nul.html),
      /The form's “reason” field must not contain the NUL character \(U\+0000\)\./,
    );
    assert.doesNotMatch(strip(nul.html), /\/form\//);

    const days = await admin.get(`/fleet/${w.deviceA}?days=0`);
    assert.equal(days.status, 422);
    assert.match(strip(days.html), /The address's “days” value must be/);
    assert.doesNotMatch(strip(days.html), /\/query\//);
  });
});
