import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { useTestApp } from '../../test-helpers.ts';
import { type SeedUser, seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { FORM_TOKEN_RETENTION_DAYS, idForCreateToken, sweepFormSubmissions } from './create-token.ts';
import { pageClient } from './test-page-client.ts';

// The create forms without a natural key (farm, announcement) carry a one-time token, so a form sent
// twice — without JavaScript, or retried by a flaky connection — makes one row: the new row's id is
// derived from (user, token) and a second insert of that id does nothing. Raw POSTs through
// app.request, sent together, on a real database.

let admin: SeedUser;
let other: SeedUser;
let tech: SeedUser;
let farmId: string;
let deviceId: string;
let otherDeviceId: string;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      admin = await seedUser(db.sql, 'admin@example.com', ['admin']);
      other = await seedUser(db.sql, 'other-admin@example.com', ['admin']);
      farmId = await seedFarm(db.sql, 'Seed Farm');
      deviceId = await seedDevice(db.sql, 'CTI-0001', farmId);
      otherDeviceId = await seedDevice(db.sql, 'CTI-0002', farmId);
      const techFarm = await seedFarm(db.sql, 'Tech Farm');
      tech = await seedUser(db.sql, 'tech@example.com', ['technician'], {
        farms: [{ id: farmId }, { id: techFarm }],
      });
    },
  },
);
const sql = () => ctx.db.sql;
const token = () => randomBytes(16).toString('base64url');
const tokenIn = (html: string) => /name="_create_token" value="([^"]*)"/.exec(html)?.[1];

async function farmsNamed(name: string) {
  return sql()<{ id: string }[]>`SELECT id FROM farms WHERE name = ${name} ORDER BY id`;
}
async function announcementsTitled(title: string) {
  return sql()<{ id: string; created_by: string }[]>`
    SELECT id, created_by FROM announcements WHERE title = ${title} ORDER BY id`;
}

describe('create farm', () => {
  test('each render of the farms page carries a fresh token', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const [a, b] = [tokenIn((await client.get('/farms')).html), tokenIn((await client.get('/farms')).html)];
    assert.match(a ?? '', /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
  });

  test('two concurrent POSTs with the same token: one farm, both 303 to it', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const fields = { name: 'Twin Farm', geofence: '', _create_token: token() };
    const [first, second] = await Promise.all([client.post('/farms', fields), client.post('/farms', fields)]);
    const rows = await farmsNamed('Twin Farm');
    assert.equal(rows.length, 1);
    assert.deepEqual([first.status, second.status], [303, 303]);
    assert.equal(first.location, `/farms/${rows[0]!.id}?done=farm-created`);
    assert.equal(second.location, first.location);
    // A later retry of the same form still lands on the same farm.
    const late = await client.post('/farms', fields);
    assert.equal(late.location, first.location);
    assert.equal((await farmsNamed('Twin Farm')).length, 1);
  });

  test('a submit that arrives while the first is uncommitted waits for it, then lands on the same farm', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const t = token();
    const id = idForCreateToken(admin.id, t);
    let commit!: () => void;
    let inserted!: () => void;
    const holding = new Promise<void>((resolve) => (inserted = resolve));
    const first = sql().begin(async (tx) => {
      await tx`INSERT INTO farms (id, name) VALUES (${id}, 'Held Farm')`;
      inserted();
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await holding;
    let answered = false;
    const second = client.post('/farms', { name: 'Held Farm', _create_token: t }).finally(() => {
      answered = true;
    });
    // The page's INSERT is blocked on the uncommitted row's key before the first commits (a page that
    // answered without waiting ends the loop and fails below).
    while (!answered) {
      const [waiting] = await sql()`SELECT count(*)::int AS n FROM pg_stat_activity
                                     WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO farms%'`;
      if (waiting!.n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    commit();
    await first;
    const res = await second;
    assert.equal(res.status, 303);
    assert.equal(res.location, `/farms/${id}?done=farm-created`);
    assert.equal((await farmsNamed('Held Farm')).length, 1);
  });

  test('different tokens make different farms (names are not unique)', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const [a, b] = await Promise.all([
      client.post('/farms', { name: 'Pine Farm', _create_token: token() }),
      client.post('/farms', { name: 'Pine Farm', _create_token: token() }),
    ]);
    assert.equal((await farmsNamed('Pine Farm')).length, 2);
    assert.notEqual(a.location, b.location);
  });

  test("a token reused by another user makes that user's own farm", async () => {
    const fields = { name: 'Shared Token Farm', _create_token: token() };
    const mine = await (await pageClient(ctx.server.app, admin.email)).post('/farms', fields);
    const theirs = await (await pageClient(ctx.server.app, other.email)).post('/farms', fields);
    assert.deepEqual([mine.status, theirs.status], [303, 303]);
    assert.notEqual(theirs.location, mine.location);
    assert.equal((await farmsNamed('Shared Token Farm')).length, 2);
  });

  test('a missing or malformed token keeps a random id: every submit is a farm, never a 500', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const bad = ['', 'short', 'x'.repeat(300), 'has spaces and ünïcode 12345', '../../../etc/passwd//////'];
    for (const t of bad) {
      for (let i = 0; i < 2; i++) {
        const res = await client.post('/farms', { name: 'Loose Farm', _create_token: t });
        assert.equal(res.status, 303, JSON.stringify(t));
      }
    }
    assert.equal((await client.post('/farms', { name: 'Loose Farm' })).status, 303);
    assert.equal((await farmsNamed('Loose Farm')).length, bad.length * 2 + 1);
  });
});

