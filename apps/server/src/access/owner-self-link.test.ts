import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientsByEmail } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser } from '../test-seed.ts';
import { pageClient, textById } from '../web/pages/test-page-client.ts';

// Review r1 F10: a farm owner who also holds the technician role linked themselves as technician and
// so wrote on a farm an admin had made them read-only on. An owner's own links are an admin's.

const f = {} as Record<'A' | 'B' | 'both' | 'tech', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'Alpha Farm', { lon: -80, lat: 44 });
      f.B = await seedFarm(db.sql, 'Beta Ranch', { lon: -81, lat: 44 });
      f.both = (
        await seedUser(db.sql, 'both@example.com', ['farmer', 'technician'], {
          farms: [
            { id: f.A, as: 'technician' },
            { id: f.B, owner: true, as: 'farmer' },
          ],
        })
      ).id;
      f.tech = (await seedUser(db.sql, 'tech@example.com', ['technician'])).id;
      await seedUser(db.sql, 'admin@example.com', ['admin']);
    },
  },
);

const as = clientsByEmail(() => ctx.server.app);
const linksOnB = async (userId: string) =>
  (
    await ctx.db.sql`SELECT role FROM user_farms WHERE farm_id = ${f.B} AND user_id = ${userId} ORDER BY role`
  ).map((r) => r.role as string);

describe('a farm owner and their own links', () => {
  test('linking themselves as technician is refused, by id and by email; nothing is written', async () => {
    const [link] = await ctx.db
      .sql`SELECT role, is_owner FROM user_farms WHERE farm_id = ${f.B} AND user_id = ${f.both}`;
    assert.deepEqual({ ...link }, { role: 'farmer', is_owner: true }, 'seeded as farmer owner of B');
    const me = await as('both@example.com');
    const byId = await me.request('POST', `/api/v1/farms/${f.B}/members`, { body: { user_id: f.both } });
    assert.equal(byId.status, 422, byId.text);
    assert.deepEqual(byId.body.problems, [
      { pointer: '/user_id', message: 'names you: only an admin changes your own links to this farm' },
    ]);
    const byEmail = await me.request('POST', `/api/v1/farms/${f.B}/members`, {
      body: { email: ' BOTH@example.com ' },
    });
    assert.equal(byEmail.status, 422, byEmail.text);
    assert.equal(byEmail.body.problems[0].pointer, '/email');
    assert.deepEqual(await linksOnB(f.both), ['farmer']);
  });

  test('an admin-removed technician link stays removed; the owner still manages other technicians', async () => {
    const admin = await as('admin@example.com');
    const give = await admin.request('POST', `/api/v1/farms/${f.B}/members`, {
      body: { user_id: f.both, linked_as: 'technician' },
    });
    assert.equal(give.status, 200, give.text);
    const take = await admin.request('DELETE', `/api/v1/farms/${f.B}/members/${f.both}?linked_as=technician`);
    assert.equal(take.status, 204, take.text);
    const me = await as('both@example.com');
    const again = await me.request('POST', `/api/v1/farms/${f.B}/members`, { body: { user_id: f.both } });
    assert.equal(again.status, 422, again.text);
    assert.deepEqual(await linksOnB(f.both), ['farmer']);

    const add = await me.request('POST', `/api/v1/farms/${f.B}/members`, { body: { user_id: f.tech } });
    assert.equal(add.status, 200, add.text);
    assert.deepEqual(await linksOnB(f.tech), ['technician']);
    const remove = await me.request('DELETE', `/api/v1/farms/${f.B}/members/${f.tech}`);
    assert.equal(remove.status, 204, remove.text);
  });

  test('removing their own technician link is an admin’s too (403), and the page offers no Remove for it', async () => {
    await ctx.db
      .sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${f.both}, ${f.B}, 'technician')`;
    const me = await as('both@example.com');
    const res = await me.request('DELETE', `/api/v1/farms/${f.B}/members/${f.both}?linked_as=technician`);
    assert.equal(res.status, 403, res.text);
    assert.match(res.body.message, /only an admin changes your own links/);
    assert.deepEqual(await linksOnB(f.both), ['farmer', 'technician']);
    const page = await (await pageClient(ctx.server.app, 'both@example.com')).get(`/farms/${f.B}`);
    assert.doesNotMatch(page.html, /Remove<span class="visually-hidden"> both@example.com<\/span>/);
    await ctx.db
      .sql`DELETE FROM user_farms WHERE user_id = ${f.both} AND farm_id = ${f.B} AND role = 'technician'`;
  });

  test('the farm page’s Add form shows the refusal beside the email field', async () => {
    const page = await pageClient(ctx.server.app, 'both@example.com');
    const res = await page.post(`/farms/${f.B}/members`, { email: 'both@example.com' });
    assert.equal(res.status, 422);
    assert.match(
      textById(res.html, 'field-email-error') ?? '',
      /names you: only an admin changes your own links/,
    );
    assert.deepEqual(await linksOnB(f.both), ['farmer']);
  });
});
