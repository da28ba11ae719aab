import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// Self-registration with an approval gate, and account administration.

const f = {} as Record<'farm' | 'admin' | 'farmer' | 'other', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.farm = await seedFarm(db.sql, 'Farm');
      f.admin = (await seedUser(db.sql, 'admin@example.com', ['admin'])).id;
      f.farmer = (await seedUser(db.sql, 'existing@example.com', ['farmer'])).id;
    },
  },
);
let adminClient: ApiClient | undefined;
async function admin() {
  if (!adminClient) {
    adminClient = apiClient(ctx.server.app);
    await adminClient.signIn('admin@example.com', TEST_PASSWORD);
  }
  return adminClient;
}
const register = (body: Record<string, unknown>) =>
  apiClient(ctx.server.app).request('POST', '/api/v1/registrations', { body });
const asker = {
  email: 'New.Farmer@example.com',
  full_name: 'New Farmer',
  requested_role: 'farmer',
  password: 'wheat-field-cloud-44',
  message: 'North farm',
};

describe('registration', () => {
  test('a request is not an account; admins are notified; approval creates it with the chosen farms', async () => {
    const res = await register(asker);
    assert.equal(res.status, 202);
    assert.equal(
      (await apiClient(ctx.server.app).signIn(asker.email, asker.password)).status,
      401,
      'pending: no account yet',
    );
    const [note] = await ctx.db
      .sql`SELECT type, payload FROM notifications WHERE user_id = ${f.admin} AND type = 'registration_pending'`;
    assert.equal(note!.payload.email, 'new.farmer@example.com');
    const list = await (await admin()).request('GET', '/api/v1/registrations?status=pending');
    const req = list.body.items.find((r: { email: string }) => r.email === 'new.farmer@example.com');
    assert.ok(req);
    const approved = await (await admin()).request('POST', `/api/v1/registrations/${req.id}/approve`, {
      body: { farms: [{ farm_id: f.farm, is_owner: true }] },
    });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.status, 'approved');
    const [kept] = await ctx.db.sql`SELECT password_hash FROM registration_requests WHERE id = ${req.id}`;
    assert.equal(kept!.password_hash, null, 'the hash moved to the account');
    const me = apiClient(ctx.server.app);
    assert.equal((await me.signIn(asker.email, asker.password)).status, 200);
    const profile = await me.request('GET', '/api/v1/me');
    assert.deepEqual(profile.body.roles, ['farmer']);
    assert.deepEqual(
      profile.body.farms.map((x: { is_owner: boolean }) => x.is_owner),
      [true],
    );
    assert.equal(
      (await (await admin()).request('POST', `/api/v1/registrations/${req.id}/approve`, { body: {} })).status,
      409,
    );
  });

  test('approval links the farms in the account’s role: a technician’s links give write access', async () => {
    const tech = { ...asker, email: 'new.tech@example.com', requested_role: 'technician' };
    assert.equal((await register(tech)).status, 202);
    const [req] = await ctx.db.sql`SELECT id FROM registration_requests WHERE email = ${tech.email}`;
    const approved = await (await admin()).request('POST', `/api/v1/registrations/${req!.id}/approve`, {
      body: { farms: [{ farm_id: f.farm }] },
    });
    assert.equal(approved.status, 200);
    const me = apiClient(ctx.server.app);
    assert.equal((await me.signIn(tech.email, tech.password)).status, 200);
    const profile = await me.request('GET', '/api/v1/me');
    assert.deepEqual(profile.body.farms, [
      { id: f.farm, name: 'Farm', is_owner: false, linked_as: ['technician'] },
    ]);
    const renamed = await me.request('PATCH', `/api/v1/farms/${f.farm}`, { body: { name: 'Farm' } });
    assert.equal(renamed.status, 200, 'a technician of the farm writes on it');
  });

  test('the same answer for a new email, a pending one and an existing account; nobody registers as admin', async () => {
    const a = await register({ ...asker, email: 'twice@example.com' });
    const b = await register({ ...asker, email: 'twice@example.com' });
    const c = await register({ ...asker, email: 'existing@example.com' });
    assert.deepEqual([a.status, b.status, c.status], [202, 202, 202]);
    assert.deepEqual(a.body, b.body);
    assert.deepEqual(a.body, c.body);
    const rows = await ctx.db
      .sql`SELECT email FROM registration_requests WHERE email IN ('twice@example.com', 'existing@example.com')`;
    assert.deepEqual(
      rows.map((r) => r.email),
      ['twice@example.com'],
    );
    const asAdmin = await register({ ...asker, email: 'boss@example.com', requested_role: 'admin' });
    assert.equal(asAdmin.status, 422);
    assert.equal(asAdmin.body.problems[0].pointer, '/requested_role');
    const weak = await register({ ...asker, email: 'weak@example.com', password: 'password1234' });
    assert.equal(weak.status, 422);
    assert.equal(weak.body.problems[0].pointer, '/password');
  });

  test('a rejection keeps its reason; the person cannot sign in', async () => {
    await register({ ...asker, email: 'nope@example.com' });
    const [req] = await ctx.db.sql`SELECT id FROM registration_requests WHERE email = 'nope@example.com'`;
    const noReason = await (await admin()).request('POST', `/api/v1/registrations/${req!.id}/reject`, {
      body: { reason: ' ' },
    });
    assert.equal(noReason.status, 422);
    const res = await (await admin()).request('POST', `/api/v1/registrations/${req!.id}/reject`, {
      body: { reason: 'Not one of our farms' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.decision_reason, 'Not one of our farms');
    assert.equal((await apiClient(ctx.server.app).signIn('nope@example.com', asker.password)).status, 401);
  });
});

describe('users (admin)', () => {
  test('create, change roles, disable (sessions end), reset password', async () => {
    const created = await (await admin()).request('POST', '/api/v1/users', {
      body: {
        email: 'tech@example.com',
        full_name: 'Tech',
        roles: ['technician'],
        password: 'probe-gel-winter-21',
        operator_code: 'tech-abc',
      },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.operator_code, 'tech-abc');
    const tech = apiClient(ctx.server.app);
    assert.equal((await tech.signIn('tech@example.com', 'probe-gel-winter-21')).status, 200);
    const dup = await (await admin()).request('POST', '/api/v1/users', {
      body: { email: 'TECH@example.com', full_name: 'X', roles: ['farmer'], password: 'probe-gel-winter-21' },
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.problems[0].pointer, '/email');
    const reset = await (await admin()).request('POST', `/api/v1/users/${created.body.id}/password`, {
      body: { password: 'fresh-start-hay-88' },
    });
    assert.equal(reset.status, 200);
    assert.equal((await tech.request('GET', '/api/v1/me')).status, 401, 'a reset ends the sessions');
    await tech.signIn('tech@example.com', 'fresh-start-hay-88');
    const disabled = await (await admin()).request('PATCH', `/api/v1/users/${created.body.id}`, {
      body: { status: 'disabled' },
    });
    assert.equal(disabled.body.status, 'disabled');
    assert.equal((await tech.request('GET', '/api/v1/me')).status, 401);
  });

  test('a taken operator code refuses the whole account: no user is left behind without it', async () => {
    const body = { full_name: 'Op', roles: ['technician'], password: 'probe-gel-winter-21' };
    const first = await (await admin()).request('POST', '/api/v1/users', {
      body: { ...body, email: 'op-one@example.com', operator_code: 'op-shared' },
    });
    assert.equal(first.status, 201);
    const second = await (await admin()).request('POST', '/api/v1/users', {
      body: { ...body, email: 'op-two@example.com', operator_code: 'op-shared' },
    });
    assert.equal(second.status, 409);
    assert.equal(second.body.problems[0].pointer, '/operator_code');
    const left = await ctx.db.sql`SELECT id FROM users WHERE email = 'op-two@example.com'`;
    assert.equal(left.length, 0, 'the account without its operator code was kept');
    // Fixed and sent again, it is made (the email was not taken by a half-made account).
    const retry = await (await admin()).request('POST', '/api/v1/users', {
      body: { ...body, email: 'op-two@example.com', operator_code: 'op-other' },
    });
    assert.equal(retry.status, 201);
  });

  test('the last active admin can neither be demoted nor disabled', async () => {
    const demote = await (await admin()).request('PATCH', `/api/v1/users/${f.admin}`, {
      body: { roles: ['farmer'] },
    });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error, 'last_admin');
    assert.equal(
      (await (await admin()).request('PATCH', `/api/v1/users/${f.admin}`, { body: { status: 'disabled' } }))
        .status,
      409,
    );
    const second = await seedUser(ctx.db.sql, 'admin2@example.com', ['admin']);
    assert.equal(
      (
        await (
          await admin()
        ).request('PATCH', `/api/v1/users/${second.id}`, { body: { roles: ['admin', 'technician'] } })
      ).status,
      200,
    );
    assert.equal(
      (await (await admin()).request('PATCH', `/api/v1/users/${second.id}`, { body: { status: 'disabled' } }))
        .status,
      200,
    );
  });

  test('only farmers own farms: a sole owner keeps the farmer role (409); another owner stops owning', async () => {
    const farm2 = await seedFarm(ctx.db.sql, 'Farm two');
    const sole = await seedUser(ctx.db.sql, 'sole@example.com', ['farmer'], {
      farms: [{ id: farm2, owner: true }],
    });
    const co = await seedUser(ctx.db.sql, 'co@example.com', ['farmer'], {
      farms: [{ id: farm2, owner: true }],
    });
    const owners = async () =>
      (
        await ctx.db.sql<{ email: string }[]>`
          SELECT u.email FROM user_farms uf JOIN users u ON u.id = uf.user_id
           WHERE uf.farm_id = ${farm2} AND uf.is_owner ORDER BY u.email`
      ).map((r) => r.email);
    const demote = (id: string) =>
      admin().then((a) => a.request('PATCH', `/api/v1/users/${id}`, { body: { roles: ['technician'] } }));
    // Two owners: one becomes a technician, no longer linked to the farm (a farmer's links follow the role).
    const first = await demote(co.id);
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(await owners(), ['sole@example.com']);
    const links = await ctx.db.sql`SELECT 1 FROM user_farms WHERE user_id = ${co.id} AND farm_id = ${farm2}`;
    assert.equal(links.length, 0);
    // Now the only owner: refused, nothing changed.
    const refused = await demote(sole.id);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error, 'last_owner');
    assert.match(refused.body.message, /only owner of Farm two/);
    assert.equal(refused.body.problems[0].pointer, '/roles');
    const [roles] = await ctx.db.sql`
      SELECT array_agg(r.name) AS names FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ${sole.id}`;
    assert.deepEqual(roles!.names, ['farmer']);
    assert.deepEqual(await owners(), ['sole@example.com']);
    // Keeping the farmer role beside another is fine.
    const both = await (await admin()).request('PATCH', `/api/v1/users/${sole.id}`, {
      body: { roles: ['farmer', 'technician'] },
    });
    assert.equal(both.status, 200);
    assert.deepEqual(await owners(), ['sole@example.com']);
  });

  test('text Postgres cannot store (NUL, an unpaired surrogate) is 422 naming the field; nothing written', async () => {
    const user = await seedUser(ctx.db.sql, 'text@example.com', ['technician']);
    for (const [raw, message] of [
      ['{"full_name":"a\\ud800b"}', /unpaired surrogate \(U\+D800\)/],
      ['{"full_name":"\\udfff"}', /unpaired surrogate \(U\+DFFF\)/],
      ['{"full_name":"a\\u0000b"}', /NUL character \(U\+0000\)/],
    ] as const) {
      const res = await (await admin()).request('PATCH', `/api/v1/users/${user.id}`, {
        body: raw,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 422, raw);
      assert.equal(res.body.problems[0].pointer, '/full_name', raw);
      assert.match(res.body.problems[0].message, message, raw);
    }
    const paired = await (await admin()).request('PATCH', `/api/v1/users/${user.id}`, {
      body: '{"full_name":"Ann \\ud83d\\udc04"}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(paired.status, 200, 'a surrogate pair is a character');
    const [row] = await ctx.db.sql`SELECT full_name FROM users WHERE id = ${user.id}`;
    assert.equal(row!.full_name, 'Ann \u{1F404}');
  });

  test('a JSON body that is not UTF-8 is a 400 saying so, never stored with U+FFFD; nothing written', async () => {
    const user = await seedUser(ctx.db.sql, 'latin1@example.com', ['technician']);
    const client = await admin();
    for (const bytes of [
      Buffer.from('{"full_name":"Ren\xe9"}', 'latin1'), // Latin-1 "é"
      Buffer.from([...Buffer.from('{"full_name":"bad '), 0xff, ...Buffer.from(' utf8"}')]),
      Buffer.from([...Buffer.from('{"full_name":"cut '), 0xe2, 0x82, ...Buffer.from('"}')]), // a truncated sequence
    ]) {
      const res = await client.request('PATCH', `/api/v1/users/${user.id}`, { body: new Uint8Array(bytes) });
      assert.equal(res.status, 400, bytes.toString('latin1'));
      assert.equal(res.body.error, 'invalid_json');
      assert.match(res.body.message, /not UTF-8/);
    }
    const farms = await ctx.db.sql`SELECT count(*)::int AS n FROM farms`;
    const farm = await client.request('POST', '/api/v1/farms', {
      body: new Uint8Array(Buffer.from('{"name":"bad \xff utf8"}', 'latin1')),
    });
    assert.equal(farm.status, 400);
    assert.deepEqual(await ctx.db.sql`SELECT count(*)::int AS n FROM farms`, farms);
    const [row] = await ctx.db.sql`SELECT full_name FROM users WHERE id = ${user.id}`;
    assert.doesNotMatch(row!.full_name ?? '', /\uFFFD/);
    const good = await client.request('PATCH', `/api/v1/users/${user.id}`, {
      body: new Uint8Array(Buffer.from('{"full_name":"René \uFFFD"}', 'utf8')),
    });
    assert.equal(good.status, 200, 'UTF-8 (a real U+FFFD included) is fine');
  });

  test("a farm's only active owner cannot be disabled (409 last_owner, nothing written); re-enabling is fine", async () => {
    const farm3 = await seedFarm(ctx.db.sql, 'Farm three');
    const sole = await seedUser(ctx.db.sql, 'sole3@example.com', ['farmer'], {
      farms: [{ id: farm3, owner: true }],
    });
    const signedIn = apiClient(ctx.server.app);
    assert.equal((await signedIn.signIn('sole3@example.com', TEST_PASSWORD)).status, 200);
    const setStatus = (id: string, status: 'active' | 'disabled') =>
      admin().then((a) => a.request('PATCH', `/api/v1/users/${id}`, { body: { status } }));
    const statusOf = async (id: string) =>
      (await ctx.db.sql<{ status: string }[]>`SELECT status FROM users WHERE id = ${id}`)[0]!.status;

    const refused = await setStatus(sole.id, 'disabled');
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.error, 'last_owner');
    assert.match(refused.body.message, /only owner of Farm three/);
    assert.deepEqual(
      refused.body.problems.map((p: { pointer: string }) => p.pointer),
      ['/status'],
    );
    assert.equal(await statusOf(sole.id), 'active');
    assert.equal((await signedIn.request('GET', '/api/v1/me')).status, 200, 'the session was not ended');

    // With a second owner the first may be disabled (and stays owner for when they come back)…
    const co = await seedUser(ctx.db.sql, 'co3@example.com', ['farmer'], {
      farms: [{ id: farm3, owner: true }],
    });
    assert.equal((await setStatus(sole.id, 'disabled')).status, 200);
    // …but then the co-owner is the only owner who can sign in.
    const second = await setStatus(co.id, 'disabled');
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.error, 'last_owner');
    assert.equal(await statusOf(co.id), 'active');
    const demoted = await admin().then((a) =>
      a.request('PATCH', `/api/v1/users/${co.id}`, { body: { roles: ['technician'] } }),
    );
    assert.equal(demoted.status, 409, 'a disabled co-owner does not count for the farmer role either');
    // Re-enabling is always fine; then either may be disabled.
    assert.equal((await setStatus(sole.id, 'active')).status, 200);
    assert.equal((await setStatus(co.id, 'disabled')).status, 200);
    assert.equal(await statusOf(co.id), 'disabled');
  });
});