describe('create announcement', () => {
  const post = (client: Awaited<ReturnType<typeof pageClient>>, title: string, t?: string) =>
    client.post('/admin/announcements', {
      title,
      body: 'Chute 2 closed on Friday.',
      format: 'plain',
      expires_at: '',
      ...(t === undefined ? {} : { _create_token: t }),
    });

  test('the form carries a fresh token on each render', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const a = tokenIn((await client.get('/admin/announcements')).html);
    const b = tokenIn((await client.get('/admin/announcements')).html);
    assert.match(a ?? '', /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
  });

  test('two concurrent POSTs with the same token: one announcement, both answered like the first', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const t = token();
    const [first, second] = await Promise.all([
      post(client, 'Chute closed', t),
      post(client, 'Chute closed', t),
    ]);
    assert.equal((await announcementsTitled('Chute closed')).length, 1);
    assert.deepEqual([first.status, second.status], [303, 303]);
    assert.equal(first.location, '/admin/announcements?done=announcement-created');
    assert.equal(second.location, first.location);
  });

  test('different tokens make two; the same token from another admin makes theirs', async () => {
    const mine = await pageClient(ctx.server.app, admin.email);
    const t = token();
    await Promise.all([post(mine, 'Scale check', t), post(mine, 'Scale check', token())]);
    assert.equal((await announcementsTitled('Scale check')).length, 2);
    const theirs = await post(await pageClient(ctx.server.app, other.email), 'Scale check', t);
    assert.equal(theirs.status, 303);
    const rows = await announcementsTitled('Scale check');
    assert.equal(rows.length, 3);
    assert.equal(rows.filter((r) => r.created_by === other.id).length, 1);
  });

  test('a malformed or missing token: a new announcement each time, never a 500', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    for (const t of ['nope', 'é'.repeat(22), undefined, undefined]) {
      assert.equal((await post(client, 'Loose note', t)).status, 303);
    }
    assert.equal((await announcementsTitled('Loose note')).length, 4);
  });
});

