import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedUser, TEST_PASSWORD } from '../test-seed.ts';

// Every answer of a private route (the API and the pages) is `Cache-Control: no-store` — the refusals
// made by the layers in front of the handlers too (body limits, CSRF, the session, a NUL, a missing
// route): a shared cache must never keep one, whatever it says. Machine routes and static files keep
// their own caching.

let cookie: string;
let csrf: string;
const ctx = useTestApp(
  {},
  {
    async seed({ db, server }) {
      await seedUser(db.sql, 'tech@example.com', ['technician']);
      const client = apiClient(server.app);
      assert.equal((await client.signIn('tech@example.com', TEST_PASSWORD)).status, 200);
      cookie = client.cookie!;
      csrf = client.csrf!;
    },
  },
);

const big = 'x'.repeat(1024 * 1024 + 10);
type Init = { method?: string; body?: string; headers?: Record<string, string> };
const requests: [string, string, Init, number][] = [
  [
    'API 413 (body over 1 MiB)',
    '/api/v1/session',
    { method: 'POST', body: big, headers: { 'content-type': 'application/json' } },
    413,
  ],
  [
    'API 403 csrf_failed (no X-CSRF-Token)',
    '/api/v1/me/password',
    { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
    403,
  ],
  ['API 401 (not signed in)', '/api/v1/scans', { headers: { cookie: '' } }, 401],
  ['API 404 (no such route)', '/api/v1/no-such-thing', {}, 404],
  ['API 422 (bad query)', '/api/v1/scans?status=nope', {}, 422],
  [
    'page 403 (cross-site form, Origin check)',
    '/notifications/read-all',
    {
      method: 'POST',
      body: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    },
    403,
  ],
  [
    'page 413 as JSON (form over the page limit)',
    '/notifications/read-all',
    {
      method: 'POST',
      body: `a=${big}${big}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    },
    413,
  ],
  ['page 422 (NUL in the query)', '/scans?capture_id=%00', { headers: { accept: 'application/json' } }, 422],
  ['live stream 401 (anonymous)', '/scans/events', { headers: { cookie: '' } }, 401],
  ['live stream HEAD', '/scans/events', { method: 'HEAD' }, 200],
  ['a page 404 as JSON', '/no-such-page', {}, 404],
];

describe('Cache-Control: no-store on every answer of a private route', () => {
  for (const [what, path, init, status] of requests) {
    test(what, async () => {
      const headers: Record<string, string> = { cookie, ...init.headers };
      if (init.method === 'POST' && path.startsWith('/api/') && !what.includes('csrf')) {
        headers['x-csrf-token'] = csrf;
      }
      const res = await ctx.server.app.request(path, { ...init, headers });
      assert.equal(res.status, status, await res.clone().text());
      assert.equal(res.headers.get('cache-control'), 'no-store');
      await res.body?.cancel();
    });
  }

  test('static files and health answers keep their own caching', async () => {
    const health = await ctx.server.app.request('/healthz');
    assert.notEqual(health.headers.get('cache-control'), 'no-store');
    const url = ctx.server.staticAssets.url('app.css');
    const css = await ctx.server.app.request(url);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('cache-control') ?? '', /^public, max-age=/);
  });
});
