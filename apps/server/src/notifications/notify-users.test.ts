import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { NOTIFICATION_CHANNEL, notifyUsers } from './notify-users.ts';

let db: TestDatabase;
const ids: Record<string, string> = {};
before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  const [north] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('North') RETURNING id`;
  const [south] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('South') RETURNING id`;
  ids.north = north!.id;
  ids.south = south!.id;
  for (const [email, role, farm] of [
    ['admin@x.test', 'admin', null],
    ['tech@x.test', 'technician', ids.north],
    ['farmer-north@x.test', 'farmer', ids.north],
    ['farmer-south@x.test', 'farmer', ids.south],
  ] as const) {
    const [user] = await sql<{ id: string }[]>`INSERT INTO users (email) VALUES (${email}) RETURNING id`;
    ids[email] = user!.id;
    await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${user!.id}, id FROM roles WHERE name = ${role}`;
    if (farm)
      await sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${user!.id}, ${farm}, ${role})`;
  }
});
after(() => db.drop());

const recipients = async (key: string) =>
  (
    await db.sql<{ email: string }[]>`
      SELECT u.email FROM notifications n JOIN users u ON u.id = n.user_id
      WHERE n.dedupe_key = ${key} ORDER BY u.email`
  ).map((r) => r.email);

describe('notifyUsers', () => {
  test("a farm's audience is exactly the users linked to that farm", async () => {
    const n = await notifyUsers(db.sql, {
      type: 'scan_graded',
      dedupeKey: 'scan_graded:r1',
      payload: { scan_id: 's1', grade: 'A' },
      audience: { farmId: ids.north },
    });
    assert.equal(n, 2);
    assert.deepEqual(await recipients('scan_graded:r1'), ['farmer-north@x.test', 'tech@x.test']);
    const [row] =
      await db.sql`SELECT type, payload, is_read FROM notifications WHERE dedupe_key = 'scan_graded:r1' LIMIT 1`;
    assert.deepEqual(row, { type: 'scan_graded', payload: { scan_id: 's1', grade: 'A' }, is_read: false });
  });

  test('a link counts in its role: a farmer-and-technician linked as farmer is no technician of the farm; a link of a role not held counts for nothing', async () => {
    const sql = db.sql;
    const [both] = await sql<{ id: string }[]>`INSERT INTO users (email) VALUES ('both@x.test') RETURNING id`;
    await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${both!.id}, id FROM roles WHERE name IN ('farmer', 'technician')`;
    await sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${both!.id}, ${ids.south!}, 'farmer')`;
    // Left behind by a role edited by hand: a technician link of a user who is no technician now.
    const [stale] = await sql<
      { id: string }[]
    >`INSERT INTO users (email) VALUES ('stale@x.test') RETURNING id`;
    await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${stale!.id}, id FROM roles WHERE name = 'farmer'`;
    await sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${stale!.id}, ${ids.south!}, 'technician')`;
    try {
      await notifyUsers(sql, {
        type: 'device_silent',
        dedupeKey: 'device_silent:link-role',
        payload: {},
        audience: { technicians: { farmId: ids.south! } },
      });
      assert.deepEqual(
        await recipients('device_silent:link-role'),
        [],
        'South has no technician link of a technician',
      );
      await notifyUsers(sql, {
        type: 'scan_graded',
        dedupeKey: 'scan_graded:link-role',
        payload: {},
        audience: { farmId: ids.south! },
      });
      assert.deepEqual(await recipients('scan_graded:link-role'), ['both@x.test', 'farmer-south@x.test']);
    } finally {
      await sql`DELETE FROM notifications WHERE user_id IN (${both!.id}, ${stale!.id})`;
      await sql`DELETE FROM user_farms WHERE user_id IN (${both!.id}, ${stale!.id})`;
      await sql`DELETE FROM user_roles WHERE user_id IN (${both!.id}, ${stale!.id})`;
      await sql`UPDATE users SET status = 'disabled' WHERE id IN (${both!.id}, ${stale!.id})`;
    }
  });

  test('roles and a farm together: each user once', async () => {
    const n = await notifyUsers(db.sql, {
      type: 'grading_failed',
      dedupeKey: 'grading_failed:j1',
      payload: {},
      audience: { farmId: ids.north, roles: ['admin', 'technician'] },
    });
    assert.equal(n, 3);
    assert.deepEqual(await recipients('grading_failed:j1'), [
      'admin@x.test',
      'farmer-north@x.test',
      'tech@x.test',
    ]);
  });

  test('the same event again (a retry) notifies nobody twice, even concurrently', async () => {
    const input = {
      type: 'scan_rejected' as const,
      dedupeKey: 'scan_rejected:r2',
      payload: { grade: 'R' },
      audience: { roles: ['admin', 'technician'] as const },
    };
    const counts = await Promise.all(Array.from({ length: 8 }, () => notifyUsers(db.sql, input)));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      2,
    );
    assert.equal(await notifyUsers(db.sql, input), 0);
    assert.deepEqual(await recipients('scan_rejected:r2'), ['admin@x.test', 'tech@x.test']);
  });

  test('disabled users are skipped (by farm and by role); re-enabled, they get later events only', async () => {
    const sql = db.sql;
    const [west] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('West') RETURNING id`;
    const users: Record<string, string> = {};
    for (const [email, role, status] of [
      ['active-west@x.test', 'farmer', 'active'],
      ['disabled-west@x.test', 'farmer', 'disabled'],
      ['disabled-admin@x.test', 'admin', 'disabled'],
    ] as const) {
      const [u] = await sql<
        { id: string }[]
      >`INSERT INTO users (email, status) VALUES (${email}, ${status}) RETURNING id`;
      users[email] = u!.id;
      await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${u!.id}, id FROM roles WHERE name = ${role}`;
      if (role === 'farmer')
        await sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${u!.id}, ${west!.id}, 'farmer')`;
    }
    const event = (key: string) => ({
      type: 'scan_rejected' as const,
      dedupeKey: key,
      payload: {},
      audience: { farmId: west!.id, roles: ['admin'] as const },
    });
    assert.equal(await notifyUsers(sql, event('disabled:1')), 2);
    assert.deepEqual(await recipients('disabled:1'), ['active-west@x.test', 'admin@x.test']);

    await sql`UPDATE users SET status = 'active' WHERE id = ANY(${Object.values(users)}::uuid[])`;
    assert.equal(await notifyUsers(sql, event('disabled:2')), 4);
    assert.deepEqual(await recipients('disabled:2'), [
      'active-west@x.test',
      'admin@x.test',
      'disabled-admin@x.test',
      'disabled-west@x.test',
    ]);
  });

  test('no farm and no roles: nobody, no error', async () => {
    assert.equal(
      await notifyUsers(db.sql, { type: 'scan_graded', dedupeKey: 'k', payload: {}, audience: {} }),
      0,
    );
  });

  test('inside a rolled-back transaction nothing is kept', async () => {
    await assert.rejects(
      db.sql.begin(async (tx) => {
        await notifyUsers(tx, {
          type: 'scan_graded',
          dedupeKey: 'rolled-back',
          payload: {},
          audience: { roles: ['admin'] },
        });
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.deepEqual(await recipients('rolled-back'), []);
  });

  test('each insert is announced on the channel with the recipients', async () => {
    const heard: string[] = [];
    const listener = await db.sql.listen(NOTIFICATION_CHANNEL, (payload) => heard.push(payload));
    await notifyUsers(db.sql, {
      type: 'scan_graded',
      dedupeKey: 'announced',
      payload: {},
      audience: { farmId: ids.south },
    });
    // A NOTIFY crosses to another backend and back: a second was not always enough on a loaded machine.
    await waitFor(() => heard.length > 0, { what: 'the notification on the channel' });
    await listener.unlisten();
    assert.deepEqual(JSON.parse(heard[0]!), { type: 'scan_graded', user_ids: [ids['farmer-south@x.test']] });
  });
});