describe('a used token is remembered', () => {
  const already = /This form was already submitted/;

  test('a farm deleted and then re-sent from its old form is refused, not re-created under the same id', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const fields = { name: 'Phoenix Farm', geofence: '', _create_token: token() };
    const made = await client.post('/farms', fields);
    assert.equal(made.status, 303);
    const [farm] = await farmsNamed('Phoenix Farm');
    assert.equal((await client.post(`/farms/${farm!.id}/delete`)).status, 303);
    const again = await client.post('/farms', fields);
    assert.equal(again.status, 409, again.html);
    assert.match(again.html, already);
    assert.equal((await farmsNamed('Phoenix Farm')).length, 0, 'nothing re-created');
    // A fresh form (new token) still makes a farm.
    assert.equal((await client.post('/farms', { ...fields, _create_token: token() })).status, 303);
    assert.equal((await farmsNamed('Phoenix Farm')).length, 1);
  });

  test('an announcement deleted and then re-sent from its old form is refused', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const fields = {
      title: 'Gone notice',
      body: 'x',
      format: 'plain',
      expires_at: '',
      _create_token: token(),
    };
    assert.equal((await client.post('/admin/announcements', fields)).status, 303);
    const [a] = await announcementsTitled('Gone notice');
    assert.equal((await client.post(`/admin/announcements/${a!.id}/delete`)).status, 303);
    const again = await client.post('/admin/announcements', fields);
    assert.equal(again.status, 409, again.html);
    assert.match(again.html, already);
    assert.equal((await announcementsTitled('Gone notice')).length, 0);
  });

  test('a token is tied to its form: used on another create form it is refused', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const t = token();
    assert.equal((await client.post('/farms', { name: 'Token Farm', _create_token: t })).status, 303);
    const cross = await client.post('/admin/announcements', {
      title: 'Cross token',
      body: 'x',
      format: 'plain',
      expires_at: '',
      _create_token: t,
    });
    assert.equal(cross.status, 409, cross.html);
    assert.equal((await announcementsTitled('Cross token')).length, 0);
  });

  test('a calibration form re-sent to another device\'s address is refused, not answered "set" for a device it never touched', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const fields = {
      pixel_spacing_mm: '0.31',
      valid_from: '2025-02-01',
      note: 'A only',
      _create_token: token(),
    };
    assert.equal((await client.post(`/fleet/${deviceId}/calibration`, fields)).status, 303);
    const moved = await client.post(`/fleet/${otherDeviceId}/calibration`, fields);
    assert.equal(moved.status, 409, `${moved.status} ${moved.location}`);
    assert.match(moved.html, already);
    const [onB] =
      await sql()`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${otherDeviceId}`;
    assert.equal(onB!.n, 0);
  });

  test('a group or animal form re-sent after its user lost the farm is refused like a fresh one, not sent to a page they may no longer see', async () => {
    const client = await pageClient(ctx.server.app, tech.email);
    const cases: { page: string; fields: Record<string, string> }[] = [
      { page: '/groups', fields: { farm_id: farmId, name: 'Lost access group' } },
      { page: '/animals', fields: { farm_id: farmId, tag_id: 'LOST-1' } },
    ];
    for (const { page, fields } of cases) {
      const sent = { ...fields, _create_token: token() };
      const made = await client.post(page, sent);
      assert.equal(made.status, 303, `${page}: ${made.html}`);
      await sql()`DELETE FROM user_farms WHERE user_id = ${tech.id} AND farm_id = ${farmId}`;
      try {
        const again = await client.post(page, sent);
        // These pages answer every refusal with the form again, as a 422 (their conflicts too).
        assert.equal(again.status, 422, `${page}: ${again.status} ${again.location}`);
        assert.match(again.html, already);
        assert.doesNotMatch(again.html, new RegExp(/\/([0-9a-f-]{36})\?/.exec(made.location ?? '')![1]!));
      } finally {
        await sql()`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${tech.id}, ${farmId}, 'technician')`;
      }
      // Access back: the same re-send lands on its row again.
      assert.equal((await client.post(page, sent)).location, made.location);
    }
  });
});

