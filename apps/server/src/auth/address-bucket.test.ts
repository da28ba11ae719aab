import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { testAuthConfig, testConfig, useTestApp } from '../test-helpers.ts';
import { throttleAddress } from './address-bucket.ts';

// Per-address limits count an IPv6 client by its /64 (review r1, notes: a client rotating through its
// /64 got a fresh sign-in bucket per address). IPv4 and IPv4-mapped addresses count as they are.
// Through the real app and database: one trusted proxy hop makes X-Forwarded-For the client address.

test('IPv6 addresses become their /64 (NAT64 its IPv4 host, 6to4 its /48); IPv4, IPv4-mapped and anything else stay as they are', () => {
  const cases: [string, string][] = [
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:a:b:c:d', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    // NAT64 (RFC 6052 well-known prefix): the IPv4 client it stands for, alone.
    ['64:ff9b::192.0.2.33', '64:ff9b::192.0.2.33'],
    ['64:ff9b::c000:222', '64:ff9b::192.0.2.34'],
    ['64:ff9b:0:0:1::c000:222', '64:ff9b:0:0::/64'], // not /96-embedded: an ordinary /64
    // 6to4: the IPv4 host's /48, whatever /64 of it.
    ['2002:c000:221:1::5', '2002:c000:221::/48'],
    ['2002:c000:221:ffff::9', '2002:c000:221::/48'],
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '::ffff:203.0.113.7'],
    ['::ffff:cb00:7107', '::ffff:cb00:7107'],
    ['unknown', 'unknown'],
    ['not an address', 'not an address'],
  ];
  for (const [address, bucket] of cases) assert.equal(throttleAddress(address), bucket, address);
});

const auth = testAuthConfig({
  addressFailureLimit: 3,
  accountFailureLimit: 100,
  registrationAddressLimit: 2,
  trustProxyHops: 1,
});
const ctx = useTestApp({ ...testConfig(), auth });
let n = 0;
const from = (address: string) => ({ 'x-forwarded-for': address });
const failSignIn = async (address: string) =>
  (
    await apiClient(ctx.server.app).request('POST', '/api/v1/session', {
      body: { email: `nobody-${++n}@example.com`, password: 'not-the-password-1' },
      headers: from(address),
    })
  ).status;
const register = async (address: string) =>
  (
    await apiClient(ctx.server.app).request('POST', '/api/v1/registrations', {
      body: {
        email: `asker-${++n}@example.com`,
        full_name: 'Asker',
        requested_role: 'farmer',
        password: 'wheat-field-cloud-44',
      },
      headers: from(address),
    })
  ).status;

describe('failed sign-ins per address (limit 3)', () => {
  test('addresses in one /64 share a lock; another /64 does not', async () => {
    // Three different accounts from three addresses of one /64: the /64 is locked.
    for (const host of ['a', 'b', 'c']) assert.equal(await failSignIn(`2001:db8:aa:1::${host}`), 401);
    assert.equal(await failSignIn('2001:db8:aa:1:ffff:ffff:ffff:1'), 429, 'a fourth address of the /64');
    assert.equal(await failSignIn('2001:db8:aa:2::a'), 401, 'the next /64 is not locked');
    const [row] = await ctx.db.sql<{ failures: number }[]>`
      SELECT failures FROM auth_throttle WHERE key = 'address:2001:db8:aa:1::/64'`;
    assert.equal(row?.failures, 3);
  });

  test('IPv4 and IPv4-mapped addresses each count alone', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await failSignIn('198.51.100.1'), 401);
    assert.equal(await failSignIn('198.51.100.1'), 429);
    assert.equal(await failSignIn('198.51.100.2'), 401, 'the next IPv4 address');
    for (let i = 0; i < 3; i++) assert.equal(await failSignIn('::ffff:198.51.100.9'), 401);
    assert.equal(await failSignIn('::ffff:198.51.100.9'), 429);
    assert.equal(await failSignIn('::ffff:198.51.100.10'), 401, 'the next IPv4-mapped address');
  });

  test('IPv4 clients behind a NAT64 translator each count alone (all share one /64)', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await failSignIn('64:ff9b::198.51.100.20'), 401);
    assert.equal(await failSignIn('64:ff9b::c633:6414'), 429, 'the same client, written in hex');
    assert.equal(await failSignIn('64:ff9b::198.51.100.21'), 401, 'another IPv4 client of the /64');
  });
});

describe('account requests per address (limit 2)', () => {
  test('addresses in one /64 share the count; another /64 does not', async () => {
    assert.equal(await register('2001:db8:bb:1::1'), 202);
    assert.equal(await register('2001:db8:bb:1::2'), 202);
    assert.equal(await register('2001:db8:bb:1:8000::3'), 429, 'a third address of the /64');
    assert.equal(await register('2001:db8:bb:2::1'), 202, 'the next /64');
  });
});
