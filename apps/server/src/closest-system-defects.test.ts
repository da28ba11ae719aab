import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiClient, sessionCookieFrom } from './test-api-client.ts';
import { useTestApp } from './test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from './test-seed.ts';

// The defects of the closest existing system (issue 12), each shown absent here. The naive-clock
// webhook check is shown in server-timezone.test.ts (a server spawned with TZ=Pacific/Kiritimati);
// broader versions of these checks live in access-matrix, admin-routes, scans-api and the browser test.

const f = {} as Record<'A' | 'B' | 'scan' | 'animalB', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'A');
      f.B = await seedFarm(db.sql, 'B');
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.A, owner: true }] });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
      f.animalB = (
        await db.sql`INSERT INTO animals (farm_id, tag_id) VALUES (${f.B}, 'B-7') RETURNING id`
      )[0]!.id;
      f.scan = await seedScan(db.sql, {
        farmId: f.A,
        deviceId: await seedDevice(db.sql, 'dev-1', f.A),
        image: { bucket: 'b', key: 'raw/x/image.png', sha256: 'c'.repeat(64), size: 1 },
      });
      await seedGrading(db.sql, f.scan, {
        features: { rea_cm2: 80.1, fat_thickness_mm: null, roi_area_px: 41000 },
      });
    },
  },
);

test('admin and storage routes refuse callers without a login', async () => {
  const anonymous = apiClient(ctx.server.app);
  const [asset] = await ctx.db.sql`SELECT image_asset_id AS id FROM scans WHERE id = ${f.scan}`;
  for (const path of [
    '/api/v1/users',
    '/api/v1/registrations',
    `/api/v1/assets/${asset!.id}`,
    `/api/v1/assets/${asset!.id}/content`,
  ]) {
    assert.equal((await anonymous.request('GET', path)).status, 401, path);
  }
  assert.equal((await anonymous.request('POST', '/api/v1/farms', { body: { name: 'x' } })).status, 401);
});

test('a farmer cannot move another farm’s animal through an update (and so cannot read its scans)', async () => {
  const farmer = apiClient(ctx.server.app);
  await farmer.signIn('farmer@example.com', TEST_PASSWORD);
  const res = await farmer.request('PATCH', `/api/v1/animals/${f.animalB}`, { body: { farm_id: f.A } });
  assert.equal(res.status, 404);
  const [row] = await ctx.db.sql`SELECT farm_id FROM animals WHERE id = ${f.animalB}`;
  assert.equal(row!.farm_id, f.B);
});

test('a missing measurement is null in every answer, never 0', async () => {
  const farmer = apiClient(ctx.server.app);
  await farmer.signIn('farmer@example.com', TEST_PASSWORD);
  const list = await farmer.request('GET', '/api/v1/scans');
  assert.equal(list.body.items[0].latest_grading.fat_thickness_mm, null);
  assert.equal(list.body.items[0].latest_grading.rea_cm2, 80.1);
  const detail = await farmer.request('GET', `/api/v1/scans/${f.scan}`);
  assert.equal(detail.body.grading_results[0].measurements.fat_thickness_mm, null);
  assert.equal(detail.body.grading_results[0].measurements.ribeye_depth_mm, null);
  const [stored] = await ctx.db.sql`SELECT features_used FROM grading_results WHERE scan_id = ${f.scan}`;
  assert.equal(stored!.features_used.fat_thickness_mm, null);
});

test('the session token is never readable by page scripts: HttpOnly cookie, absent from every body', async () => {
  const res = await ctx.server.app.request('/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'farmer@example.com', password: TEST_PASSWORD }),
  });
  const cookie = sessionCookieFrom(res.headers)!;
  assert.match(cookie.raw, /HttpOnly/i);
  const token = cookie.value.split('=')[1]!;
  assert.ok(!(await res.text()).includes(token), 'not in the JSON answer');
  const page = await ctx.server.app.request('/account', { headers: { cookie: cookie.value } });
  assert.equal(page.status, 200);
  assert.ok(!(await page.text()).includes(token), 'not in the HTML');
});

test('announcements are never rendered as raw HTML', async () => {
  const admin = apiClient(ctx.server.app);
  await admin.signIn('admin@example.com', TEST_PASSWORD);
  for (const format of ['plain', 'markdown']) {
    const res = await admin.request('POST', '/api/v1/announcements', {
      body: { title: 't', body: '<script>alert(1)</script><b onmouseover=x>hi</b>', format },
    });
    assert.ok(res.body.body_html.includes('&lt;script&gt;'), res.body.body_html);
    assert.ok(!res.body.body_html.includes('<b'), res.body.body_html);
  }
});

test('text people typed is escaped in pages (a name with a script tag shows as text)', async () => {
  const farmer = apiClient(ctx.server.app);
  await farmer.signIn('farmer@example.com', TEST_PASSWORD);
  assert.equal(
    (await farmer.request('PATCH', '/api/v1/me', { body: { full_name: '<script>alert(1)</script>' } }))
      .status,
    200,
  );
  const page = await ctx.server.app.request('/account', { headers: { cookie: farmer.cookie! } });
  const html = await page.text();
  assert.ok(html.includes('value="&lt;script&gt;alert(1)&lt;/script&gt;"'), html);
  assert.ok(!html.includes('<script>alert'), 'no live script tag');
});