describe('the other create forms carry the token too', () => {
  const calibrations = async () =>
    (await sql()`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${deviceId}`)[0]!
      .n as number;

  test('calibration: the form carries a token; sent twice (together, then once more) it makes one row', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const t = tokenIn((await client.get(`/fleet/${deviceId}`)).html);
    assert.match(t ?? '', /^[A-Za-z0-9_-]{22}$/);
    const before = await calibrations();
    const fields = { pixel_spacing_mm: '0.3', valid_from: '2025-01-01', note: 'twice', _create_token: t! };
    const path = `/fleet/${deviceId}/calibration`;
    const [a, b] = await Promise.all([client.post(path, fields), client.post(path, fields)]);
    assert.deepEqual([a.status, b.status], [303, 303], a.html + b.html);
    assert.equal(b.location, `/fleet/${deviceId}?done=calibration-set`);
    assert.equal((await client.post(path, fields)).location, a.location);
    assert.equal(await calibrations(), before + 1);
    // A fresh token is a new calibration (a second one is a real, deliberate change).
    assert.equal((await client.post(path, { ...fields, _create_token: token() })).status, 303);
    assert.equal(await calibrations(), before + 2);
  });

  test('group, animal and user: a re-sent create form lands on the row it made, not on a conflict page', async () => {
    const client = await pageClient(ctx.server.app, admin.email);
    const cases: { page: string; fields: Record<string, string>; table: string }[] = [
      { page: '/groups', fields: { farm_id: farmId, name: 'Spring calves' }, table: 'contemporary_groups' },
      { page: '/animals', fields: { farm_id: farmId, tag_id: 'T-77' }, table: 'animals' },
      {
        page: '/admin/users',
        fields: {
          email: 'new-tech@example.com',
          full_name: 'New Tech',
          roles: 'technician',
          password: TEST_PASSWORD,
        },
        table: 'users',
      },
    ];
    for (const { page, fields, table } of cases) {
      const t = tokenIn((await client.get(page)).html);
      assert.match(t ?? '', /^[A-Za-z0-9_-]{22}$/, `${page} carries a token`);
      const sent = { ...fields, _create_token: t! };
      const [a, b] = await Promise.all([client.post(page, sent), client.post(page, sent)]);
      assert.deepEqual([a.status, b.status], [303, 303], `${page}: ${a.html}${b.html}`);
      assert.equal(b.location, a.location);
      const late = await client.post(page, sent);
      assert.equal(late.status, 303, late.html);
      assert.equal(late.location, a.location);
      const id = /\/([0-9a-f-]{36})\?/.exec(a.location ?? '')?.[1];
      const [row] = await sql()`SELECT count(*)::int AS n FROM ${sql()(table)} WHERE id = ${id!}`;
      assert.equal(row!.n, 1, page);
      // With another token (another form) the natural key still answers its conflict, as before.
      const dup = await client.post(page, { ...fields, _create_token: token() });
      assert.equal(dup.status, 422, `${page}: ${dup.status}`);
      assert.match(dup.html, /already used/);
    }
  });
});

test('used tokens are forgotten after the retention, and only a hash of each is kept', async () => {
  const client = await pageClient(ctx.server.app, admin.email);
  const t = token();
  assert.equal((await client.post('/farms', { name: 'Kept Token Farm', _create_token: t })).status, 303);
  const stored = await sql()`SELECT token_hash FROM form_submissions WHERE user_id = ${admin.id}`;
  assert.ok(stored.length > 0);
  assert.ok(stored.every((r) => !Buffer.from(r.token_hash).toString('latin1').includes(t)));
  await sql()`UPDATE form_submissions SET created_at = now() - make_interval(days => ${FORM_TOKEN_RETENTION_DAYS + 1})
               WHERE user_id = ${other.id}`;
  const before = (await sql()`SELECT count(*)::int AS n FROM form_submissions`)[0]!.n as number;
  const old = (await sql()`SELECT count(*)::int AS n FROM form_submissions WHERE user_id = ${other.id}`)[0]!
    .n;
  assert.ok(old > 0);
  assert.equal(await sweepFormSubmissions(sql()), old);
  assert.equal((await sql()`SELECT count(*)::int AS n FROM form_submissions`)[0]!.n, before - old);
});
