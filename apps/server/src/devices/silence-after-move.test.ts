import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { pageClient, strip } from '../web/pages/test-page-client.ts';
import { addDeviceKey } from './device-keys.ts';
import { checkSilentDevices } from './silence-check.ts';
import { backdateHeartbeat, heartbeatBody, signedHeartbeat } from './test-heartbeats.ts';

// A Pi last heard on farm Birch, carried to farm Maple and silent there (review r14 F3): Maple's
// technicians are told of the silence, but not when the Pi was last heard on Birch — the API hides that
// time from them (history_from); the notification and its device_back must not tell it either. Real
// heartbeats through POST /devices/heartbeat, the real silence check, on a real database.

const ctx = useTestApp();
let birch: string;
let maple: string;
let deviceId: string;
let secret: string;
beforeEach(async () => {
  const { sql } = ctx.db;
  await sql`TRUNCATE notifications, device_heartbeats, device_health, device_keys, device_farm_moves, devices,
                     user_farms, user_roles, farms, users CASCADE`;
  birch = await seedFarm(sql, 'Birch Farm', { lon: -80, lat: 42 });
  maple = await seedFarm(sql, 'Maple Farm', { lon: -79.38, lat: 43.65 });
  await seedUser(sql, 'admin@example.com', ['admin']);
  await seedUser(sql, 'maple-tech@example.com', ['technician'], { farms: [{ id: maple }] });
  await seedUser(sql, 'birch-tech@example.com', ['technician'], { farms: [{ id: birch }] });
  await seedUser(sql, 'both-tech@example.com', ['technician'], { farms: [{ id: birch }, { id: maple }] });
  const key = await addDeviceKey(sql, 'dev-b', { farm: birch });
  secret = key.secret;
  [{ id: deviceId }] = (await sql`SELECT id FROM devices`) as unknown as [{ id: string }];
});

/** A heartbeat received `secondsAgo` ago by the database's clock: its received_at. */
async function beat(secondsAgo: number): Promise<Date> {
  const res = await ctx.server.app.request(
    '/devices/heartbeat',
    signedHeartbeat(secret, heartbeatBody('dev-b', new Date())),
  );
  assert.equal(res.status, 200, await res.clone().text());
  const { heartbeat_id } = (await res.json()) as { heartbeat_id: string };
  return backdateHeartbeat(ctx.db.sql, heartbeat_id, secondsAgo);
}

/** Moved to Maple `secondsAgo` ago (the 0023 trigger records the move; its time set back). */
async function moveToMaple(secondsAgo: number): Promise<Date> {
  await ctx.db.sql`UPDATE devices SET farm_id = ${maple} WHERE id = ${deviceId}`;
  const [m] = await ctx.db.sql<{ moved_at: Date }[]>`
    UPDATE device_farm_moves SET moved_at = now() - make_interval(secs => ${secondsAgo}) RETURNING moved_at`;
  return m!.moved_at;
}

async function told(type: string) {
  const rows = await ctx.db.sql<{ email: string; payload: Record<string, unknown> }[]>`
    SELECT u.email, n.payload FROM notifications n JOIN users u ON u.id = n.user_id
     WHERE n.type = ${type} ORDER BY u.email`;
  return new Map(rows.map((r) => [r.email, r.payload]));
}

const silence = () =>
  checkSilentDevices(ctx.db.sql, { silentAfterSeconds: 600, deafAllowanceSeconds: 0, deaf: [] });

describe('a Pi silent across a move to another farm', () => {
  test('Maple’s technician is told it is silent since it came, not when it was last heard on Birch', async () => {
    const heardOnBirch = await beat(3 * 3600);
    const movedAt = await moveToMaple(3600);
    assert.deepEqual(await silence(), ['dev-b']);

    const silent = await told('device_silent');
    assert.deepEqual(
      [...silent.keys()],
      ['admin@example.com', 'both-tech@example.com', 'maple-tech@example.com'],
    );
    for (const who of ['admin@example.com', 'both-tech@example.com']) {
      assert.equal(silent.get(who)!.last_heard_at, heardOnBirch.toISOString(), `${who} may read Birch`);
      assert.equal(silent.get(who)!.since, heardOnBirch.toISOString());
    }
    const maples = silent.get('maple-tech@example.com')!;
    assert.equal(maples.last_heard_at, undefined, 'the Birch time is hidden from Maple’s people');
    assert.equal(maples.since, movedAt.toISOString());
    assert.equal(maples.came_here_at, movedAt.toISOString());
    assert.equal(maples.silent_after_s, 600);

    // The API and the page agree with the device page (history_from): no Birch time.
    const api = apiClient(ctx.server.app);
    assert.equal((await api.signIn('maple-tech@example.com', TEST_PASSWORD)).status, 200);
    const list = await api.request('GET', '/api/v1/notifications');
    assert.equal(list.status, 200, list.text);
    assert.ok(!JSON.stringify(list.body).includes(heardOnBirch.toISOString()), list.text);
    const page = await pageClient(ctx.server.app, 'maple-tech@example.com');
    assert.match(
      strip((await page.get('/notifications')).html),
      /Device dev-b went silent: not heard since it came here/,
    );

    // Back on Maple: device_back counts from the arrival for Maple's technician, from Birch for the others.
    await beat(0);
    const back = await told('device_back');
    assert.deepEqual(
      [...back.keys()],
      ['admin@example.com', 'both-tech@example.com', 'maple-tech@example.com'],
    );
    const admins = back.get('admin@example.com')!;
    assert.equal(admins.last_heard_at, heardOnBirch.toISOString());
    assert.ok(Math.abs((admins.silent_for_s as number) - 3 * 3600) <= 2, String(admins.silent_for_s));
    const maplesBack = back.get('maple-tech@example.com')!;
    assert.equal(maplesBack.last_heard_at, undefined);
    assert.equal(maplesBack.came_here_at, movedAt.toISOString());
    assert.ok(Math.abs((maplesBack.silent_for_s as number) - 3600) <= 2, String(maplesBack.silent_for_s));
    const words = strip((await page.get('/notifications')).html);
    assert.match(
      words,
      /Device dev-b is back after (60 min|1 h 0 min) without a heartbeat since it came here/,
    );
    assert.doesNotMatch(words, /3 h/);
  });

  test('a silence that starts after the move is Maple’s own: told as before', async () => {
    await beat(3 * 3600);
    await moveToMaple(2 * 3600);
    const heardOnMaple = await beat(3600);
    assert.deepEqual(await silence(), ['dev-b']);
    const silent = await told('device_silent');
    assert.deepEqual(
      [...silent.keys()],
      ['admin@example.com', 'both-tech@example.com', 'maple-tech@example.com'],
    );
    for (const payload of silent.values()) {
      assert.equal(payload.last_heard_at, heardOnMaple.toISOString());
      assert.equal(payload.came_here_at, undefined);
    }
  });
});
