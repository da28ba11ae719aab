// Notifications follow the farm access of what they are about, at read time: a user removed from a
// farm (or a technician unassigned) no longer lists, counts or marks that farm's notifications —
// the API and the pages alike. Real database, real routes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unreadCount } from '../access/notification-queries.ts';
import { notifyUsers } from '../notifications/notify-users.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { pageClient } from '../web/pages/test-page-client.ts';

const f = {} as Record<
  'north' | 'south' | 'admin' | 'tech' | 'farmer' | 'scan' | 'northDevice' | 'spareDevice',
  string
>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const sql = db.sql;
      f.north = await seedFarm(sql, 'North');
      f.south = await seedFarm(sql, 'South');
      f.admin = (await seedUser(sql, 'admin@example.com', ['admin'])).id;
      f.tech = (
        await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: f.north }, { id: f.south }] })
      ).id;
      f.farmer = (await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.north }] })).id;
      f.northDevice = await seedDevice(sql, 'PI-NORTH', f.north);
      f.spareDevice = await seedDevice(sql, 'PI-SPARE');
      f.scan = await seedScan(sql, { farmId: f.north, deviceId: f.northDevice, captureId: 'cap_north_1' });
      await notifyUsers(sql, {
        type: 'scan_graded',
        dedupeKey: 'scan_graded:north',
        payload: { scan_id: f.scan, capture_id: 'cap_north_1', farm_id: f.north, grade: 'A', rea_cm2: 83.7 },
        audience: { farmId: f.north, roles: ['admin'] },
      });
      await notifyUsers(sql, {
        type: 'registration_pending',
        dedupeKey: 'registration_pending:note-1',
        payload: { note: 'not about a farm' },
        audience: { roles: ['farmer', 'technician'] },
      });
      for (const [device, code] of [
        [f.northDevice, 'PI-NORTH'],
        [f.spareDevice, 'PI-SPARE'],
      ] as const) {
        await notifyUsers(sql, {
          type: 'device_silent',
          dedupeKey: `device_silent:${device}`,
          payload: { device_id: device, device_code: code, label: null, since: '2026-01-01T00:00:00.000Z' },
          audience: { roles: ['admin', 'technician'] },
        });
      }
    },
  },
);

async function as(email: string): Promise<ApiClient> {
  const c = apiClient(ctx.server.app);
  await c.signIn(email, TEST_PASSWORD);
  return c;
}
const types = async (c: ApiClient) =>
  ((await c.request('GET', '/api/v1/notifications')).body.items as { type: string }[])
    .map((n) => n.type)
    .sort();
const unread = async (c: ApiClient) =>
  (await c.request('GET', '/api/v1/notifications/unread-count')).body.unread;
const idOf = async (userId: string, type: string, deviceId?: string) => {
  const [row] = await ctx.db.sql<{ id: string }[]>`
    SELECT id::text FROM notifications WHERE user_id = ${userId} AND type = ${type}
       AND (${deviceId ?? null}::text IS NULL OR payload->>'device_id' = ${deviceId ?? null})`;
  return row!.id;
};
const unlink = (userId: string, farmId: string) =>
  ctx.db.sql`DELETE FROM user_farms WHERE user_id = ${userId} AND farm_id = ${farmId}`;

