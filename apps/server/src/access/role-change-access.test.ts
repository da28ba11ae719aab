import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { testConfig, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// A farm link is made in a role (migration 0016): taking a role away removes exactly the links made in
// it, in the same transaction, whichever path changes the roles, and open sessions see it at once. A
// user holding both roles reads the farms linked to them in either and writes only through a
// technician link.

const f = {} as Record<
  'farm' | 'scan' | 'asset' | 'farmer' | 'tech' | 'creek' | 'creekScan' | 'creekAsset',
  string
>;
// Signing a URL needs credentials, not a reachable store.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
const ctx = useTestApp(
  {
    api: {
      ...testConfig().api,
      s3: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true },
    },
  },
  {
    async seed({ db }) {
      const sql = db.sql;
      f.farm = await seedFarm(sql, 'Ridge farm');
      const device = await seedDevice(sql, 'dev-role', f.farm);
      f.scan = await seedScan(sql, {
        farmId: f.farm,
        deviceId: device,
        image: { bucket: 'b', key: 'raw/role/image.png', sha256: 'a'.repeat(64), size: 3 },
      });
      await seedGrading(sql, f.scan);
      const [asset] = await sql`SELECT image_asset_id AS id FROM scans WHERE id = ${f.scan}`;
      f.asset = asset!.id;
      f.creek = await seedFarm(sql, 'Creek farm', { lon: -80.5, lat: 44.1 });
      f.creekScan = await seedScan(sql, {
        farmId: f.creek,
        deviceId: await seedDevice(sql, 'dev-creek', f.creek),
        image: { bucket: 'b', key: 'raw/creek/image.png', sha256: 'b'.repeat(64), size: 3 },
      });
      const [creekAsset] = await sql`SELECT image_asset_id AS id FROM scans WHERE id = ${f.creekScan}`;
      f.creekAsset = creekAsset!.id;
      await seedUser(sql, 'admin@example.com', ['admin']);
      await seedUser(sql, 'owner@example.com', ['farmer'], { farms: [{ id: f.farm, owner: true }] });
      f.farmer = (await seedUser(sql, 'reader@example.com', ['farmer'], { farms: [{ id: f.farm }] })).id;
      // Farmer and technician: a farmer of Ridge, assigned to Creek as its technician.
      for (const name of ['both', 'both-api', 'both-writer']) {
        const id = (
          await seedUser(sql, `${name}@example.com`, ['farmer', 'technician'], {
            farms: [
              { id: f.farm, as: 'farmer' },
              { id: f.creek, as: 'technician' },
            ],
          })
        ).id;
        if (name === 'both') f.tech = id;
      }
    },
  },
);

const signedIn = async (email: string) => {
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client;
};

/** The status of each way into a farm's data, API and page (default: Ridge farm). */
async function reach(
  client: Awaited<ReturnType<typeof signedIn>>,
  farm = { id: f.farm, scan: f.scan, asset: f.asset },
) {
  const paths = [
    `/api/v1/scans/${farm.scan}`,
    `/api/v1/farms/${farm.id}`,
    `/api/v1/reports/farms/${farm.id}`,
    `/api/v1/exports/scans.csv?farm_id=${farm.id}`,
    `/api/v1/assets/${farm.asset}/content`,
    `/scans/${farm.scan}`,
  ];
  const out: Record<string, number> = {};
  for (const p of paths)
    out[p.replace(farm.scan, '{scan}').replace(farm.id, '{farm}').replace(farm.asset, '{asset}')] = (
      await client.request('GET', p)
    ).status;
  return out;
}
const all = (status: number) => ({
  '/api/v1/scans/{scan}': status,
  '/api/v1/farms/{farm}': status,
  '/api/v1/reports/farms/{farm}': status,
  '/api/v1/exports/scans.csv?farm_id={farm}': status,
  '/api/v1/assets/{asset}/content': status === 200 ? 302 : status,
  '/scans/{scan}': status,
});
const creek = () => ({ id: f.creek, scan: f.creekScan, asset: f.creekAsset });
const review = (client: Awaited<ReturnType<typeof signedIn>>, scan: string) =>
  client.request('PATCH', `/api/v1/scans/${scan}`, { body: { review_clarity: 3 } });
