// GET/PUT /api/v1/me/notification-settings and the account page's notification form: each user reads and
// changes their own settings (every role, a farmer included), bad input is a 422 naming it with nothing
// saved, and what is saved is what notifyUsers obeys. Real database, real routes, responses checked
// against the OpenAPI document by the API client.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notifyUsers } from '../notifications/notify-users.ts';
import { apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { pageClient, textById } from '../web/pages/test-page-client.ts';

const f = {} as Record<'north' | 'admin' | 'tech' | 'farmer' | 'neighbour', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const sql = db.sql;
      f.north = await seedFarm(sql, 'North');
      const on = { farms: [{ id: f.north }] };
      f.admin = (await seedUser(sql, 'admin@example.com', ['admin'])).id;
      f.tech = (await seedUser(sql, 'tech@example.com', ['technician'], on)).id;
      f.farmer = (await seedUser(sql, 'farmer@example.com', ['farmer'], on)).id;
      f.neighbour = (await seedUser(sql, 'neighbour@example.com', ['farmer'], on)).id;
    },
  },
);

async function as(email: string) {
  const c = apiClient(ctx.server.app);
  assert.equal((await c.signIn(email, TEST_PASSWORD)).status, 200);
  return c;
}
const stored = async (userId: string) =>
  (
    await ctx.db.sql<{ type: string; enabled: boolean }[]>`
      SELECT type, enabled FROM user_notification_settings WHERE user_id = ${userId} ORDER BY type`
  ).map((r) => `${r.type}=${r.enabled}`);
/** The checkbox of `type` on the account page: undefined when the page does not offer it. */
const box = (html: string, type: string) =>
  new RegExp(`<input[^>]*id="field-notify-${type}"[^>]*>`).exec(html)?.[0];

