import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient, sessionCookieFrom } from '../test-api-client.ts';
import { testAuthConfig, useTestApp } from '../test-helpers.ts';
import { seedUser, TEST_PASSWORD } from '../test-seed.ts';

// Sign-in, sessions and CSRF through the real app and a real database (no mocks).

let ann: { id: string; email: string };
const ctx = useTestApp(
  {
    auth: testAuthConfig({
      accountFailureLimit: 3,
      addressFailureLimit: 8,
      trustProxyHops: 1,
      lockoutSeconds: 600,
    }),
  },
  {
    async seed({ db }) {
      ann = await seedUser(db.sql, 'ann@example.com', ['farmer']);
      await seedUser(db.sql, 'bob@example.com', ['technician']);
      await seedUser(db.sql, 'lock@example.com', ['farmer']);
    },
  },
);
const app = () => ctx.server.app;

const from = (address: string) => ({ 'x-forwarded-for': address });

describe('sign-in', () => {
  test('right password: 200, HttpOnly SameSite=Lax cookie, CSRF token, the user', async () => {
    const res = await app().request('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from('10.0.0.1') },
      body: JSON.stringify({ email: 'ANN@example.com ', password: TEST_PASSWORD }),
    });
    assert.equal(res.status, 200);
    const cookie = sessionCookieFrom(res.headers);
    assert.ok(cookie);
    assert.match(cookie.raw, /HttpOnly/);
    assert.match(cookie.raw, /SameSite=Lax/);
    assert.match(cookie.raw, /Path=\//);
    const body = (await res.json()) as { user: { email: string; roles: string[] }; csrf_token: string };
    assert.equal(body.user.email, 'ann@example.com');
    assert.deepEqual(body.user.roles, ['farmer']);
    assert.match(body.csrf_token, /^[\w-]{32}$/);
    // Only the hash of the token is stored.
    const token = cookie.value.split('=')[1]!;
    const rows = await ctx.db
      .sql`SELECT encode(token_hash, 'hex') AS h FROM sessions WHERE user_id = ${ann.id}`;
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((r) => r.h !== Buffer.from(token).toString('hex')));
  });

  test('the cookie is Secure with the __Host- prefix for any host but plain-HTTP localhost', async () => {
    const res = await app().request('https://cti.example.com/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://cti.example.com', ...from('10.0.0.1') },
      body: JSON.stringify({ email: 'ann@example.com', password: TEST_PASSWORD }),
    });
    assert.equal(res.status, 200);
    const cookie = sessionCookieFrom(res.headers)!;
    assert.match(cookie.raw, /^__Host-cti_session=/);
    assert.match(cookie.raw, /Secure/);
    assert.match(cookie.raw, /HttpOnly/);
  });

  test('unknown email and wrong password get the same answer', async () => {
    const a = apiClient(app());
    const wrong = await a.request('POST', '/api/v1/session', {
      body: { email: 'bob@example.com', password: 'not-the-password-1' },
      headers: from('10.0.0.2'),
    });
    const unknown = await a.request('POST', '/api/v1/session', {
      body: { email: 'nobody@example.com', password: 'not-the-password-1' },
      headers: from('10.0.0.2'),
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const strip = (b: { request_id?: string }) => ({ ...b, request_id: undefined });
    assert.deepEqual(strip(wrong.body), strip(unknown.body));
    assert.equal(sessionCookieFrom(wrong.headers), undefined);
  });

  test('bad input is a 422 naming the field, never a 500', async () => {
    const a = apiClient(app());
    const res = await a.request('POST', '/api/v1/session', { body: { email: 7, password: 5 } });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.problems.map((p: { pointer: string }) => p.pointer).sort(), [
      '/email',
      '/password',
    ]);
    const notJson = await a.request('POST', '/api/v1/session', {
      body: '{"email":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
  });
});

describe('lockout', () => {
  test('after 3 failures for one account it is locked (429 + Retry-After), even with the right password', async () => {
    const a = apiClient(app());
    for (let i = 0; i < 3; i++) {
      const r = await a.request('POST', '/api/v1/session', {
        body: { email: 'lock@example.com', password: `wrong-password-${i}` },
        headers: from(`10.1.0.${i}`),
      });
      assert.equal(r.status, 401);
    }
    const locked = await a.request('POST', '/api/v1/session', {
      body: { email: 'lock@example.com', password: TEST_PASSWORD },
      headers: from('10.1.0.9'),
    });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error, 'too_many_attempts');
    assert.ok(Number(locked.headers.get('retry-after')) > 500);
    // An unknown email locks the same way: a lock says nothing about existence.
    for (let i = 0; i < 3; i++) {
      await a.request('POST', '/api/v1/session', {
        body: { email: 'ghost@example.com', password: 'x' },
        headers: from('10.1.1.1'),
      });
    }
    const ghost = await a.request('POST', '/api/v1/session', {
      body: { email: 'ghost@example.com', password: 'x' },
      headers: from('10.1.1.2'),
    });
    assert.equal(ghost.status, 429);
    // The lock is in Postgres (shared by every container), and ends: expire it and sign in.
    await ctx.db
      .sql`UPDATE auth_throttle SET locked_until = now() - interval '1 second', window_started_at = now() - interval '1 day'
                      WHERE key = 'account:lock@example.com'`;
    const after = await a.request('POST', '/api/v1/session', {
      body: { email: 'lock@example.com', password: TEST_PASSWORD },
      headers: from('10.1.0.10'),
    });
    assert.equal(after.status, 200);
  });

  test('after 8 failures from one address every account is refused from it, others still sign in', async () => {
    const a = apiClient(app());
    for (let i = 0; i < 8; i++) {
      await a.request('POST', '/api/v1/session', {
        body: { email: `spray${i}@example.com`, password: 'guess-guess' },
        headers: from('10.9.9.9'),
      });
    }
    const fromThere = await a.request('POST', '/api/v1/session', {
      body: { email: 'bob@example.com', password: TEST_PASSWORD },
      headers: from('10.9.9.9'),
    });
    assert.equal(fromThere.status, 429);
    const elsewhere = await a.request('POST', '/api/v1/session', {
      body: { email: 'bob@example.com', password: TEST_PASSWORD },
      headers: from('10.9.9.10'),
    });
    assert.equal(elsewhere.status, 200);
  });
});

