import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { testAuthConfig, testConfig, useTestApp } from '../test-helpers.ts';
import { pageClient } from '../web/pages/test-page-client.ts';
import { createSignInThrottle } from './sign-in-throttle.ts';

// Account requests are limited per client address (anonymous callers must not be able to make
// scrypt hashes, rows and admin notifications at will): through the API and the page, which share
// the count, on a real database. app.request() has no socket: without X-Forwarded-For the address
// is 'unknown'; one trusted proxy hop makes the header's last entry the address.

const auth = testAuthConfig({
  registrationAddressLimit: 3,
  registrationWindowSeconds: 3600,
  trustProxyHops: 1,
});
const ctx = useTestApp({ ...testConfig(), auth });
let n = 0;
const asker = () => ({
  email: `asker-${++n}@example.com`,
  full_name: 'Asker',
  requested_role: 'farmer',
  password: 'wheat-field-cloud-44',
});
const register = (body: Record<string, unknown>, address?: string) =>
  apiClient(ctx.server.app).request('POST', '/api/v1/registrations', {
    body,
    headers: address ? { 'x-forwarded-for': address } : {},
  });
const requests = async () =>
  Number((await ctx.db.sql`SELECT count(*) AS n FROM registration_requests`)[0]!.n);

describe('account requests per address', () => {
  test('past the limit: 429 with Retry-After and nothing recorded; the page says so beside the form', async () => {
    const weak = await register({ ...asker(), password: 'short' }, '203.0.113.7');
    assert.equal(weak.status, 422, 'a refused password is not counted');
    for (let i = 0; i < 3; i++) assert.equal((await register(asker(), '203.0.113.7')).status, 202);
    const before = await requests();
    const refused = await register(asker(), '203.0.113.7');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'too_many_registrations');
    assert.match(refused.body.message, /try again in \d+ s/);
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry > 3500 && retry <= 3600, `Retry-After ${retry}`);
    assert.equal(await requests(), before, 'nothing recorded');
    // Another address is not affected.
    assert.equal((await register(asker(), '198.51.100.9')).status, 202);
  });

  test('the page and the API share the count', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await register(asker())).status, 202, 'address unknown');
    const page = await pageClient(ctx.server.app);
    const res = await page.post('/register', { ...asker() });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.match(res.html, /too many account requests from this address; try again in \d+ s/);
    assert.match(res.html, /value="Asker"/, 'what the person typed is kept');
  });

  test('a new window starts once the last one is over; the sign-in sweep keeps a live window', async () => {
    const address = '192.0.2.44';
    for (let i = 0; i < 3; i++) assert.equal((await register(asker(), address)).status, 202);
    assert.equal((await register(asker(), address)).status, 429);
    // The sign-in throttle's sweep (window + lockout = 30 min by default) must not forget a
    // registration window of an hour: 40 minutes on, the count is still there.
    await ctx.db.sql`UPDATE auth_throttle SET window_started_at = now() - interval '40 minutes',
                       updated_at = now() - interval '40 minutes' WHERE key = ${`registration:${address}`}`;
    await createSignInThrottle({ sql: ctx.db.sql, config: auth }).sweep();
    assert.equal((await register(asker(), address)).status, 429);
    await ctx.db.sql`UPDATE auth_throttle SET window_started_at = now() - interval '61 minutes'
                      WHERE key = ${`registration:${address}`}`;
    assert.equal((await register(asker(), address)).status, 202);
  });
});
