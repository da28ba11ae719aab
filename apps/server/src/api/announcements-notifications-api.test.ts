import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notifyUsers } from '../notifications/notify-users.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

const f = {} as Record<'farm' | 'admin' | 'farmer' | 'other', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.farm = await seedFarm(db.sql, 'Farm');
      f.admin = (await seedUser(db.sql, 'admin@example.com', ['admin'])).id;
      f.farmer = (await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.farm }] })).id;
      f.other = (await seedUser(db.sql, 'other@example.com', ['farmer'])).id;
    },
  },
);
async function as(email: string): Promise<ApiClient> {
  const c = apiClient(ctx.server.app);
  await c.signIn(email, TEST_PASSWORD);
  return c;
}

describe('announcements', () => {
  test('script and raw HTML in stored text come back inert (Markdown without HTML; plain text escaped)', async () => {
    const admin = await as('admin@example.com');
    const payloads = [
      '<script>alert(1)</script> **bold**',
      '<img src=x onerror=alert(1)>',
      '[click](javascript:alert(1)) and [ok](https://example.com)',
      '<a href="javascript:alert(1)">x</a><iframe src="https://evil.example"></iframe>',
      '![x](https://evil.example/t.png "<svg onload=alert(1)>")',
    ];
    for (const format of ['markdown', 'plain']) {
      for (const body of payloads) {
        const res = await admin.request('POST', '/api/v1/announcements', {
          body: { title: '<b>Title</b>', body, format },
        });
        assert.equal(res.status, 201);
        const html: string = res.body.body_html;
        assert.equal(res.body.body, body, 'the source is kept as written');
        assert.doesNotMatch(
          html,
          /<script|<img|<iframe|<svg|<a [^>]*href="javascript:/i,
          `${format}: ${html}`,
        );
        // No event-handler attribute on any tag (attribute values are quoted and escaped: blank them first).
        assert.doesNotMatch(
          html.replace(/"[^"]*"/g, '""'),
          /<[^>]+\son\w+=/i,
          `${format}: event handler attribute in ${html}`,
        );
      }
    }
    const md = await admin.request('POST', '/api/v1/announcements', {
      body: { title: 'T', body: '**Scanning** on [Monday](https://example.com)', format: 'markdown' },
    });
    assert.match(md.body.body_html, /<strong>Scanning<\/strong>/);
    assert.match(
      md.body.body_html,
      /<a href="https:\/\/example.com" rel="noopener noreferrer nofollow">Monday<\/a>/,
    );
  });

  test('a publication time Postgres cannot hold (leap second, year 0000) is 422 naming it, not a 500', async () => {
    const admin = await as('admin@example.com');
    for (const [field, value] of [
      ['published_at', '2016-12-31T23:59:60.5Z'],
      ['published_at', '0000-03-01T00:00:00Z'],
      ['expires_at', '2016-12-31T23:59:60Z'],
    ]) {
      const res = await admin.request('POST', '/api/v1/announcements', {
        body: { title: 'T', body: 'B', [field as string]: value },
      });
      assert.equal(res.status, 422, `${field}=${value}: ${res.text}`);
      assert.equal(res.body.problems[0].pointer, `/${field}`);
    }
  });

  test('everyone signed in reads current ones; scheduled and expired ones only for admins with all=true', async () => {
    const admin = await as('admin@example.com');
    const future = await admin.request('POST', '/api/v1/announcements', {
      body: { title: 'Later', body: 'x', published_at: '2099-01-01T00:00:00Z' },
    });
    const farmer = await as('farmer@example.com');
    const seen = (await farmer.request('GET', '/api/v1/announcements?all=true')).body.items.map(
      (a: { id: string }) => a.id,
    );
    assert.ok(!seen.includes(future.body.id));
    const all = (await admin.request('GET', '/api/v1/announcements?all=true')).body.items.map(
      (a: { id: string }) => a.id,
    );
    assert.ok(all.includes(future.body.id));
    const bad = await admin.request('POST', '/api/v1/announcements', {
      body: {
        title: 'x',
        body: 'y',
        expires_at: '2000-01-01T00:00:00Z',
        published_at: '2001-01-01T00:00:00Z',
      },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].pointer, '/expires_at');
  });
});