describe('sessions', () => {
  test('sign-out ends the session on the server: the old cookie is refused afterwards', async () => {
    const a = apiClient(app());
    assert.equal((await a.signIn('bob@example.com', TEST_PASSWORD)).status, 200);
    const cookie = a.cookie!;
    assert.equal((await a.request('GET', '/api/v1/me')).status, 200);
    assert.equal((await a.request('DELETE', '/api/v1/session')).status, 204);
    assert.equal(a.cookie, undefined, 'the cookie is cleared');
    const replay = await app().request('/api/v1/me', { headers: { cookie } });
    assert.equal(replay.status, 401);
  });

  test('session fixation: a planted cookie value never becomes a session; sign-in rotates the token', async () => {
    const planted = `cti_session=${'A'.repeat(43)}`;
    assert.equal((await app().request('/api/v1/me', { headers: { cookie: planted } })).status, 401);
    const res = await app().request('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: planted, ...from('10.0.0.3') },
      body: JSON.stringify({ email: 'bob@example.com', password: TEST_PASSWORD }),
    });
    assert.equal(res.status, 200);
    const { csrf_token } = (await res.json()) as { csrf_token: string };
    const issued = sessionCookieFrom(res.headers)!.value;
    assert.notEqual(issued, planted);
    assert.equal((await app().request('/api/v1/me', { headers: { cookie: planted } })).status, 401);
    // Signing in again from a signed-in browser ends the previous session (rotation).
    const again = await app().request('/api/v1/session', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: issued,
        'x-csrf-token': csrf_token,
        ...from('10.0.0.3'),
      },
      body: JSON.stringify({ email: 'bob@example.com', password: TEST_PASSWORD }),
    });
    const rotated = sessionCookieFrom(again.headers)!.value;
    assert.notEqual(rotated, issued);
    assert.equal((await app().request('/api/v1/me', { headers: { cookie: issued } })).status, 401);
    assert.equal((await app().request('/api/v1/me', { headers: { cookie: rotated } })).status, 200);
  });

  test('idle and absolute expiry end the session', async () => {
    const idle = apiClient(app());
    await idle.signIn('bob@example.com', TEST_PASSWORD);
    await ctx.db.sql`UPDATE sessions SET last_seen_at = now() - interval '9 hours'
                      WHERE created_at = (SELECT max(created_at) FROM sessions)`;
    assert.equal((await idle.request('GET', '/api/v1/me')).status, 401);
    const old = apiClient(app());
    await old.signIn('bob@example.com', TEST_PASSWORD);
    await ctx.db.sql`UPDATE sessions SET expires_at = now() - interval '1 second'
                      WHERE created_at = (SELECT max(created_at) FROM sessions)`;
    assert.equal((await old.request('GET', '/api/v1/me')).status, 401);
  });

  test('a disabled account loses its sessions at once', async () => {
    const u = await seedUser(ctx.db.sql, 'gone@example.com', ['farmer']);
    const a = apiClient(app());
    await a.signIn(u.email, TEST_PASSWORD);
    await ctx.db.sql`UPDATE users SET status = 'disabled' WHERE id = ${u.id}`;
    assert.equal((await a.request('GET', '/api/v1/me')).status, 401);
    assert.equal((await a.signIn(u.email, TEST_PASSWORD)).status, 401);
  });
});