describe('notifications follow farm access at read time', () => {
  test('a farmer removed from the farm: its scan notification is gone from the list, count, mark-read and page', async () => {
    const farmer = await as('farmer@example.com');
    assert.deepEqual(await types(farmer), ['registration_pending', 'scan_graded']);
    assert.equal(await unread(farmer), 2);

    await unlink(f.farmer, f.north);
    assert.deepEqual(await types(farmer), ['registration_pending']);
    assert.deepEqual(
      (await farmer.request('GET', '/api/v1/notifications?unread=true')).body.items.map(
        (n: { type: string }) => n.type,
      ),
      ['registration_pending'],
    );
    assert.equal(await unread(farmer), 1);
    const hidden = await idOf(f.farmer, 'scan_graded');
    assert.equal((await farmer.request('POST', `/api/v1/notifications/${hidden}/read`)).status, 404);

    const web = await pageClient(ctx.server.app, 'farmer@example.com');
    const page = await web.get('/notifications');
    assert.equal(page.status, 200);
    assert.ok(!page.html.includes('cap_north_1'), 'the page does not show the old scan');
    assert.ok(!page.html.includes('83.7'), 'nor its ribeye area');
    assert.match(page.html, /, 1 unread/);
    assert.match((await web.get('/')).html, /, 1 unread/, 'the badge on every page');
    assert.equal((await web.post(`/notifications/${hidden}/read`)).status, 404);

    assert.equal((await farmer.request('POST', '/api/v1/notifications/read-all')).body.marked, 1);
    const [row] = await ctx.db.sql`SELECT is_read FROM notifications WHERE id = ${hidden}`;
    assert.equal(row!.is_read, false, 'read-all touches only what the user sees');

    // Linked again: it is theirs to see again (decided at read time, nothing was deleted).
    await ctx.db
      .sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${f.farmer}, ${f.north}, 'farmer')`;
    assert.deepEqual(await types(farmer), ['registration_pending', 'scan_graded']);
    assert.equal(await unread(farmer), 1);
    // The scan moved to a farm they are not on: its notification goes with it.
    await ctx.db.sql`UPDATE scans SET farm_id = ${f.south} WHERE id = ${f.scan}`;
    assert.deepEqual(await types(farmer), ['registration_pending']);
    await ctx.db.sql`UPDATE scans SET farm_id = ${f.north} WHERE id = ${f.scan}`;
  });

  test("a technician unassigned from the farm loses its scan's and its devices' notifications, keeps the rest", async () => {
    const tech = await as('tech@example.com');
    assert.deepEqual(await types(tech), [
      'device_silent',
      'device_silent',
      'registration_pending',
      'scan_graded',
    ]);
    await unlink(f.tech, f.north);
    assert.deepEqual(await types(tech), ['device_silent', 'registration_pending']);
    const items = (await tech.request('GET', '/api/v1/notifications')).body.items as {
      payload: { device_code?: string };
    }[];
    assert.deepEqual(
      items.map((n) => n.payload.device_code).filter(Boolean),
      ['PI-SPARE'],
      'an unassigned device stays visible to technicians',
    );
    assert.equal(await unread(tech), 2);
    const northDevice = await idOf(f.tech, 'device_silent', f.northDevice);
    assert.equal((await tech.request('POST', `/api/v1/notifications/${northDevice}/read`)).status, 404);
    const web = await pageClient(ctx.server.app, 'tech@example.com');
    assert.equal((await web.post(`/notifications/${northDevice}/read`)).status, 404);
    const page = await web.get('/notifications');
    assert.ok(!page.html.includes('PI-NORTH') && !page.html.includes('cap_north_1'));
    assert.match(page.html, /PI-SPARE/);
    assert.match(page.html, /, 2 unread/);
  });

  test("the pages' badge count stops at its limit; the API's count stays exact", async () => {
    const sql = ctx.db.sql;
    for (let i = 0; i < 5; i++)
      await notifyUsers(sql, {
        type: 'registration_pending',
        dedupeKey: `registration_pending:cap:${i}`,
        payload: { note: `note ${i}` },
        audience: { roles: ['admin'] },
      });
    const admin = { userId: f.admin, roles: ['admin'] } as Parameters<typeof unreadCount>[1];
    const exact = await unreadCount(sql, admin);
    assert.ok(exact >= 5, `${exact} unread`);
    assert.equal(await unreadCount(sql, admin, { atMost: 3 }), 3);
    assert.equal(await unreadCount(sql, admin, { atMost: exact + 10 }), exact);
    const api = await as('admin@example.com');
    assert.equal(await unread(api), exact);
    await sql`DELETE FROM notifications WHERE payload->>'note' LIKE 'note %'`;
  });

  test('admins see all of theirs', async () => {
    const admin = await as('admin@example.com');
    assert.deepEqual(await types(admin), ['device_silent', 'device_silent', 'scan_graded']);
    assert.equal(await unread(admin), 3);
  });
});