const userId = async (email: string) =>
  (await ctx.db.sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${email}`)[0]!.id;
const linksOf = async (id: string) =>
  (
    await ctx.db.sql<{ name: string; role: string }[]>`
      SELECT f.name, uf.role FROM user_farms uf JOIN farms f ON f.id = uf.farm_id WHERE uf.user_id = ${id}
       ORDER BY f.name, uf.role`
  ).map((r) => `${r.name} ${r.role}`);

describe('farm access after a role change', () => {
  test('a farmer made technician through the API loses the farm at once; giving the role back does not restore it', async () => {
    const reader = await signedIn('reader@example.com');
    assert.deepEqual(await reach(reader), all(200));
    const admin = await signedIn('admin@example.com');
    const changed = await admin.request('PATCH', `/api/v1/users/${f.farmer}`, {
      body: { roles: ['technician'] },
    });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body.farms, [], 'the links went with the role');
    assert.deepEqual(await reach(reader), all(404), 'the open session sees it at once');
    assert.equal((await review(reader, f.scan)).status, 404, 'no write as a technician through the old link');
    const back = await admin.request('PATCH', `/api/v1/users/${f.farmer}`, { body: { roles: ['farmer'] } });
    assert.equal(back.status, 200);
    assert.deepEqual(await reach(reader), all(404), 'farms are linked again by an admin, not by the role');
    assert.equal((await reader.request('GET', '/api/v1/me')).body.farms.length, 0);
  });

  test('a farmer and technician losing the farmer role (admin page) keeps the farms they are a technician of', async () => {
    const both = await signedIn('both@example.com');
    assert.deepEqual(await reach(both), all(200));
    assert.deepEqual(await reach(both, creek()), all(200));
    const admin = await signedIn('admin@example.com');
    const form = new URLSearchParams({ _csrf: admin.csrf!, full_name: 'both', status: 'active' });
    form.append('roles', 'technician');
    const res = await ctx.server.app.request(`/admin/users/${f.tech}`, {
      method: 'POST',
      headers: {
        cookie: admin.cookie!,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost',
      },
      body: form.toString(),
    });
    assert.equal(res.status, 303, await res.text());
    const [roles] = await ctx.db.sql`
      SELECT ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ${f.tech}) AS r`;
    assert.deepEqual(roles!.r, ['technician']);
    assert.deepEqual(await reach(both), all(404), 'the farmer link went with the farmer role');
    assert.deepEqual(await reach(both, creek()), all(200), 'the technician link stays');
    assert.equal((await review(both, f.creekScan)).status, 200, 'and still writes there');
    assert.deepEqual(await linksOf(f.tech), ['Creek farm technician']);
  });

  test('a farmer and technician losing the technician role (API) loses the farms they were a technician of, and writes nowhere', async () => {
    const both = await signedIn('both-api@example.com');
    const id = await userId('both-api@example.com');
    assert.deepEqual(await reach(both, creek()), all(200));
    const admin = await signedIn('admin@example.com');
    const changed = await admin.request('PATCH', `/api/v1/users/${id}`, { body: { roles: ['farmer'] } });
    assert.equal(changed.status, 200);
    assert.deepEqual(
      changed.body.farms.map((farm: { name: string; linked_as: string[] }) => [farm.name, farm.linked_as]),
      [['Ridge farm', ['farmer']]],
    );
    assert.deepEqual(
      await reach(both, creek()),
      all(404),
      'not read as a farmer: they never were its farmer',
    );
    assert.deepEqual(await reach(both), all(200), 'the farm they are a farmer of stays');
    assert.equal((await review(both, f.scan)).status, 403, 'read-only there');
    assert.deepEqual(await linksOf(id), ['Ridge farm farmer']);
  });

  test('a farmer and technician writes only where linked as technician', async () => {
    const both = await signedIn('both-writer@example.com');
    assert.deepEqual(await reach(both), all(200));
    assert.equal((await review(both, f.scan)).status, 403, 'linked to Ridge as farmer: read-only');
    assert.equal(
      (await both.request('PATCH', `/api/v1/farms/${f.farm}`, { body: { name: 'Renamed' } })).status,
      403,
    );
    assert.equal((await review(both, f.creekScan)).status, 200, 'linked to Creek as technician: writes');
    const me = await both.request('GET', '/api/v1/me');
    assert.deepEqual(
      me.body.farms.map((farm: { name: string; linked_as: string[] }) => [farm.name, farm.linked_as]),
      [
        ['Creek farm', ['technician']],
        ['Ridge farm', ['farmer']],
      ],
    );
  });
});
