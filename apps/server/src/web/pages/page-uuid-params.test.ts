import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';
import { type PageClient, pageClient, strip, textById } from './test-page-client.ts';

// Pages read uuids from query parameters and paths as the API does (canonicalUuid): an upper-case id
// filters, finds and is refused exactly like its lower-case spelling; a spelling the API refuses
// (urn:uuid:…, braces) is the same refusal on the page, never a 500. Through app.request on a real
// database.

let w: DashboardWorld;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      w = await seedDashboard(db.sql);
      // The other farm gets an animal and a group too, so a filter that is dropped shows.
      await db.sql`INSERT INTO animals (farm_id, tag_id) VALUES (${w.farmB}, 'B-900')`;
      await db.sql`
        INSERT INTO contemporary_groups (farm_id, name, birth_date_from, birth_date_to)
        VALUES (${w.farmB}, 'Birch steers', '2024-01-01', '2024-12-31')`;
    },
  },
);
const as = (who: keyof DashboardWorld['users']) => pageClient(ctx.server.app, w.users[who].email);
const upper = (id: string) => id.toUpperCase();

/** The options a page's form shows chosen. */
const chosen = (html: string) => [...html.matchAll(/<option value="([^"]*)" selected/g)].map((m) => m[1]);

/** A page's status, HTML and text (tags stripped: hrefs echo the query as typed). */
const textOf = async (client: PageClient, path: string) => {
  const res = await client.get(path);
  return { status: res.status, html: res.html, text: strip(res.html) };
};

describe('uuid query parameters', () => {
  test('an upper-case farm, group, animal or device filter lists what the lower-case one does', async () => {
    const filters = () => [
      ['/animals', 'farm_id', w.farmA],
      ['/groups', 'farm_id', w.farmA],
      ['/scans', 'farm_id', w.farmA],
      ['/scans', 'group_id', w.group],
      ['/scans', 'animal_id', w.animal],
      ['/scans', 'device_id', w.deviceA],
      ['/scans', 'in_geofence_of', w.farmA],
      ['/reports', 'farm_id', w.farmA],
      ['/reports', 'group_id', w.group],
    ];
    for (const who of ['admin', 'farmer'] as const) {
      const client = await as(who);
      for (const [path, name, id] of filters()) {
        const lower = await textOf(client, `${path}?${name}=${id}`);
        const shouted = await textOf(client, `${path}?${name}=${upper(id!)}`);
        const what = `${who} ${path}?${name}=${upper(id!)}`;
        assert.equal(lower.status, 200, what);
        assert.equal(shouted.status, 200, what);
        assert.equal(shouted.text, lower.text, what);
        // The form shows the same choices, the filter's among them where the form offers it.
        assert.deepEqual(chosen(shouted.html), chosen(lower.html), what);
        if ((name === 'farm_id' && path !== '/groups') || name === 'group_id')
          assert.ok(chosen(shouted.html).includes(id), what);
      }
    }
    // The filter is applied, not dropped: the admin's unfiltered lists hold the other farm's rows.
    const admin = await as('admin');
    const animals = await textOf(admin, `/animals?farm_id=${upper(w.farmA)}`);
    assert.ok(!(textById(animals.html, 'animals') ?? '').includes('B-900'), 'farm filter kept');
    assert.match(textById((await admin.get('/animals')).html, 'animals') ?? '', /B-900/);
    const groups = await textOf(admin, `/groups?farm_id=${upper(w.farmA)}`);
    assert.ok(!groups.text.includes('Birch steers'), 'farm filter kept');
    assert.match((await textOf(admin, '/groups')).text, /Birch steers/);
  });

  test('a farm filter of a farm the viewer cannot see gives the same answer in either case', async () => {
    const stranger = await as('stranger');
    for (const path of ['/animals', '/groups', '/scans']) {
      const lower = await textOf(stranger, `${path}?farm_id=${w.farmA}`);
      const shouted = await textOf(stranger, `${path}?farm_id=${upper(w.farmA)}`);
      assert.equal(shouted.status, lower.status, path);
      assert.equal(shouted.text, lower.text, path);
    }
    const lower = await stranger.get(`/reports?farm_id=${w.farmA}`);
    const shouted = await stranger.get(`/reports?farm_id=${upper(w.farmA)}`);
    assert.deepEqual([lower.status, shouted.status], [404, 404]);
  });

  test('a uuid the API refuses (urn:uuid:, braces) is the field error the API gives, never a 500', async () => {
    const admin = await as('admin');
    for (const spelling of [`urn:uuid:${w.farmA}`, `{${w.farmA}}`, `URN:UUID:${upper(w.farmA)}`]) {
      const q = encodeURIComponent(spelling);
      const scans = await admin.get(`/scans?farm_id=${q}`);
      assert.equal(scans.status, 200, spelling);
      assert.match(textById(scans.html, 'field-farm_id-error') ?? '', /Farm must be a valid uuid/, spelling);
      const reports = await admin.get(`/reports?farm_id=${q}`);
      assert.equal(reports.status, 422, spelling);
      assert.match(
        textById(reports.html, 'field-farm_id-error') ?? '',
        /Choose a farm from the list/,
        spelling,
      );
      // The API: 422 naming the parameter, on the list and the exports; the live stream refuses it too.
      for (const path of ['/api/v1/scans', '/api/v1/animals', '/api/v1/exports/scans.csv']) {
        const res = await admin.api.request('GET', `${path}?farm_id=${q}`);
        assert.equal(res.status, 422, `${path} ${spelling}`);
        assert.equal(res.body.problems?.[0]?.pointer, '/query/farm_id', `${path} ${spelling}`);
      }
      assert.equal((await admin.api.request('GET', `/scans/events?farm_id=${q}`)).status, 422, spelling);
      const animals = await admin.get(`/animals?farm_id=${q}`);
      assert.equal(animals.status, 200, 'an id the page cannot read is no filter, as before');
    }
  });
});

describe('uuid path parameters', () => {
  test('an upper-case id in a page path finds the same row; a stranger gets the same 404', async () => {
    const paths = () => [
      `/scans/${w.scanGraded}`,
      `/animals/${w.animal}`,
      `/farms/${w.farmA}`,
      `/groups/${w.group}`,
      `/reports/farms/${w.farmA}/print?day=2025-09-09`,
      `/reports/groups/${w.group}/print?day=2025-09-09`,
    ];
    const farmer = await as('farmer');
    const stranger = await as('stranger');
    for (const path of paths()) {
      const shoutedPath = path.replace(/[0-9a-f-]{36}/, (id) => upper(id));
      const lower = await textOf(farmer, path);
      const shouted = await textOf(farmer, shoutedPath);
      assert.equal(lower.status, 200, path);
      assert.equal(shouted.status, 200, shoutedPath);
      assert.equal(shouted.text, lower.text, shoutedPath);
      assert.equal((await stranger.get(path)).status, 404, path);
      assert.equal((await stranger.get(shoutedPath)).status, 404, shoutedPath);
      const braces = path.replace(/[0-9a-f-]{36}/, (id) => encodeURIComponent(`{${id}}`));
      assert.equal((await farmer.get(braces)).status, 404, braces);
    }
    const admin = await as('admin');
    const user = await textOf(admin, `/admin/users/${w.users.farmer.id}`);
    assert.equal(user.status, 200);
    assert.equal((await textOf(admin, `/admin/users/${upper(w.users.farmer.id)}`)).text, user.text);
  });
});