describe('GET/PUT /api/v1/me/notification-settings', () => {
  test('every type on by default; your_types are those of your roles', async () => {
    const farmer = await as('farmer@example.com');
    const res = await farmer.request('GET', '/api/v1/me/notification-settings');
    assert.equal(res.status, 200);
    assert.ok(Object.values(res.body.enabled).every((on) => on === true));
    assert.ok(Object.keys(res.body.enabled).length >= 9, 'every type the server sends');
    assert.deepEqual(res.body.your_types, ['scan_graded', 'scan_rejected', 'scan_corrected']);
    const tech = (await (await as('tech@example.com')).request('GET', '/api/v1/me/notification-settings'))
      .body;
    assert.ok(tech.your_types.includes('device_silent') && !tech.your_types.includes('registration_pending'));
    const admin = (await (await as('admin@example.com')).request('GET', '/api/v1/me/notification-settings'))
      .body;
    assert.ok(admin.your_types.includes('registration_pending') && !admin.your_types.includes('scan_graded'));
  });

  test("a farmer turns scan_graded off: saved for them only, read back, and obeyed when the farm's scan is graded", async (t) => {
    const farmer = await as('farmer@example.com');
    t.after(() => ctx.db.sql`DELETE FROM user_notification_settings WHERE user_id = ${f.farmer}`);
    const put = await farmer.request('PUT', '/api/v1/me/notification-settings', {
      body: { enabled: { scan_graded: false } },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.enabled.scan_graded, false);
    assert.equal(put.body.enabled.scan_rejected, true, 'types not named keep their setting');
    assert.deepEqual(
      (await farmer.request('GET', '/api/v1/me/notification-settings')).body.enabled,
      put.body.enabled,
    );
    assert.deepEqual(await stored(f.farmer), ['scan_graded=false']);
    assert.deepEqual(await stored(f.neighbour), [], 'nobody else’s settings change');

    await notifyUsers(ctx.db.sql, {
      type: 'scan_graded',
      dedupeKey: 'scan_graded:api-round-trip',
      payload: {},
      audience: { farmId: f.north },
    });
    const told = await ctx.db.sql<{ user_id: string }[]>`
      SELECT user_id FROM notifications WHERE dedupe_key = 'scan_graded:api-round-trip'`;
    assert.deepEqual(told.map((r) => r.user_id).sort(), [f.neighbour, f.tech].sort());

    const back = await farmer.request('PUT', '/api/v1/me/notification-settings', {
      body: { enabled: { scan_graded: true } },
    });
    assert.equal(back.body.enabled.scan_graded, true);
  });

  test('bad input is a 422 naming the problem, and nothing is saved', async () => {
    const farmer = await as('neighbour@example.com');
    const cases: [unknown, string][] = [
      [{ enabled: { scan_rejected: false, scan_gradd: false } }, '/enabled/scan_gradd'],
      [{ enabled: { scan_graded: 'no' } }, '/enabled/scan_graded'],
      [{ enabled: {} }, '/enabled'],
      [{}, '/enabled'],
      [{ enabled: { scan_graded: false }, user_id: f.farmer }, '/user_id'],
    ];
    for (const [body, pointer] of cases) {
      const res = await farmer.request('PUT', '/api/v1/me/notification-settings', { body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error, 'invalid_request');
      assert.ok(
        res.body.problems.some((p: { pointer: string }) => p.pointer === pointer),
        `${JSON.stringify(res.body.problems)} names ${pointer}`,
      );
    }
    assert.match(
      (await farmer.request('PUT', '/api/v1/me/notification-settings', { body: cases[0]![0] })).body.message,
      /\/enabled\/scan_gradd is not an allowed property/,
    );
    assert.deepEqual(await stored(f.neighbour), [], 'not even the valid part of a refused body');
  });

  test('signed out: 401', async () => {
    const anonymous = apiClient(ctx.server.app);
    assert.equal((await anonymous.request('GET', '/api/v1/me/notification-settings')).status, 401);
  });
});

describe('the account page’s notification settings', () => {
  test('a farmer sees the types of their role, unticks one, and the page and the API agree', async () => {
    const web = await pageClient(ctx.server.app, 'farmer@example.com');
    const page = await web.get('/account');
    assert.equal(page.status, 200);
    assert.match(box(page.html, 'scan_graded')!, /checked/);
    assert.ok(box(page.html, 'scan_rejected') && box(page.html, 'scan_corrected'));
    assert.equal(box(page.html, 'device_silent'), undefined, 'no device notices for a farmer');

    const saved = await web.post('/account/notifications', {
      shown: ['scan_graded', 'scan_rejected', 'scan_corrected'],
      enabled: ['scan_rejected'],
    });
    assert.equal(saved.status, 303);
    assert.equal(saved.location, '/account?done=notifications-saved');
    const after = await web.get(saved.location!);
    assert.match(after.html, /Notification settings saved/);
    assert.doesNotMatch(box(after.html, 'scan_graded')!, /checked/);
    assert.doesNotMatch(box(after.html, 'scan_corrected')!, /checked/);
    assert.match(box(after.html, 'scan_rejected')!, /checked/);
    const api = (await web.api.request('GET', '/api/v1/me/notification-settings')).body.enabled;
    assert.deepEqual(
      [api.scan_graded, api.scan_rejected, api.scan_corrected, api.device_silent],
      [false, true, false, true],
    );

    // Ticked again: on again.
    await web.post('/account/notifications', {
      shown: ['scan_graded', 'scan_rejected', 'scan_corrected'],
      enabled: ['scan_graded', 'scan_rejected', 'scan_corrected'],
    });
    assert.deepEqual(await stored(f.farmer), [
      'scan_corrected=true',
      'scan_graded=true',
      'scan_rejected=true',
    ]);
  });

  test('a technician and an admin are offered their own types', async () => {
    const tech = (await (await pageClient(ctx.server.app, 'tech@example.com')).get('/account')).html;
    assert.ok(box(tech, 'device_silent') && box(tech, 'grading_failed') && box(tech, 'scan_graded'));
    assert.equal(box(tech, 'registration_pending'), undefined);
    const admin = (await (await pageClient(ctx.server.app, 'admin@example.com')).get('/account')).html;
    assert.ok(box(admin, 'registration_pending') && box(admin, 'device_backlog'));
    assert.equal(box(admin, 'scan_graded'), undefined);
  });

  test('a name that is no notification type: 422, the error beside the field, nothing saved', async () => {
    const web = await pageClient(ctx.server.app, 'neighbour@example.com');
    const res = await web.post('/account/notifications', {
      shown: ['scan_graded', 'scan_gradd'],
      enabled: ['scan_rejected'],
    });
    assert.equal(res.status, 422);
    assert.match(
      textById(res.html, 'field-notifications-error') ?? '',
      /Not a notification type: "scan_gradd"/,
    );
    assert.match(res.html, /href="#field-notifications"/, 'the summary links to the field');
    assert.deepEqual(await stored(f.neighbour), []);
    const empty = await web.post('/account/notifications', {});
    assert.equal(empty.status, 422);
    assert.match(textById(empty.html, 'field-notifications-error') ?? '', /named no notification type/);
  });

  test('without the session’s CSRF token: refused, nothing saved', async () => {
    const web = await pageClient(ctx.server.app, 'neighbour@example.com');
    const res = await web.post('/account/notifications', { shown: 'scan_graded' }, { csrf: false });
    assert.equal(res.status, 403);
    assert.deepEqual(await stored(f.neighbour), []);
  });
});