describe('CSRF', () => {
  test('an unsafe API call with the cookie but without the X-CSRF-Token header is refused', async () => {
    const a = apiClient(app());
    await a.signIn('bob@example.com', TEST_PASSWORD);
    const none = await a.request('PATCH', '/api/v1/me', { body: { full_name: 'Bob' }, csrf: false });
    assert.equal(none.status, 403);
    assert.equal(none.body.error, 'csrf_failed');
    const wrong = await a.request('PATCH', '/api/v1/me', {
      body: { full_name: 'Bob' },
      csrf: false,
      headers: { 'x-csrf-token': 'x'.repeat(32) },
    });
    assert.equal(wrong.status, 403);
    const right = await a.request('PATCH', '/api/v1/me', { body: { full_name: 'Bob B.' } });
    assert.equal(right.status, 200);
    assert.equal(right.body.full_name, 'Bob B.');
  });

  test('a cross-site form post is refused by the Origin check (hono/csrf)', async () => {
    const res = await app().request('/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'email=bob%40example.com&password=x',
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'csrf_failed');
    const api = await app().request('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({ email: 'bob@example.com', password: TEST_PASSWORD }),
    });
    assert.equal(api.status, 415, 'the API takes JSON only: no cross-site form can reach it');
  });
});

describe('password change', () => {
  test('wrong current password → 422; weak new one → 422 naming it; success ends the other sessions', async () => {
    const u = await seedUser(ctx.db.sql, 'carol@example.com', ['technician']);
    const phone = apiClient(app());
    const laptop = apiClient(app());
    await phone.signIn(u.email, TEST_PASSWORD);
    await laptop.signIn(u.email, TEST_PASSWORD);
    const wrong = await laptop.request('POST', '/api/v1/me/password', {
      body: { current_password: 'nope', new_password: 'x' },
    });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.body.problems[0].pointer, '/current_password');
    for (const weak of [
      'short',
      'carol@example.com',
      'Password123!',
      'carol-is-great-2024',
      'aaaaaaaaaaaaaaaa',
    ]) {
      const r = await laptop.request('POST', '/api/v1/me/password', {
        body: { current_password: TEST_PASSWORD, new_password: weak },
      });
      assert.equal(r.status, 422, weak);
      assert.ok(
        r.body.problems.every((p: { pointer: string }) => p.pointer === '/new_password'),
        weak,
      );
    }
    const oldCookie = laptop.cookie;
    const ok = await laptop.request('POST', '/api/v1/me/password', {
      body: { current_password: TEST_PASSWORD, new_password: 'hay-barn-sunrise-42' },
    });
    assert.equal(ok.status, 200);
    assert.notEqual(laptop.cookie, oldCookie, 'the session was rotated');
    laptop.csrf = ok.body.csrf_token;
    assert.equal((await laptop.request('GET', '/api/v1/me')).status, 200);
    assert.equal((await phone.request('GET', '/api/v1/me')).status, 401, 'other sessions ended');
    assert.equal((await apiClient(app()).signIn(u.email, 'hay-barn-sunrise-42')).status, 200);
  });
});

describe('security headers', () => {
  test('CSP without inline scripts, no framing, nosniff, referrer policy — on pages and API answers', async () => {
    for (const path of ['/sign-in', '/api/v1/me', '/api/openapi.json']) {
      const res = await app().request(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
    }
  });
});

describe('housekeeping', () => {
  test('sweep deletes expired and idle sessions and spent throttle rows, keeps live ones', async () => {
    const live = apiClient(app());
    await live.signIn('ann@example.com', TEST_PASSWORD);
    await ctx.db.sql`INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, last_seen_at)
                     VALUES (${Buffer.alloc(32, 1)}, ${ann.id}, 'x', now() - interval '1 minute', now()),
                            (${Buffer.alloc(32, 2)}, ${ann.id}, 'x', now() + interval '1 day', now() - interval '2 days')`;
    await ctx.db.sql`INSERT INTO auth_throttle (key, failures, window_started_at, updated_at)
                     VALUES ('account:old@example.com', 2, now() - interval '2 days', now() - interval '2 days')`;
    const removed = await ctx.server.sweep();
    assert.ok(removed.sessions >= 2);
    assert.ok(removed.throttle >= 1);
    const left = await ctx.db
      .sql`SELECT count(*)::int AS n FROM sessions WHERE token_hash IN (${Buffer.alloc(32, 1)}, ${Buffer.alloc(32, 2)})`;
    assert.equal(left[0]!.n, 0);
    assert.equal((await live.request('GET', '/api/v1/me')).status, 200);
  });
});
