import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { apiClient } from '../../test-api-client.ts';
import { useTestApp } from '../../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { MAX_LIVE_STREAMS_PER_USER } from './scan-live-hub.ts';

// Review r1 F9: one farmer opened 500 live streams with distinct filters; every scan change then cost
// 500 queries and everyone's live events came seconds late. A user holds at most
// MAX_LIVE_STREAMS_PER_USER streams (all sessions together); one more is a 429 before anything opens.

const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const farm = await seedFarm(db.sql, 'Maple Farm');
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm }] });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
    },
  },
);

async function cookieOf(email: string) {
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client.cookie!;
}

/** Every stream a test opened, cancelled after it even when it fails (an open stream keeps the file running). */
const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close().catch(() => {});
});

/** Opens a stream and reads until the server says `ready` (the watch is in place). */
async function open(cookie: string, filter: string) {
  const res = await ctx.server.app.request(`/scans/events?capture_id=${filter}`, {
    headers: { cookie, accept: 'text/event-stream' },
  });
  if (res.status !== 200) return { res, close: async () => {} };
  const reader = res.body!.getReader();
  opened.push(() => reader.cancel());
  let text = '';
  while (!text.includes('event: ready')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ready: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return { res, close: () => reader.cancel() };
}

describe('live streams per user', () => {
  test(`the ${MAX_LIVE_STREAMS_PER_USER + 1}th stream of one user is a 429 naming the limit; others are unaffected; a closed stream frees its slot`, async () => {
    // Two sessions of the same farmer (a phone and a laptop) share the limit.
    const [phone, laptop] = [await cookieOf('farmer@example.com'), await cookieOf('farmer@example.com')];
    const streams = [];
    for (let i = 0; i < MAX_LIVE_STREAMS_PER_USER; i++) {
      const s = await open(i % 2 ? phone : laptop, `x${i}`);
      assert.equal(s.res.status, 200);
      streams.push(s);
    }
    const refused = await open(phone, 'one-more');
    assert.equal(refused.res.status, 429);
    assert.match(refused.res.headers.get('content-type') ?? '', /^application\/json/, 'no stream opened');
    assert.equal(refused.res.headers.get('retry-after'), '30');
    const body = (await refused.res.json()) as { error: string; message: string };
    assert.equal(body.error, 'too_many_streams');
    assert.match(body.message, new RegExp(`already have ${MAX_LIVE_STREAMS_PER_USER} live scan lists open`));

    const admin = await open(await cookieOf('admin@example.com'), 'admin');
    assert.equal(admin.res.status, 200, 'another user is not limited by this one');
    await admin.close();

    await streams.pop()!.close();
    let again = await open(laptop, 'again');
    for (let i = 0; again.res.status === 429 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the cancelled stream's unsubscribe runs async
      again = await open(laptop, 'again');
    }
    assert.equal(again.res.status, 200);
    await again.close();
    for (const s of streams) await s.close();
  });
});
