import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@cti/runtime';
import { fakeClock } from './test-clock.ts';
import { startReceiver } from './test-receiver.ts';
import { createWebhookClient, describeRefusal, parseRetryAfter } from './webhook-client.ts';

const secrets = ['client-secret'];

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

test("a refusal's reason carries the server's error, message and problems", () => {
  assert.equal(
    describeRefusal(401, '{"error":"bad_signature","message":"does not match"}'),
    'HTTP 401 bad_signature: does not match',
  );
  assert.equal(describeRefusal(413, 'too big'), 'HTTP 413 too big');
  assert.equal(describeRefusal(400, ''), 'HTTP 400');
});

for (const [status, expected] of [
  [400, 'rejected'],
  [401, 'rejected'],
  [404, 'rejected'],
  [413, 'rejected'],
  [422, 'rejected'],
  [302, 'rejected'],
  [408, 'delivered'],
  [429, 'delivered'],
  [500, 'delivered'],
  [502, 'delivered'],
  [503, 'delivered'],
] as const) {
  test(`HTTP ${status} first: ${expected === 'rejected' ? 'not retried' : 'retried'}`, async (t) => {
    const receiver = await startReceiver({
      secrets,
      reply: (_r, n) =>
        n === 0 ? { status, body: { error: `e${status}` }, headers: { location: '/x' } } : undefined,
    });
    t.after(() => receiver.close());
    const { clock } = fakeClock();
    const client = createWebhookClient({
      url: receiver.url,
      secrets,
      log: silentLogger(),
      clock,
      baseMs: 10,
    });
    const outcome = await client.deliver('{"ingest_key":"k"}', { deadline: clock.now() + 10_000 });
    assert.equal(outcome.kind, expected);
    assert.equal(receiver.requests.length, expected === 'rejected' ? 1 : 2);
    assert.ok(receiver.requests.every((r) => r.signatureOk));
  });
}

test('a Retry-After longer than the remaining budget stops retrying at once', async (t) => {
  const receiver = await startReceiver({
    secrets,
    reply: () => ({ status: 429, body: { error: 'slow_down' }, headers: { 'retry-after': '120' } }),
  });
  t.after(() => receiver.close());
  const { clock, sleeps } = fakeClock();
  const client = createWebhookClient({ url: receiver.url, secrets, log: silentLogger(), clock });
  const outcome = await client.deliver('{}', { deadline: clock.now() + 60_000 });
  assert.equal(outcome.kind, 'failed');
  assert.equal(outcome.kind === 'failed' && outcome.status, 429);
  assert.deepEqual(sleeps, []);
});

test('Retry-After is honoured when it exceeds the backoff delay', async (t) => {
  const receiver = await startReceiver({
    secrets,
    reply: (_r, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '5' } } : undefined),
  });
  t.after(() => receiver.close());
  const { clock, sleeps } = fakeClock();
  const client = createWebhookClient({ url: receiver.url, secrets, log: silentLogger(), clock, baseMs: 10 });
  const outcome = await client.deliver('{}', { deadline: clock.now() + 60_000 });
  assert.equal(outcome.kind, 'delivered');
  assert.deepEqual(sleeps, [5000]);
});

for (const [what, reply] of [
  [
    'an HTML page',
    {
      status: 200,
      raw: '<html>Sign in to the guest network</html>',
      headers: { 'content-type': 'text/html' },
    },
  ],
  ['JSON without a scan id', { status: 200, body: { ok: true } }],
  ['a truncated answer', { status: 201, raw: '{"scan_id":"2f1a' }],
  ['an empty 204', { status: 204, raw: '' }],
] as const) {
  test(`a 2xx that is not the ingest answer (${what}) is not taken as delivered: retried, then failed naming it`, async (t) => {
    const receiver = await startReceiver({ secrets, reply: (_r, n) => (n < 2 ? reply : undefined) });
    t.after(() => receiver.close());
    const { clock } = fakeClock();
    const client = createWebhookClient({
      url: receiver.url,
      secrets,
      log: silentLogger(),
      clock,
      baseMs: 10,
    });
    const retried = await client.deliver('{"ingest_key":"k"}', { deadline: clock.now() + 10_000 });
    assert.equal(retried.kind, 'delivered', 'the third answer is the real one');
    assert.equal(retried.kind === 'delivered' && retried.attempts, 3);
    assert.match(String(retried.kind === 'delivered' && retried.scanId), /^[0-9a-f-]{36}$/);

    const always = await startReceiver({ secrets, reply: () => reply });
    t.after(() => always.close());
    const stuck = createWebhookClient({ url: always.url, secrets, log: silentLogger(), clock, baseMs: 10 });
    const outcome = await stuck.deliver('{"ingest_key":"k"}', { deadline: clock.now() + 1_000 });
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && outcome.status, reply.status);
    assert.match(
      outcome.kind === 'failed' ? outcome.reason : '',
      new RegExp(`^HTTP ${reply.status} is not an ingest answer \\(no scan_id\\)`),
    );
  });
}

test('a redirect is rejected naming where it points, so the operator can fix CTI_WEBHOOK_URL', async (t) => {
  const receiver = await startReceiver({
    secrets,
    reply: () => ({ status: 308, raw: '', headers: { location: 'https://cti.example/ingest/webhook' } }),
  });
  t.after(() => receiver.close());
  const { clock } = fakeClock();
  const client = createWebhookClient({ url: receiver.url, secrets, log: silentLogger(), clock, baseMs: 10 });
  const outcome = await client.deliver('{"ingest_key":"k"}', { deadline: clock.now() + 10_000 });
  assert.equal(outcome.kind, 'rejected');
  assert.equal(receiver.requests.length, 1, 'not followed: a POST body is not re-sent to another host');
  assert.match(
    outcome.kind === 'rejected' ? outcome.reason : '',
    /^HTTP 308 redirect to https:\/\/cti\.example\/ingest\/webhook/,
  );
});
