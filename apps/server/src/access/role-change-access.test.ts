import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { testConfig, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// A farmer's farm access follows the role: taking the farmer role away removes their farm links in the
// same transaction, whichever path changes the roles, and open sessions see it at once.

const f = {} as Record<'farm' | 'scan' | 'asset' | 'farmer' | 'tech', string>;
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
      await seedUser(sql, 'admin@example.com', ['admin']);
      await seedUser(sql, 'owner@example.com', ['farmer'], { farms: [{ id: f.farm, owner: true }] });
      f.farmer = (await seedUser(sql, 'reader@example.com', ['farmer'], { farms: [{ id: f.farm }] })).id;
      f.tech = (
        await seedUser(sql, 'both@example.com', ['farmer', 'technician'], { farms: [{ id: f.farm }] })
      ).id;
    },
  },
);

const signedIn = async (email: string) => {
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client;
};

/** The status of each way into the farm's data, API and page. */
async function reach(client: Awaited<ReturnType<typeof signedIn>>) {
  const paths = [
    `/api/v1/scans/${f.scan}`,
    `/api/v1/farms/${f.farm}`,
    `/api/v1/reports/farms/${f.farm}`,
    `/api/v1/exports/scans.csv?farm_id=${f.farm}`,
    `/api/v1/assets/${f.asset}/content`,
    `/scans/${f.scan}`,
  ];
  const out: Record<string, number> = {};
  for (const p of paths) out[p] = (await client.request('GET', p)).status;
  return out;
}
const all = (status: number, ok = status) => ({
  [`/api/v1/scans/${f.scan}`]: status,
  [`/api/v1/farms/${f.farm}`]: status,
  [`/api/v1/reports/farms/${f.farm}`]: status,
  [`/api/v1/exports/scans.csv?farm_id=${f.farm}`]: status,
  [`/api/v1/assets/${f.asset}/content`]: ok === 200 ? 302 : status,
  [`/scans/${f.scan}`]: status,
});

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
    const patched = await reader.request('PATCH', `/api/v1/scans/${f.scan}`, { body: { review_clarity: 3 } });
    assert.equal(patched.status, 404, 'no write as a technician through the old link');
    const back = await admin.request('PATCH', `/api/v1/users/${f.farmer}`, { body: { roles: ['farmer'] } });
    assert.equal(back.status, 200);
    assert.deepEqual(await reach(reader), all(404), 'farms are linked again by an admin, not by the role');
    assert.equal((await reader.request('GET', '/api/v1/me')).body.farms.length, 0);
  });

  test('the admin user page takes the farmer role away the same way', async () => {
    const both = await signedIn('both@example.com');
    assert.deepEqual(await reach(both), all(200));
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
    assert.deepEqual(await reach(both), all(404));
    const links = await ctx.db.sql`SELECT 1 FROM user_farms WHERE user_id = ${f.tech}`;
    assert.equal(links.length, 0);
  });
});