describe('notifications', () => {
  test('list, unread count, mark read — only one’s own', async () => {
    const sql = ctx.db.sql;
    for (let i = 0; i < 3; i++) {
      await notifyUsers(sql, {
        type: 'scan_graded',
        dedupeKey: `scan_graded:${i}`,
        payload: { scan_id: `s${i}`, grade: 'A' },
        audience: { farmId: f.farm },
      });
    }
    await notifyUsers(sql, {
      type: 'scan_graded',
      dedupeKey: 'scan_graded:0',
      payload: {},
      audience: { farmId: f.farm },
    });
    const farmer = await as('farmer@example.com');
    assert.equal((await farmer.request('GET', '/api/v1/notifications/unread-count')).body.unread, 3);
    const page = await farmer.request('GET', '/api/v1/notifications?limit=2');
    assert.equal(page.body.items.length, 2);
    assert.equal(page.body.items[0].payload.scan_id, 's2', 'newest first');
    const rest = await farmer.request('GET', `/api/v1/notifications?limit=2&cursor=${page.body.next_cursor}`);
    assert.deepEqual(
      rest.body.items.map((n: { payload: { scan_id: string } }) => n.payload.scan_id),
      ['s0'],
    );
    assert.equal(
      (await farmer.request('POST', `/api/v1/notifications/${page.body.items[0].id}/read`)).status,
      204,
    );
    assert.equal((await farmer.request('GET', '/api/v1/notifications/unread-count')).body.unread, 2);
    assert.equal((await farmer.request('GET', '/api/v1/notifications?unread=true')).body.items.length, 2);
    const other = await as('other@example.com');
    assert.equal(
      (await other.request('POST', `/api/v1/notifications/${page.body.items[1].id}/read`)).status,
      404,
    );
    assert.equal((await farmer.request('POST', '/api/v1/notifications/read-all')).body.marked, 2);
  });

  test('a cursor holding a number that is not an id (1.5, 1e300, 2^63) is 422 naming the cursor, not a 500', async () => {
    const farmer = await as('farmer@example.com');
    for (const value of [1.5, 1e300, 2 ** 63, -1]) {
      const cursor = Buffer.from(JSON.stringify([value])).toString('base64url');
      const res = await farmer.request('GET', `/api/v1/notifications?cursor=${cursor}`);
      assert.equal(res.status, 422, `${value}: ${res.text}`);
      assert.equal(res.body.problems[0].pointer, '/query/cursor');
    }
  });

  test('ids past 2^31 (a bigserial) are listed, on the API and the page, not a 500', async () => {
    const sql = ctx.db.sql;
    await sql`SELECT setval(pg_get_serial_sequence('notifications', 'id'), 3000000000)`;
    await notifyUsers(sql, {
      type: 'scan_graded',
      dedupeKey: 'scan_graded:big-id',
      payload: { scan_id: 'big', grade: 'A' },
      audience: { farmId: f.farm },
    });
    const farmer = await as('farmer@example.com');
    const res = await farmer.request('GET', '/api/v1/notifications?limit=1');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items[0].id, '3000000001');
    const next = await farmer.request('GET', `/api/v1/notifications?limit=1&cursor=${res.body.next_cursor}`);
    assert.equal(next.status, 200, next.text);
    assert.ok(BigInt(next.body.items[0].id) < 3000000001n);
    const page = await farmer.request('GET', '/notifications');
    assert.equal(page.status, 200);
    assert.ok(
      page.text.includes('action="/notifications/3000000001/read"'),
      'the page offers to mark it read',
    );
    assert.equal((await farmer.request('POST', '/api/v1/notifications/3000000001/read')).status, 204);
    // A cursor issued while ids were JSON numbers still pages on.
    const old = Buffer.from(JSON.stringify([3000000001])).toString('base64url');
    const older = await farmer.request('GET', `/api/v1/notifications?limit=1&cursor=${old}`);
    assert.equal(older.status, 200, older.text);
    assert.ok(BigInt(older.body.items[0].id) < 3000000001n);
  });

  test('ids past 2^53 stay exact: decimal strings in JSON, cursors, the page and mark-read', async () => {
    const sql = ctx.db.sql;
    // The next ids, 2^53 + 1 and 2^53 + 2: the first has no float8/JavaScript number of its own.
    await sql`SELECT setval(pg_get_serial_sequence('notifications', 'id'), 9007199254740992)`;
    for (const key of ['past-2^53:a', 'past-2^53:b']) {
      await notifyUsers(sql, {
        type: 'scan_graded',
        dedupeKey: key,
        payload: { scan_id: key, grade: 'A' },
        audience: { farmId: f.farm },
      });
    }
    const farmer = await as('farmer@example.com');
    const first = await farmer.request('GET', '/api/v1/notifications?limit=1');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.items[0].id, '9007199254740994');
    const second = await farmer.request(
      'GET',
      `/api/v1/notifications?limit=1&cursor=${first.body.next_cursor}`,
    );
    assert.equal(
      second.body.items[0].id,
      '9007199254740993',
      'the cursor keeps the exact id: nothing skipped',
    );
    const page = await farmer.request('GET', '/notifications');
    assert.ok(
      page.text.includes('action="/notifications/9007199254740994/read"'),
      'the page names it exactly',
    );
    assert.ok(page.text.includes('action="/notifications/9007199254740993/read"'));
    const older = await farmer.request('GET', '/notifications?before=9007199254740994');
    assert.ok(
      !older.text.includes('action="/notifications/9007199254740994/read"'),
      'the older page starts below it',
    );
    assert.ok(older.text.includes('action="/notifications/9007199254740993/read"'));
    assert.equal((await farmer.request('POST', '/api/v1/notifications/9007199254740993/read')).status, 204);
    const read = await sql<{ id: string }[]>`
      SELECT id::text AS id FROM notifications WHERE is_read AND id > 9007199254740990`;
    assert.deepEqual(
      read.map((r) => r.id),
      ['9007199254740993'],
      'that notification was marked, no neighbour',
    );
    // The largest int8 is an id a client may send (404 here), one past it is not an id (404, not a 500).
    for (const id of ['9223372036854775807', '9223372036854775808', '99999999999999999999']) {
      assert.equal((await farmer.request('POST', `/api/v1/notifications/${id}/read`)).status, 404, id);
    }
  });
});

