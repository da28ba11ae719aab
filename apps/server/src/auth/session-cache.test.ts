import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient } from '../test-api-client.ts';
import { createTestApp, type TestApp, testAuthConfig, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// The in-process session cache (session-cache.ts) with a lifetime far longer than any test: whatever
// ends a session here must do so through the cache's invalidation — the session layer forgetting after
// a write request in the same process, and migration 0011's announcements for other processes
// (a second app on the same database stands for another server replica; SQL for psql or the CLI).

const cached = { auth: testAuthConfig({ sessionCacheSeconds: 600 }) };
let replica: TestApp;
let farm: string;
let scan: string;
const ctx = useTestApp(cached, {
  async seed({ db }) {
    replica = createTestApp(db.sql, cached);
    farm = await seedFarm(db.sql, 'Cache Farm');
    scan = await seedScan(db.sql, { farmId: farm, deviceId: await seedDevice(db.sql, 'CACHE-1', farm) });
    await seedUser(db.sql, 'root@example.com', ['admin']);
  },
});
after(async () => {
  await replica.closeStreams();
  await ctx.server.closeStreams();
});

const admin = async () => {
  const a = apiClient(ctx.server.app);
  await a.signIn('root@example.com', TEST_PASSWORD);
  return a;
};

/** Signs `email` in on app A and returns a client of A and one of the replica with the same cookie. */
async function signedIn(email: string) {
  const a = apiClient(ctx.server.app);
  assert.equal((await a.signIn(email, TEST_PASSWORD)).status, 200);
  const b = apiClient(replica.app);
  b.cookie = a.cookie;
  b.csrf = a.csrf;
  // Both processes have the session cached now.
  assert.equal((await a.request('GET', '/api/v1/me')).status, 200);
  assert.equal((await b.request('GET', '/api/v1/me')).status, 200);
  return { a, b };
}

/**
 * The status of GET `path` once it is no longer 200, asking again while the announcement travels
 * (a bounded wait, no timing asserted: with the cache's 600 s lifetime, only the announcement ends it).
 */
async function statusOnceChanged(client: ReturnType<typeof apiClient>, path = '/api/v1/me') {
  for (let i = 0; i < 500; i++) {
    const { status } = await client.request('GET', path);
    if (status !== 200) return status;
    await sleep(10);
  }
  return 200;
}

describe('session cache', () => {
  test('a cached session answers without a lookup: its user row can change unseen until announced', async () => {
    // Proof that the cache is in use (else the tests below would pass without it): a change that the
    // triggers do not announce (updated_at) is invisible, and the principal still comes from the cache.
    const u = await seedUser(ctx.db.sql, 'quiet@example.com', ['farmer']);
    const { b } = await signedIn(u.email);
    await ctx.db.sql`ALTER TABLE users DISABLE TRIGGER users_notify_change`;
    try {
      await ctx.db.sql`UPDATE users SET full_name = 'Renamed Quietly' WHERE id = ${u.id}`;
      assert.equal((await b.request('GET', '/api/v1/me')).body.full_name, 'quiet');
    } finally {
      await ctx.db.sql`ALTER TABLE users ENABLE TRIGGER users_notify_change`;
    }
  });

  test('sign-out ends the session at once here and on the other replica', async () => {
    const u = await seedUser(ctx.db.sql, 'leaver@example.com', ['farmer']);
    const { a, b } = await signedIn(u.email);
    const cookie = a.cookie;
    assert.equal((await a.request('DELETE', '/api/v1/session')).status, 204);
    a.cookie = cookie;
    assert.equal((await a.request('GET', '/api/v1/me')).status, 401);
    assert.equal(await statusOnceChanged(b), 401);
  });

  test('an admin disabling an account ends its cached sessions here at once and on the replica', async () => {
    const u = await seedUser(ctx.db.sql, 'disabled@example.com', ['farmer']);
    const { a, b } = await signedIn(u.email);
    const res = await (await admin()).request('PATCH', `/api/v1/users/${u.id}`, {
      body: { status: 'disabled' },
    });
    assert.equal(res.status, 200);
    assert.equal((await a.request('GET', '/api/v1/me')).status, 401);
    assert.equal(await statusOnceChanged(b), 401);
  });

  test('disabling with SQL (psql, the user CLI) reaches every process', async () => {
    const u = await seedUser(ctx.db.sql, 'psql-disabled@example.com', ['farmer']);
    const { a, b } = await signedIn(u.email);
    await ctx.db.sql`UPDATE users SET status = 'disabled' WHERE id = ${u.id}`;
    assert.equal(await statusOnceChanged(a), 401);
    assert.equal(await statusOnceChanged(b), 401);
  });

  test('a role change holds for the next request here and reaches the replica', async () => {
    const u = await seedUser(ctx.db.sql, 'demoted@example.com', ['admin']);
    const { a, b } = await signedIn(u.email);
    assert.equal((await a.request('GET', '/api/v1/users')).status, 200);
    assert.equal((await b.request('GET', '/api/v1/users')).status, 200);
    const res = await (await admin()).request('PATCH', `/api/v1/users/${u.id}`, {
      body: { roles: ['farmer'] },
    });
    assert.equal(res.status, 200);
    assert.equal((await a.request('GET', '/api/v1/users')).status, 403);
    assert.deepEqual((await a.request('GET', '/api/v1/me')).body.roles, ['farmer']);
    assert.equal(await statusOnceChanged(b, '/api/v1/users'), 403);
  });

  test('a role changed with SQL reaches every process', async () => {
    const u = await seedUser(ctx.db.sql, 'sql-demoted@example.com', ['admin']);
    const { a, b } = await signedIn(u.email);
    await ctx.db.sql`DELETE FROM user_roles WHERE user_id = ${u.id}`;
    assert.equal(await statusOnceChanged(a, '/api/v1/users'), 403);
    assert.equal(await statusOnceChanged(b, '/api/v1/users'), 403);
  });

  test('a farm taken away hides its scans at once: the cache holds no farm access', async () => {
    const u = await seedUser(ctx.db.sql, 'member@example.com', ['farmer'], { farms: [{ id: farm }] });
    const { a, b } = await signedIn(u.email);
    assert.equal((await a.request('GET', `/api/v1/scans/${scan}`)).status, 200);
    assert.equal((await b.request('GET', `/api/v1/scans/${scan}`)).status, 200);
    await ctx.db.sql`DELETE FROM user_farms WHERE user_id = ${u.id} AND farm_id = ${farm}`;
    assert.equal((await a.request('GET', `/api/v1/scans/${scan}`)).status, 404);
    assert.equal((await b.request('GET', `/api/v1/scans/${scan}`)).status, 404);
  });

  test('idle and absolute expiry set with SQL end cached sessions', async () => {
    const idle = await seedUser(ctx.db.sql, 'idle@example.com', ['farmer']);
    const s1 = await signedIn(idle.email);
    await ctx.db
      .sql`UPDATE sessions SET last_seen_at = now() - interval '9 hours' WHERE user_id = ${idle.id}`;
    assert.equal(await statusOnceChanged(s1.a), 401);
    assert.equal(await statusOnceChanged(s1.b), 401);
    const old = await seedUser(ctx.db.sql, 'old@example.com', ['farmer']);
    const s2 = await signedIn(old.email);
    await ctx.db.sql`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = ${old.id}`;
    assert.equal(await statusOnceChanged(s2.a), 401);
    assert.equal(await statusOnceChanged(s2.b), 401);
  });

  test('a password change by the user signs out the other sessions on every process', async () => {
    const u = await seedUser(ctx.db.sql, 'rotate@example.com', ['farmer']);
    const first = await signedIn(u.email);
    const second = apiClient(ctx.server.app);
    await second.signIn(u.email, TEST_PASSWORD);
    const res = await second.request('POST', '/api/v1/me/password', {
      body: { current_password: TEST_PASSWORD, new_password: 'a-brand-new-long-passphrase-9' },
    });
    assert.ok(res.status === 200 || res.status === 204, `${res.status} ${res.text}`);
    assert.equal((await first.a.request('GET', '/api/v1/me')).status, 401);
    assert.equal(await statusOnceChanged(first.b), 401);
  });

  test('TRUNCATE (no row triggers fire) ends cached sessions and roles on every process', async () => {
    // Migration 0013: before it, a truncate announced nothing and both processes kept these for 600 s.
    const u = await seedUser(ctx.db.sql, 'truncated-roles@example.com', ['admin']);
    const s1 = await signedIn(u.email);
    assert.equal((await s1.b.request('GET', '/api/v1/users')).status, 200);
    await ctx.db.sql`TRUNCATE user_roles`;
    assert.equal(await statusOnceChanged(s1.a, '/api/v1/users'), 403);
    assert.equal(await statusOnceChanged(s1.b, '/api/v1/users'), 403);
    const v = await seedUser(ctx.db.sql, 'truncated-sessions@example.com', ['farmer']);
    const s2 = await signedIn(v.email);
    await ctx.db.sql`TRUNCATE sessions`;
    assert.equal(await statusOnceChanged(s2.a), 401);
    assert.equal(await statusOnceChanged(s2.b), 401);
  });

  test('a user deleted outright, a role renamed, a token rotated with SQL reach every process', async () => {
    const gone = await seedUser(ctx.db.sql, 'deleted@example.com', ['farmer']);
    const s1 = await signedIn(gone.email);
    await ctx.db.sql`DELETE FROM user_roles WHERE user_id = ${gone.id}`;
    await ctx.db.sql`DELETE FROM users WHERE id = ${gone.id}`;
    assert.equal(await statusOnceChanged(s1.a), 401);
    assert.equal(await statusOnceChanged(s1.b), 401);
    const renamed = await seedUser(ctx.db.sql, 'renamed-role@example.com', ['admin']);
    const s2 = await signedIn(renamed.email);
    await ctx.db.sql`UPDATE roles SET name = 'admin-renamed' WHERE name = 'admin'`;
    try {
      // An admin-only list that matches nobody: a user listed with the renamed role is not in the OpenAPI document.
      const adminOnly = '/api/v1/users?q=no-such-user';
      assert.equal(await statusOnceChanged(s2.a, adminOnly), 403);
      assert.equal(await statusOnceChanged(s2.b, adminOnly), 403);
    } finally {
      await ctx.db.sql`UPDATE roles SET name = 'admin' WHERE name = 'admin-renamed'`;
    }
    const rotated = await seedUser(ctx.db.sql, 'rotated@example.com', ['farmer']);
    const s3 = await signedIn(rotated.email);
    await ctx.db.sql`UPDATE sessions SET token_hash = sha256(token_hash) WHERE user_id = ${rotated.id}`;
    assert.equal(await statusOnceChanged(s3.a), 401);
    assert.equal(await statusOnceChanged(s3.b), 401);
  });

  test('a change rolled back announces nothing and changes nothing', async () => {
    const u = await seedUser(ctx.db.sql, 'rolled-back@example.com', ['farmer']);
    const { a, b } = await signedIn(u.email);
    await assert.rejects(
      ctx.db.sql.begin(async (tx) => {
        await tx`UPDATE users SET email = 'other@example.com', status = 'disabled' WHERE id = ${u.id}`;
        throw new Error('roll back');
      }),
    );
    assert.equal((await a.request('GET', '/api/v1/me')).body.email, u.email);
    assert.equal((await b.request('GET', '/api/v1/me')).body.email, u.email);
  });

  test('the LISTEN connection killed by Postgres: a change made meanwhile still ends cached sessions', async () => {
    const u = await seedUser(ctx.db.sql, 'listener-killed@example.com', ['farmer']);
    const { a, b } = await signedIn(u.email);
    const killed = await ctx.db.sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query ILIKE 'listen%'`;
    assert.ok(killed.length >= 1, 'no LISTEN connection found');
    await ctx.db.sql`UPDATE users SET status = 'disabled' WHERE id = ${u.id}`;
    assert.equal(await statusOnceChanged(a), 401);
    assert.equal(await statusOnceChanged(b), 401);
    // Listening again: the next change is announced as before.
    const v = await seedUser(ctx.db.sql, 'after-kill@example.com', ['farmer']);
    const s = await signedIn(v.email);
    await ctx.db.sql`UPDATE users SET status = 'disabled' WHERE id = ${v.id}`;
    assert.equal(await statusOnceChanged(s.a), 401);
    assert.equal(await statusOnceChanged(s.b), 401);
  });
});