describe('devices', () => {
  test('scans today counts in the given time zone, and only scans the caller may see', async () => {
    const sql = ctx.db.sql;
    const device = await seedDevice(sql, 'dev-tz', f.farm);
    await seedScan(sql, { farmId: f.farm, deviceId: device, capturedAt: new Date().toISOString() });
    await seedScan(sql, {
      farmId: f.farm,
      deviceId: device,
      capturedAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
    });
    await seedScan(sql, { farmId: null, deviceId: device, capturedAt: new Date().toISOString() });
    const farmer = await as('farmer@example.com');
    const res = await farmer.request('GET', '/api/v1/devices?tz=Pacific/Kiritimati');
    const d = res.body.items.find((x: { device_code: string }) => x.device_code === 'dev-tz');
    assert.equal(d.scans_today, 1);
    const [start] =
      await sql`SELECT to_char(date_trunc('day', now() AT TIME ZONE 'Pacific/Kiritimati') AT TIME ZONE 'Pacific/Kiritimati' AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS s`;
    assert.equal(d.today_starts_at, start!.s);
    assert.match(d.today_starts_at, /T10:00:00.000Z$/, 'midnight in UTC+14 is 10:00 UTC');
    const admin = await as('admin@example.com');
    const all = (await admin.request('GET', `/api/v1/devices/${device}`)).body;
    assert.equal(all.scans_today, 2, 'admins also count the scan without a farm');
    assert.equal((await farmer.request('GET', '/api/v1/devices?tz=Mars/Olympus')).status, 422);
  });

  test('an ISO offset is east of UTC when positive, as in ISO 8601 (review r11 F3)', async () => {
    await seedDevice(ctx.db.sql, 'dev-offset', f.farm);
    const farmer = await as('farmer@example.com');
    const day = 86_400_000;
    /** UTC midnight of today in a zone `minutes` east of UTC, computed by hand. */
    const midnight = (minutes: number) => {
      const local = Date.now() + minutes * 60_000;
      return new Date(Math.floor(local / day) * day - minutes * 60_000).toISOString();
    };
    for (const [tz, minutes] of [
      ['%2B05:00', 300],
      ['-03:30', -210],
      ['%2B0545', 345],
      ['Asia/Karachi', 300], // UTC+5 all year
    ] as const) {
      const res = await farmer.request('GET', `/api/v1/devices?tz=${tz}`);
      assert.equal(res.status, 200, tz);
      const d = res.body.items.find((x: { device_code: string }) => x.device_code === 'dev-offset');
      assert.equal(d.today_starts_at, midnight(minutes), tz);
    }
    const bad = await farmer.request('GET', '/api/v1/devices?tz=%2B25:00');
    assert.equal(bad.status, 422);
    assert.equal(bad.body.problems[0].pointer, '/query/tz');
  });
});
